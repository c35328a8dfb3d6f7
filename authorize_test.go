package bearer_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

func TestRules(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.EdDSA)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithRealm("api"))...)
	denied := func(scope string) (string, string) {
		if scope == "" {
			return `Bearer realm="api", error="insufficient_scope", error_description="insufficient privileges"`,
				`{"error":"insufficient_scope","error_description":"insufficient privileges"}`
		}
		return `Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="` + scope + `"`,
			`{"error":"insufficient_scope","error_description":"insufficient scope","scope":"` + scope + `"}`
	}
	mux := http.NewServeMux()
	route := func(path string, rules ...bearer.Rule) {
		mux.Handle(path, m.Handler(bearer.Require(rules...)(whoami)))
	}
	route("/all", bearer.AllScopes("a", "b"))
	route("/any", bearer.AnyScope("a", "b"))
	route("/tenant", bearer.ClaimEquals("tenant", "acme", "globex"))
	route("/verified", bearer.ClaimEquals("email_verified", true))
	route("/level", bearer.ClaimEquals("level", 3))
	route("/admin", bearer.ClaimIncludes("roles", "admin"))
	route("/group", bearer.ClaimIncludes("groups", "ops"))
	route("/custom", func(t *bearer.Token) error {
		if t.Subject() != "root" {
			return errors.New("not root: internal detail")
		}
		return nil
	})
	route("/both", bearer.AnyScope("a"), bearer.ClaimIncludes("roles", "admin"))
	srv := serve(t, mux)

	type row struct {
		path   string
		claims bearertest.Claims
		scope  string // "" allowed; "-" denied without scope; else denied with scope
	}
	rows := []row{
		{"/all", bearertest.Claims{"scope": "b a"}, ""},
		{"/all", bearertest.Claims{"scope": "a"}, "a b"},
		{"/any", bearertest.Claims{"scope": "b"}, ""},
		{"/any", bearertest.Claims{"scp": []string{"c"}}, "a b"},
		{"/tenant", bearertest.Claims{"tenant": "globex"}, ""},
		{"/tenant", bearertest.Claims{"tenant": "initech"}, "-"},
		{"/tenant", bearertest.Claims{"tenant": []string{"acme"}}, "-"},
		{"/tenant", nil, "-"},
		{"/verified", bearertest.Claims{"email_verified": true}, ""},
		{"/verified", bearertest.Claims{"email_verified": "true"}, "-"},
		{"/level", bearertest.Claims{"level": 3}, ""},
		{"/level", bearertest.Claims{"level": 3.5}, "-"},
		{"/admin", bearertest.Claims{"roles": []string{"user", "admin"}}, ""},
		{"/admin", bearertest.Claims{"roles": "user admin"}, ""},
		{"/admin", bearertest.Claims{"roles": "administrator"}, "-"},
		{"/admin", bearertest.Claims{"roles": []string{"admins"}}, "-"},
		{"/group", bearertest.Claims{"groups": []any{"ops", 7}}, "-"},
		// Only SP separates words (RFC 6749 §3.3): any other white space
		// is part of the word.
		{"/admin", bearertest.Claims{"roles": "user\u00a0admin"}, "-"},
		{"/admin", bearertest.Claims{"roles": "user\tadmin"}, "-"},
		{"/admin", bearertest.Claims{"roles": "user\u2003admin"}, "-"},
		{"/admin", bearertest.Claims{"roles": "user\nadmin"}, "-"},
		{"/admin", bearertest.Claims{"roles": " user  admin "}, ""},
		{"/custom", bearertest.Claims{"sub": "root"}, ""},
		{"/custom", bearertest.Claims{"sub": "user"}, "-"},
		{"/both", bearertest.Claims{"scope": "a", "roles": []string{"admin"}}, ""},
		{"/both", bearertest.Claims{"scope": "a"}, "-"},
		{"/both", bearertest.Claims{"roles": []string{"admin"}}, "a"},
	}
	for _, r := range rows {
		got := call(t, srv.URL+r.path, bearerHeader(iss.MustMint(r.claims)))
		if r.scope == "" {
			if got.status != 200 {
				t.Errorf("%s %v: %d %s", r.path, r.claims, got.status, got.body)
			}
			continue
		}
		scope := r.scope
		if scope == "-" {
			scope = ""
		}
		challenge, body := denied(scope)
		if got.status != 403 || got.challenge != challenge || trim(got.body) != body {
			t.Errorf("%s %v: %d %s %s", r.path, r.claims, got.status, got.challenge, got.body)
		}
	}
}

func TestScopeClaimName(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithScopeClaim("permissions"))...)
	srv := serve(t, m.Handler(bearer.RequireScopes("read:orders")(whoami)))
	if got := call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"permissions": []string{"read:orders"}}))); got.status != 200 || got.body != " read:orders" {
		t.Errorf("permissions: %d %q", got.status, got.body)
	}
	if got := call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"scope": "read:orders"}))); got.status != 403 {
		t.Errorf("scope claim used despite WithScopeClaim: %d", got.status)
	}
	if _, err := m.Verify(t.Context(), iss.MustMint(bearertest.Claims{"permissions": 1})); !errors.Is(err, bearer.ErrMalformed) {
		t.Errorf("numeric permissions: %v", err)
	}
	// Under WithScopeClaim, scope and scp are ordinary claims: their form
	// is not checked, nor are they read.
	tok, err := m.Verify(t.Context(), iss.MustMint(bearertest.Claims{"scope": 7, "scp": "a\tb", "permissions": "x"}))
	if err != nil || !slices.Equal(tok.Scopes(), []string{"x"}) {
		t.Errorf("scope and scp under WithScopeClaim: %v, %v", tok, err)
	}
}

func TestRequireWithoutMiddleware(t *testing.T) {
	// Without the middleware in front there is no token: 401, no realm.
	got := call(t, serve(t, bearer.RequireScopes("a")(whoami)).URL, nil)
	if got.status != 401 || got.challenge != "Bearer" {
		t.Errorf("%d %q", got.status, got.challenge)
	}
}

func TestInvalidScopePanics(t *testing.T) {
	for _, s := range []string{"", "a b", `a"b`, `a\b`, "\x7f"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RequireScopes(%q) did not panic", s)
				}
			}()
			bearer.RequireScopes(s)
		}()
	}
}
