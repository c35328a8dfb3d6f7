package ginbearer_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/ginbearer"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/bearerauth/bearer/internal/bypasstest"
	"github.com/gin-gonic/gin"
)

// protectedRoute answers bypasstest.ProtectedBody and counts its requests.
func protectedRoute(hits *atomic.Int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		hits.Add(1)
		c.String(http.StatusOK, bypasstest.ProtectedBody)
	}
}

// Gin routes on the decoded path and does not clean it: a plain
// /files/../../healthz lands on /files/*path. No path that skips by
// another reading reaches a protected route.
func TestHostilePaths(t *testing.T) {
	f := answertest.New(t, bearer.WithSkip(bearer.SkipPaths(bypasstest.Public)))
	var protected atomic.Int64
	r := gin.New()
	r.Use(ginbearer.Middleware(f.Middleware))
	r.GET(bypasstest.Public, func(c *gin.Context) { c.String(http.StatusOK, bypasstest.PublicBody) })
	r.GET("/api/:version/users", protectedRoute(&protected))
	r.GET("/files/*path", protectedRoute(&protected))
	bypasstest.Check(t, answertest.Serve(t, r), &protected, f.Token(t, ""))
}

// Preflights go to the CORS handler of WithCORSPreflight, never to a route
// registered with Any.
func TestCORSPreflight(t *testing.T) {
	f := answertest.New(t, bearer.WithCORSPreflight(bypasstest.CORS))
	var protected atomic.Int64
	r := gin.New()
	r.Use(ginbearer.Middleware(f.Middleware))
	r.Any("/files/*path", protectedRoute(&protected))
	bypasstest.CheckPreflight(t, answertest.Serve(t, r), &protected, f.Token(t, ""))
}
