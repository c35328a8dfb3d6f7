package otelbearer_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/otelbearer"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func Example() {
	// In a service: otelbearer.New(otel.GetMeterProvider()) after the SDK
	// set-up. Here a manual reader shows what an exporter would receive.
	reader := sdkmetric.NewManualReader()
	obs, err := otelbearer.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		log.Fatal(err)
	}
	issuer := bearertest.MustIssuer(bearertest.ES256) // your identity provider
	m, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience(issuer.Audience()...),
		bearer.WithObserver(obs))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	api := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, token := range []string{issuer.MustMint(bearertest.Claims{"sub": "alice"}), "not-a-jwt"} {
		r := httptest.NewRequest("GET", "/orders", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		api.ServeHTTP(httptest.NewRecorder(), r)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, metric := range sm.Metrics {
			if sum, ok := metric.Data.(metricdata.Sum[int64]); ok {
				for _, p := range sum.DataPoints {
					lines = append(lines, fmt.Sprintf("%s{%s} %d", metric.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value))
				}
			}
		}
	}
	slices.Sort(lines)
	for _, line := range lines {
		fmt.Println(line)
	}
	// Output:
	// bearer.tokens{bearer.cached=false,bearer.outcome=verified} 1
	// bearer.tokens{bearer.error=invalid_token,bearer.outcome=rejected,bearer.reason=malformed token} 1
}
