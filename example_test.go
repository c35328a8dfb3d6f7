package bearer_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// The issuer stands in for an identity provider: it mints tokens for the
// examples and publishes its keys.
var issuer = bearertest.MustIssuer(bearertest.ES256,
	bearertest.WithIssuer("https://auth.example.com"),
	bearertest.WithAudience("orders-api"))

// get sends a request with token to h and prints the answer.
func get(h http.Handler, token string) {
	r := httptest.NewRequest(http.MethodGet, "/orders/", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	if c := w.Header().Get("WWW-Authenticate"); c != "" {
		fmt.Println("  WWW-Authenticate:", c)
	}
}

func Example() {
	m, err := bearer.New(issuer.KeySource(), // bearer.RemoteJWKS(url) with a real provider
		bearer.WithIssuer("https://auth.example.com"),
		bearer.WithAudience("orders-api"),
		bearer.WithRealm("orders"))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.Handle("/orders/", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "orders of %s", bearer.Subject(r.Context()))
	})))

	get(mux, issuer.MustMint(bearertest.Claims{"sub": "alice"}))
	get(mux, "")
	get(mux, issuer.MustMint(bearertest.Claims{"sub": "alice", "aud": "billing-api"}))
	// Output:
	// 200 orders of alice
	// 401 {"error":"unauthorized","error_description":"bearer token required"}
	//   WWW-Authenticate: Bearer realm="orders"
	// 401 {"error":"invalid_token","error_description":"audience not accepted"}
	//   WWW-Authenticate: Bearer realm="orders", error="invalid_token", error_description="audience not accepted"
}

func ExampleFromContext() {
	m, _ := bearer.New(issuer.KeySource(), bearer.WithIssuer("https://auth.example.com"), bearer.WithAudience("orders-api"))
	defer m.Close()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := bearer.FromContext(r.Context())
		roles, _ := tok.Claim("https://example.com/roles")
		fmt.Fprintln(w, tok.Subject(), tok.Scopes(), roles)
	}))
	get(h, issuer.MustMint(bearertest.Claims{
		"sub":                       "alice",
		"scope":                     "orders:read orders:write",
		"https://example.com/roles": []string{"clerk"},
	}))
	// Output:
	// 200 alice [orders:read orders:write] [clerk]
}

func ExampleClaimsFrom() {
	type claims struct {
		Subject string `json:"sub"`
		Tenant  string `json:"tenant_id"`
	}
	m, _ := bearer.New(issuer.KeySource(), bearer.WithIssuer("https://auth.example.com"), bearer.WithAudience("orders-api"))
	defer m.Close()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := bearer.ClaimsFrom[claims](r.Context())
		if err != nil {
			http.Error(w, "bad claims", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s of tenant %s", c.Subject, c.Tenant)
	}))
	get(h, issuer.MustMint(bearertest.Claims{"sub": "alice", "tenant_id": "acme"}))
	// Output:
	// 200 alice of tenant acme
}

func ExampleRequireScopes() {
	m, _ := bearer.New(issuer.KeySource(), bearer.WithIssuer("https://auth.example.com"), bearer.WithAudience("orders-api"))
	defer m.Close()
	write := m.Handler(bearer.RequireScopes("orders:write")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "order placed")
	})))
	get(write, issuer.MustMint(bearertest.Claims{"scope": "orders:read orders:write"}))
	get(write, issuer.MustMint(bearertest.Claims{"scope": "orders:read"}))
	// Output:
	// 200 order placed
	// 403 {"error":"insufficient_scope","error_description":"insufficient scope","scope":"orders:write"}
	//   WWW-Authenticate: Bearer error="insufficient_scope", error_description="insufficient scope", scope="orders:write"
}

func ExampleMiddleware_Verify() {
	m, _ := bearer.New(issuer.KeySource(), bearer.WithIssuer("https://auth.example.com"), bearer.WithAudience("orders-api"))
	defer m.Close()
	// A token from a websocket message, a gRPC call or a queue.
	tok, err := m.Verify(context.Background(), issuer.MustMint(bearertest.Claims{"sub": "worker-7"}))
	fmt.Println(tok.Subject(), err)
	// Output:
	// worker-7 <nil>
}
