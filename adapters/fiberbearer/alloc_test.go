package fiberbearer_test

import (
	"net/http"
	"testing"

	"github.com/bearerauth/bearer/adapters/fiberbearer"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"
)

// routes is a Fiber app whose GET / answers 204 behind mw.
func routes(mw ...fiber.Handler) *fiber.App {
	a := fiber.New()
	for _, h := range mw {
		a.Use(h)
	}
	a.Get("/", func(c fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) })
	return a
}

// request is a fasthttp request for GET / with the Authorization header
// authorization, served by a's handler without a network.
func request(a *fiber.App, authorization string) func() {
	h := a.Handler()
	var fc fasthttp.RequestCtx
	fc.Request.SetRequestURI("/")
	fc.Request.Header.SetMethod(http.MethodGet)
	fc.Request.Header.SetHost("api.example")
	fc.Request.Header.Set("Authorization", authorization)
	return func() {
		fc.Response.Reset()
		h(&fc)
	}
}

func allocs(a *fiber.App, authorization string) float64 {
	return testing.AllocsPerRun(100, request(a, authorization))
}

// What the adapter adds beyond the net/http middleware is the request the
// core reads: the *http.Request, its URL, its header map and copies of the
// request-URI, the header names and values, the host and the remote
// address (fasthttp's buffers are reused after the handler returns).
func TestAllocations(t *testing.T) {
	f := answertest.New(t)
	auth := "Bearer " + f.Token(t, "read")
	mw := fiberbearer.Middleware(f.Middleware)
	t.Run("Middleware", func(t *testing.T) {
		answertest.CheckAdded(t, answertest.Middleware(f.Middleware).Added(auth),
			allocs(routes(mw), auth)-allocs(routes(), auth), 7)
	})
	t.Run("RequireScopes", func(t *testing.T) {
		answertest.CheckAdded(t, answertest.Scopes(f.Middleware, "read").Added(auth),
			allocs(routes(mw, fiberbearer.RequireScopes("read")), auth)-allocs(routes(mw), auth), 0)
	})
}

func BenchmarkMiddleware(b *testing.B) {
	f := answertest.New(b)
	auth := "Bearer " + f.Token(b, "read")
	answertest.BenchmarkPair(b, "net-http", auth, answertest.Middleware(f.Middleware))
	for name, a := range map[string]*fiber.App{"fiber-without": routes(), "fiber-with": routes(fiberbearer.Middleware(f.Middleware))} {
		b.Run(name, func(b *testing.B) {
			serve := request(a, auth)
			b.ReportAllocs()
			for b.Loop() {
				serve()
			}
		})
	}
}
