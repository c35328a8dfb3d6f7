package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// TestRoutes calls the example's routes over real HTTP as its printed
// curl commands do.
func TestRoutes(t *testing.T) {
	issuer := bearertest.MustIssuer(bearertest.ES256, bearertest.WithAudience(audience))
	auth, err := bearer.New(issuer.KeySource(), bearer.WithIssuer(issuer.Issuer()), bearer.WithAudience(audience), bearer.WithRealm("gin-example"))
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	srv := httptest.NewServer(routes(auth))
	defer srv.Close()
	admin := issuer.MustMint(bearertest.Claims{"sub": "alice", "scope": "admin"})
	user := issuer.MustMint(bearertest.Claims{"sub": "bob", "scope": "profile"})

	for _, c := range []struct {
		path, token string
		status      int
		challenge   string
		body        string
	}{
		{"/public", "", 200, "", `"anyone can read this"`},
		{"/api/me", "", 401, `Bearer realm="gin-example"`, `"bearer token required"`},
		{"/api/me", user, 200, "", `"subject":"bob"`},
		{"/api/admin/stats", user, 403, `Bearer realm="gin-example", error="insufficient_scope", error_description="insufficient scope", scope="admin"`, `"insufficient_scope"`},
		{"/api/admin/stats", admin, 200, "", `"by":"alice"`},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || res.Header.Get("WWW-Authenticate") != c.challenge || !strings.Contains(string(body), c.body) {
			t.Errorf("%s with %q: got %d %q %s", c.path, c.token, res.StatusCode, res.Header.Get("WWW-Authenticate"), body)
		}
	}
}
