package grpcbearer_test

import (
	"context"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/grpcbearer"
	"github.com/bearerauth/bearer/bearertest"
	"google.golang.org/grpc"
)

func Example() {
	issuer := bearertest.MustIssuer(bearertest.ES256) // stands in for the identity provider
	m, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience(issuer.Audience()...))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	scopes := grpcbearer.WithScopes(map[string][]string{
		"/orders.v1.Orders/Cancel": {"orders:write"},
	})
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcbearer.UnaryServerInterceptor(m, scopes)),
		grpc.ChainStreamInterceptor(grpcbearer.StreamServerInterceptor(m, scopes)),
	)
	defer srv.Stop()
	// Register the services, then srv.Serve(lis). In a handler:
	_ = func(ctx context.Context) string { return bearer.Subject(ctx) }
}

// Rules other than scopes, per method.
func ExampleWithRules() {
	_ = grpcbearer.WithRules(map[string][]bearer.Rule{
		"/orders.v1.Orders/List":   {bearer.AnyScope("orders:read", "orders:admin")},
		"/orders.v1.Orders/Delete": {bearer.ClaimEquals("tenant", "acme"), bearer.AllScopes("orders:admin")},
	})
}
