package answertest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bearerauth/bearer"
)

// App builds, with a framework and its adapter, the app that Run calls:
// the middleware m on every route, and
//
//	GET /             any valid token
//	GET /read         RequireScopes("read")
//	GET /admin/users  in a group with RequireScopes("admin", "audit")
//	GET /bob          Require(bearer.ClaimEquals("sub", "bob"))
//
// Each route answers 200 with the subject of the request's token
// ("anonymous" without one), or 500 if the adapter's accessors disagree.
type App func(m *bearer.Middleware) http.Handler

// Run checks an adapter's app against docs/ARCHITECTURE.md's table as the net/http
// middleware answers it: every case of Cases, missing scopes on a route
// and on a group, a failed rule, unavailable keys (a real RemoteJWKS whose
// server fails), the token reaching each route, and requests without a
// token under CredentialsOptional.
func Run(t *testing.T, app App) {
	t.Run("answers", func(t *testing.T) {
		f := New(t)
		url := Serve(t, app(f.Middleware))
		for _, c := range f.Cases(t) {
			c.Check(t, Get(t, url+"/", c.Authorization...))
		}
	})
	t.Run("token", func(t *testing.T) {
		f := New(t)
		url := Serve(t, app(f.Middleware))
		for _, path := range []string{"/", "/read", "/admin/users"} {
			Expect(t, path, Get(t, url+path, "Bearer "+f.Token(t, "audit read admin")), Answer{Status: http.StatusOK, Body: "alice"})
		}
	})
	t.Run("scopes", func(t *testing.T) {
		f := New(t)
		url := Serve(t, app(f.Middleware))
		for path, scopes := range map[string]string{"/read": "read", "/admin/users": "admin audit"} {
			Expect(t, path, Get(t, url+path, "Bearer "+f.Token(t, "admin")), NoScope(scopes))
		}
	})
	t.Run("rule", func(t *testing.T) {
		f := New(t)
		url := Serve(t, app(f.Middleware))
		Expect(t, "/bob", Get(t, url+"/bob", "Bearer "+f.Token(t, "admin")), NoPrivileges)
	})
	t.Run("keys unavailable", func(t *testing.T) {
		f := KeysUnavailable(t)
		url := Serve(t, app(f.Middleware))
		for _, path := range []string{"/", "/read", "/admin/users"} {
			CheckNoKeys(t, path, Get(t, url+path, "Bearer "+f.Token(t, "audit read admin")))
		}
	})
	t.Run("credentials optional", func(t *testing.T) {
		f := New(t, bearer.WithMode(bearer.CredentialsOptional))
		url := Serve(t, app(f.Middleware))
		Expect(t, "/ without a token", Get(t, url+"/"), Answer{Status: http.StatusOK, Body: "anonymous"})
		Expect(t, "/read without a token", Get(t, url+"/read"), NoToken)
		f.Case(t, "malformed JWT").Check(t, Get(t, url+"/", "Bearer not-a-jwt"))
	})
}

// Serve serves h over a real connection until the test ends, and returns
// its URL.
func Serve(t testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
