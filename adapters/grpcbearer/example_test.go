package grpcbearer_test

import (
	"context"
	"fmt"
	"net"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/grpcbearer"
	"github.com/bearerauth/bearer/bearertest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
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
		"/grpc.health.v1.Health/Check": {"health:read"},
	})
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcbearer.UnaryServerInterceptor(m, scopes)),
		grpc.ChainStreamInterceptor(grpcbearer.StreamServerInterceptor(m, scopes)),
	)
	defer srv.Stop()
	// Your services here; in a handler, bearer.FromContext(ctx) is the token.
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis := bufconn.Listen(1 << 20) // in memory; a service listens with net.Listen
	go srv.Serve(lis)

	conn, err := grpc.NewClient("passthrough:///in-memory",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	for _, token := range []string{
		"", // no token
		issuer.MustMint(bearertest.Claims{"sub": "alice", "scope": "health:read"}),
		issuer.MustMint(bearertest.Claims{"sub": "bob"}), // valid, without the scope
	} {
		ctx := context.Background()
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		}
		_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		fmt.Println(status.Code(err))
	}
	// Output:
	// Unauthenticated
	// OK
	// PermissionDenied
}

// Rules other than scopes, per method.
func ExampleWithRules() {
	_ = grpcbearer.WithRules(map[string][]bearer.Rule{
		"/orders.v1.Orders/List":   {bearer.AnyScope("orders:read", "orders:admin")},
		"/orders.v1.Orders/Delete": {bearer.ClaimEquals("tenant", "acme"), bearer.AllScopes("orders:admin")},
	})
}
