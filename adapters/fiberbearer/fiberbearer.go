// Package fiberbearer protects Fiber v3 routes with bearer tokens. It
// adapts a *bearer.Middleware: verification, its options and its answers
// are the core's; this package only translates them to Fiber, which runs
// on fasthttp, not net/http.
//
//	m, err := bearer.New(keys, bearer.WithIssuer(iss), bearer.WithAudience(aud))
//	api := app.Group("/api", fiberbearer.Middleware(m))
//	api.Get("/reports", fiberbearer.Require(bearer.AnyScope("reports", "admin")), reports)
//	admin := api.Group("/admin", fiberbearer.RequireScopes("admin"))
//
// A verified token goes into the Fiber context's context.Context
// (c.SetContext), where bearer.FromContext(c.Context()) and FromContext(c)
// find it.
//
// Each request is shown to the core as the *http.Request net/http would
// make of it: method, URL (parsed from the request-URI as it arrived, so
// that bearer.SkipPaths decides on the path Fiber routes on), every header
// with every value, Host, RemoteAddr and TLS; its body is empty (the core
// never reads it). So every option applies as in net/http: the Mode, skip
// rules, WithCORSPreflight (preflights go to its CORS handler, never to the
// next handler), DPoP proofs (which sign the method and URL: set DPoP.BaseURL
// behind a proxy) and bearer.WithErrorHandler, whose
// http.ResponseWriter writes to Fiber's response. Config.Next is the Fiber
// way to skip by route.
//
// A failed request is answered as the net/http middleware answers it: the
// exact RFC 6750 status, WWW-Authenticate challenge and JSON body, or the
// bearer.WithErrorHandler answer; the chain stops there and the handler
// returns nil, so Fiber's ErrorHandler is not involved. The one error it
// returns to Fiber is a 400 *fiber.Error for a request-URI net/http would
// not parse: the core cannot be shown such a request, so it goes no
// further.
package fiberbearer

import (
	"net/http"
	"slices"

	"github.com/bearerauth/bearer"
	"github.com/gofiber/fiber/v3"
)

// Config configures the middleware, in the style of Fiber's own
// middleware configs.
type Config struct {
	// Next returns true for requests that skip authentication, such as a
	// health check. Optional; by default no request skips it.
	Next func(c fiber.Ctx) bool

	// Middleware verifies the tokens. Required.
	Middleware *bearer.Middleware
}

// Middleware returns Fiber middleware that authenticates every request
// with m. Requests with a valid token go on with the token in their
// context; others are answered (see the package doc).
func Middleware(m *bearer.Middleware) fiber.Handler {
	return New(Config{Middleware: m})
}

// New returns the middleware config describes. It panics if
// config.Middleware is nil.
func New(config Config) fiber.Handler {
	m := config.Middleware
	if m == nil {
		panic("fiberbearer: Config.Middleware is nil")
	}
	next := config.Next
	return func(c fiber.Ctx) error {
		if next != nil && next(c) {
			return c.Next()
		}
		r, err := httpRequest(c)
		if err != nil {
			return err
		}
		if r.Method == http.MethodOptions { // only OPTIONS can be a preflight
			if w := newResponseWriter(c); m.ServePreflight(w, r) {
				w.finish()
				return nil
			}
		}
		r, err = m.Admit(r)
		if err != nil {
			answer(c, m, r, err)
			return nil
		}
		c.SetContext(r.Context())
		c.Locals(requestKey{}, r)
		return c.Next()
	}
}

// requestKey is the Locals key of the *http.Request Middleware admitted,
// which Require answers with.
type requestKey struct{}

// Require returns Fiber middleware that lets a request go on only if its
// token satisfies every rule (bearer.AllScopes, bearer.AnyScope,
// bearer.ClaimEquals ...); otherwise it answers with the first failure,
// as bearer.Require answers it (403), or 401 when there is no token. Place
// it behind Middleware, on a route or a group.
func Require(rules ...bearer.Rule) fiber.Handler {
	rules = slices.Clone(rules)
	return func(c fiber.Ctx) error {
		ctx := c.Context()
		if err := bearer.Authorize(ctx, rules...); err != nil {
			r, ok := c.Locals(requestKey{}).(*http.Request)
			if !ok { // no Middleware before, or it skipped the request
				var convErr error
				if r, convErr = httpRequest(c); convErr != nil {
					return convErr
				}
			}
			answer(c, bearer.MiddlewareFrom(ctx), r, err)
			return nil
		}
		return c.Next()
	}
}

// RequireScopes is Require(bearer.AllScopes(scopes...)): the token must
// have every one of scopes, or the request gets 403 insufficient_scope
// naming them. It panics if a scope is not a valid scope-token.
func RequireScopes(scopes ...string) fiber.Handler {
	return Require(bearer.AllScopes(scopes...))
}

// FromContext returns the token Middleware verified for the request.
func FromContext(c fiber.Ctx) (*bearer.Token, bool) {
	return bearer.FromContext(c.Context())
}

// errBadRequestURI is the answer to a request-URI net/http would not
// parse: the core cannot be shown the request, so it is not let through.
var errBadRequestURI = fiber.NewError(fiber.StatusBadRequest, "malformed request URI")

// answer answers r, c's request, with m's error handler.
func answer(c fiber.Ctx, m *bearer.Middleware, r *http.Request, err error) {
	w := newResponseWriter(c)
	m.HandleError(w, r, err)
	w.finish()
}

// responseWriter is the http.ResponseWriter of the core's error handler:
// its header goes to Fiber's response on WriteHeader, replacing the values
// of the names it sets, as net/http's Header().Set would.
type responseWriter struct {
	c      fiber.Ctx
	header http.Header
	wrote  bool
}

func newResponseWriter(c fiber.Ctx) *responseWriter {
	return &responseWriter{c: c, header: http.Header{}}
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote = true
	h := &w.c.Response().Header
	for name, values := range w.header {
		h.Del(name)
		for _, v := range values {
			h.Add(name, v)
		}
	}
	w.c.Status(status)
}

// finish sends the header of a handler that wrote nothing, with the 200
// net/http would send.
func (w *responseWriter) finish() { w.WriteHeader(http.StatusOK) }

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.c.Write(b)
}
