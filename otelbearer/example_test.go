package otelbearer_test

import (
	"log"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/otelbearer"
	"go.opentelemetry.io/otel"
)

func Example() {
	obs, err := otelbearer.New(otel.GetMeterProvider())
	if err != nil {
		log.Fatal(err)
	}
	m, err := bearer.New(bearer.RemoteJWKS("https://idp.example.com/.well-known/jwks.json"),
		bearer.WithIssuer("https://idp.example.com"),
		bearer.WithAudience("orders-api"),
		bearer.WithObserver(obs))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
}
