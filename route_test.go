package bearer_test

import (
	"net/http"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

func TestRouteRules(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithSkip(bearer.SkipPaths("/healthz", "/public/")),
		bearer.WithSkip(bearer.SkipMethods(http.MethodHead)),
		bearer.WithCORSPreflight())...)
	srv := serve(t, m.Handler(reason))

	preflight := http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}}
	cases := []struct {
		method, path string
		header       http.Header
		status       int
	}{
		{"GET", "/healthz", nil, 200},
		{"GET", "/healthz/live", nil, 200},
		{"GET", "/healthzz", nil, 401},
		{"GET", "/healthcheck", nil, 401},
		{"GET", "/public/", nil, 200},
		{"GET", "/public/a/b", nil, 200},
		{"GET", "/public", nil, 401},
		{"GET", "/public/../admin", nil, 401},
		{"GET", "/public/%2e%2e/admin", nil, 401},
		{"GET", "/admin", nil, 401},
		{"HEAD", "/admin", nil, 200},
		{"OPTIONS", "/admin", preflight, 200},
		{"OPTIONS", "/admin", http.Header{"Origin": {"https://app.example"}}, 401},
		{"OPTIONS", "/admin", http.Header{"Access-Control-Request-Method": {"POST"}}, 401},
		{"OPTIONS", "/admin", nil, 401},
		{"POST", "/admin", preflight, 401},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		// Keep the path as written: the client would clean "..".
		req.URL.Opaque = c.path
		for name, v := range c.header {
			req.Header[name] = v
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.status {
			t.Errorf("%s %s %v: %d, want %d", c.method, c.path, c.header, res.StatusCode, c.status)
		}
	}
}

func TestSkipLeavesContextAlone(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithSkip(bearer.SkipPaths("/")))...)
	// A skipped request is not authenticated even when it has a token.
	if got := call(t, serve(t, m.Handler(reason)).URL, bearerHeader(iss.MustMint(nil))); got.body != "no reason" {
		t.Errorf("skipped request: %q", got.body)
	}
	if _, err := bearer.New(iss.KeySource(), anyIssuer(bearer.WithSkip(nil))...); err == nil {
		t.Error("New accepted a nil skip rule")
	}
}
