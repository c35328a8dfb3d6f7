package ginbearer_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/ginbearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/gin-gonic/gin"
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

	r := gin.New()
	r.GET("/health", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	api := r.Group("/api", ginbearer.Middleware(m))
	api.GET("/me", func(c *gin.Context) {
		tok, _ := ginbearer.FromContext(c)
		c.String(http.StatusOK, "hello "+tok.Subject())
	})
	admin := api.Group("/admin", ginbearer.RequireScopes("admin"))
	admin.GET("/stats", func(c *gin.Context) { c.String(http.StatusOK, "stats") })

	token := issuer.MustMint(bearertest.Claims{"sub": "alice", "scope": "profile"})
	for _, path := range []string{"/health", "/api/me", "/api/admin/stats"} {
		for _, auth := range []string{"", "Bearer " + token} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			what := "without token"
			if auth != "" {
				req.Header.Set("Authorization", auth)
				what = "with token"
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
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
	// /api/me without token: 401 Bearer realm="example"
	// /api/me with token: 200
	// /api/admin/stats without token: 401 Bearer realm="example"
	// /api/admin/stats with token: 403 Bearer realm="example", error="insufficient_scope", error_description="insufficient scope", scope="admin"
}
