package echobearer_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/echobearer"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/bearerauth/bearer/internal/bypasstest"
	"github.com/labstack/echo/v4"
)

// protectedRoute answers bypasstest.ProtectedBody and counts its requests.
func protectedRoute(hits *atomic.Int64) echo.HandlerFunc {
	return func(c echo.Context) error {
		hits.Add(1)
		return c.String(http.StatusOK, bypasstest.ProtectedBody)
	}
}

// Echo routes on RawPath when the request has one and does not clean it:
// no path that skips by another reading reaches a protected route.
func TestHostilePaths(t *testing.T) {
	f := answertest.New(t, bearer.WithSkip(bearer.SkipPaths(bypasstest.Public)))
	var protected atomic.Int64
	e := echo.New()
	e.Use(echobearer.Middleware(f.Middleware))
	e.GET(bypasstest.Public, func(c echo.Context) error { return c.String(http.StatusOK, bypasstest.PublicBody) })
	e.GET("/api/:version/users", protectedRoute(&protected))
	e.GET("/files/*", protectedRoute(&protected))
	bypasstest.Check(t, answertest.Serve(t, e), &protected, f.Token(t, ""))
}

// Preflights go to the CORS handler of WithCORSPreflight, never to a route
// that answers every method.
func TestCORSPreflight(t *testing.T) {
	f := answertest.New(t, bearer.WithCORSPreflight(bypasstest.CORS))
	var protected atomic.Int64
	e := echo.New()
	e.Use(echobearer.Middleware(f.Middleware))
	e.Any("/files/*", protectedRoute(&protected))
	bypasstest.CheckPreflight(t, answertest.Serve(t, e), &protected, f.Token(t, ""))
}
