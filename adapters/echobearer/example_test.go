package echobearer_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/echobearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/labstack/echo/v4"
)

func Example() {
	issuer := bearertest.MustIssuer(bearertest.ES256) // stands in for the identity provider
	m, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience(issuer.Audience()...),
		bearer.WithRealm("example"))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	e := echo.New()
	e.Use(echobearer.MiddlewareWithConfig(echobearer.Config{
		Middleware: m,
		Skipper:    func(c echo.Context) bool { return c.Path() == "/health" },
	}))
	e.GET("/health", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/me", func(c echo.Context) error {
		tok, _ := echobearer.FromContext(c)
		return c.String(http.StatusOK, "hello "+tok.Subject())
	})
	admin := e.Group("/admin", echobearer.RequireScopes("admin"))
	admin.GET("/stats", func(c echo.Context) error { return c.String(http.StatusOK, "stats") })

	token := issuer.MustMint(bearertest.Claims{"sub": "alice", "scope": "profile"})
	for _, path := range []string{"/health", "/me", "/admin/stats"} {
		for _, auth := range []string{"", "Bearer " + token} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			what := "without token"
			if auth != "" {
				req.Header.Set("Authorization", auth)
				what = "with token"
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			line := fmt.Sprintf("%s %s: %d", path, what, rec.Code)
			if c := rec.Header().Get("WWW-Authenticate"); c != "" {
				line += " " + c
			}
			fmt.Println(line)
		}
	}
	// Output:
	// /health without token: 200
	// /health with token: 200
	// /me without token: 401 Bearer realm="example"
	// /me with token: 200
	// /admin/stats without token: 401 Bearer realm="example"
	// /admin/stats with token: 403 Bearer realm="example", error="insufficient_scope", error_description="insufficient scope", scope="admin"
}
