package fiberbearer_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/fiberbearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/gofiber/fiber/v3"
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

	app := fiber.New()
	app.Get("/health", func(c fiber.Ctx) error { return c.SendString("ok") })
	api := app.Group("/api", fiberbearer.Middleware(m))
	api.Get("/me", func(c fiber.Ctx) error {
		tok, _ := fiberbearer.FromContext(c)
		return c.SendString("hello " + tok.Subject())
	})
	admin := api.Group("/admin", fiberbearer.RequireScopes("admin"))
	admin.Get("/stats", func(c fiber.Ctx) error { return c.SendString("stats") })

	token := issuer.MustMint(bearertest.Claims{"sub": "alice", "scope": "profile"})
	for _, path := range []string{"/health", "/api/me", "/api/admin/stats"} {
		for _, auth := range []string{"", "Bearer " + token} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			what := "without token"
			if auth != "" {
				req.Header.Set("Authorization", auth)
				what = "with token"
			}
			res, err := app.Test(req)
			if err != nil {
				panic(err)
			}
			res.Body.Close()
			line := fmt.Sprintf("%s %s: %d", path, what, res.StatusCode)
			if c := res.Header.Get("WWW-Authenticate"); c != "" {
				line += " " + c
			}
			fmt.Println(line)
		}
	}
	// Output:
	// /health without token: 200
	// /health with token: 200
	// /api/me without token: 401 Bearer realm="example"
	// /api/me with token: 200
	// /api/admin/stats without token: 401 Bearer realm="example"
	// /api/admin/stats with token: 403 Bearer realm="example", error="insufficient_scope", error_description="insufficient scope", scope="admin"
}
