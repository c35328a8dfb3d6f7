package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// CheckRoutes calls an HTTP example's routes over real HTTP, as the
// commands of PrintCurl do, and reports wrong answers. h is the example's
// handler, built on a middleware from Auth(name).
func CheckRoutes(t *testing.T, h http.Handler, name, prefix string, admin, user string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, c := range []struct {
		path, token string
		status      int
		challenge   string
		body        string
	}{
		{"/public", "", 200, "", `"anyone can read this"`},
		{prefix + "/me", "", 401, `Bearer realm="` + name + `"`, `"bearer token required"`},
		{prefix + "/me", user, 200, "", `"subject":"bob"`},
		{prefix + "/admin/stats", user, 403,
			`Bearer realm="` + name + `", error="insufficient_scope", error_description="insufficient scope", scope="admin"`,
			`"insufficient_scope"`},
		{prefix + "/admin/stats", admin, 200, "", `"by":"alice"`},
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
