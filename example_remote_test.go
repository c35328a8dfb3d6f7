package bearer_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// hello is the API of the examples.
var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello %s", bearer.Subject(r.Context()))
})

func ExampleRemoteJWKS() {
	// idp stands in for the identity provider.
	idp := bearertest.NewServer(bearertest.RS256)
	defer idp.Close()

	m, err := bearer.New(
		bearer.RemoteJWKS(idp.JWKSURL), // e.g. "https://idp.example.com/.well-known/jwks.json"
		bearer.WithIssuer(idp.URL),
		bearer.WithAudience(bearertest.DefaultAudience),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close() // stops the background refresh

	// Start serving with the keys at hand, or not at all.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Ready(ctx); err != nil {
		log.Fatal(err)
	}
	api := m.Handler(hello)

	get(api, idp.MustMint(bearertest.Claims{"sub": "alice"}))
	// The provider rotates its signing key: the first token signed with the
	// new key makes the middleware fetch the set again, and passes.
	idp.Rotate()
	get(api, idp.MustMint(bearertest.Claims{"sub": "bob"}))
	// Output:
	// 200 hello alice
	// 200 hello bob
}

func ExampleDiscover() {
	idp := bearertest.NewServer(bearertest.ES256)
	defer idp.Close()

	// Discover finds the JWKS through the provider's discovery document and
	// accepts only tokens whose iss is exactly idp.URL.
	m, err := bearer.New(bearer.Discover(idp.URL), bearer.WithAudience(bearertest.DefaultAudience))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if err := m.Ready(context.Background()); err != nil {
		log.Fatal(err)
	}
	api := m.Handler(hello)

	get(api, idp.MustMint(bearertest.Claims{"sub": "alice"}))
	get(api, idp.MustMint(bearertest.Claims{"sub": "alice", "iss": "https://elsewhere.example"}))
	// Output:
	// 200 hello alice
	// 401 {"error":"invalid_token","error_description":"issuer not accepted"}
	//   WWW-Authenticate: Bearer error="invalid_token", error_description="issuer not accepted"
}

func ExampleIssuers() {
	staff := bearertest.NewServer(bearertest.ES256, bearertest.WithAudience("intranet"))
	defer staff.Close()
	customers := bearertest.NewServer(bearertest.RS256)
	defer customers.Close()

	m, err := bearer.New(bearer.Issuers(
		bearer.TrustedIssuer{Keys: bearer.Discover(staff.URL), Audience: []string{"intranet"}},
		bearer.TrustedIssuer{Issuer: customers.URL, Keys: bearer.RemoteJWKS(customers.JWKSURL)},
	), bearer.WithAudience(bearertest.DefaultAudience))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if err := m.Ready(context.Background()); err != nil {
		log.Fatal(err)
	}
	api := m.Handler(hello)

	get(api, staff.MustMint(bearertest.Claims{"sub": "ann"}))
	get(api, customers.MustMint(bearertest.Claims{"sub": "carl"}))
	get(api, customers.MustMint(bearertest.Claims{"sub": "carl", "aud": "intranet"}))
	// Output:
	// 200 hello ann
	// 200 hello carl
	// 401 {"error":"invalid_token","error_description":"audience not accepted"}
	//   WWW-Authenticate: Bearer error="invalid_token", error_description="audience not accepted"
}

func ExampleMiddleware_Check() {
	idp := bearertest.NewServer(bearertest.ES256)
	defer idp.Close()
	idp.Keys.Hang() // the provider does not answer yet

	m, err := bearer.New(bearer.Discover(idp.URL), bearer.WithAudience(bearertest.DefaultAudience))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	// A readiness probe: 503 until the keys are there.
	readyz := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.Check(r.Context()); err != nil {
			http.Error(w, "signing keys unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ready")
	})
	probe := func() {
		rec := httptest.NewRecorder()
		readyz.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		fmt.Println(rec.Code, rec.Body.String())
	}

	probe()
	idp.Keys.Recover()
	if err := m.Ready(context.Background()); err != nil {
		log.Fatal(err)
	}
	probe()
	// Output:
	// 503 signing keys unavailable
	//
	// 200 ready
}

func ExampleMiddleware_Refresh() {
	idp := bearertest.NewServer(bearertest.ES256)
	defer idp.Close()
	m, err := bearer.New(bearer.RemoteJWKS(idp.JWKSURL), bearer.WithIssuer(idp.URL), bearer.WithAudience(bearertest.DefaultAudience))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if err := m.Ready(context.Background()); err != nil {
		log.Fatal(err)
	}
	api := m.Handler(hello)
	leaked := idp.MustMint(bearertest.Claims{"sub": "alice"})
	get(api, leaked)

	// The signing key leaked: the provider signs with a new one and
	// withdraws the old one. Refresh on every instance (from an admin
	// endpoint, say) stops the old key's tokens at once, instead of at the
	// next scheduled refresh.
	old := idp.KeyID()
	idp.Rotate()
	idp.Retire(old)
	if err := m.Refresh(context.Background()); err != nil {
		log.Print(err) // the fetch failed: the keys at hand are kept; try again
	}
	get(api, leaked)
	get(api, idp.MustMint(bearertest.Claims{"sub": "alice"}))
	// Output:
	// 200 hello alice
	// 401 {"error":"invalid_token","error_description":"unknown signing key"}
	//   WWW-Authenticate: Bearer error="invalid_token", error_description="unknown signing key"
	// 200 hello alice
}
