// Package echov5bearer protects Echo v5 routes with bearer tokens. It adapts
// a *bearer.Middleware: verification, its options and its answers are the
// core's; this package only translates them to Echo.
//
//	m, err := bearer.New(keys, bearer.WithIssuer(iss), bearer.WithAudience(aud))
//	e.Use(echov5bearer.Middleware(m))
//	admin := e.Group("/admin", echov5bearer.RequireScopes("admin"))
//	e.GET("/reports", reports, echov5bearer.Require(bearer.AnyScope("reports", "admin")))
//
// A verified token goes into the request's context (written back with
// c.SetRequest), where bearer.FromContext(c.Request().Context()) and
// FromContext(c) find it.
//
// # Errors
//
// A failed request does not get an answer written here: the middleware
// returns an error to Echo, whose central HTTPErrorHandler answers, as for
// any other error. That error is the *bearer.Error itself: it implements
// echo.HTTPStatusCoder, so every Echo error handler answers with its
// status (400, 401, 403 or 503), and json.Marshaler, so Echo's default
// handler sends the same JSON body as the net/http middleware:
// {"error":"invalid_token","error_description":"token expired"}. Before
// returning it, the middleware sets WWW-Authenticate (Retry-After for 503)
// and Cache-Control: no-store on the response, so the answer carries the
// exact RFC 6750 challenge whatever the error handler writes, as long as it
// keeps the response's headers. A custom handler should send the
// *bearer.Error's Description or the error as JSON, never its Error(),
// which is meant for logs and may hold internal detail; for the same
// reason, Echo's error handlers that expose errors (exposeError true) are
// for development only.
//
// The bearer.WithErrorHandler option does not apply here: the
// HTTPErrorHandler is Echo's place for that. Every other option does, the
// Mode (CredentialsOptional ...), skip rules (WithSkip), the realm and
// WithCORSPreflight (preflights go to its CORS handler, never to the next
// handler) included; Config.Skipper is the Echo way to skip by route.
package echov5bearer

import (
	"errors"
	"slices"

	"github.com/bearerauth/bearer"
	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
)

// Config configures the middleware, in the style of Echo's own
// middleware configs.
type Config struct {
	// Skipper returns true for requests that skip authentication, such as a
	// health check. Optional; by default no request skips it.
	Skipper middleware.Skipper

	// Middleware verifies the tokens. Required.
	Middleware *bearer.Middleware
}

// Middleware returns Echo middleware that authenticates every request with
// m. Requests with a valid token reach the next handler with the token in
// their context; others end with the *bearer.Error (see the package doc).
func Middleware(m *bearer.Middleware) echo.MiddlewareFunc {
	return MiddlewareWithConfig(Config{Middleware: m})
}

// MiddlewareWithConfig is Middleware with a Config. It panics if the
// configuration is invalid; ToMiddleware returns the error instead.
func MiddlewareWithConfig(config Config) echo.MiddlewareFunc {
	mw, err := config.ToMiddleware()
	if err != nil {
		panic(err)
	}
	return mw
}

// ToMiddleware returns the middleware config describes, or an error if the
// configuration is invalid.
func (config Config) ToMiddleware() (echo.MiddlewareFunc, error) {
	m := config.Middleware
	if m == nil {
		return nil, errors.New("echov5bearer: Config.Middleware is nil")
	}
	skip := config.Skipper
	if skip == nil {
		skip = middleware.DefaultSkipper
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if skip(c) {
				return next(c)
			}
			if m.ServePreflight(c.Response(), c.Request()) {
				return nil
			}
			r, err := m.Admit(c.Request())
			if err != nil {
				return httpError(c, m, err)
			}
			c.SetRequest(r)
			return next(c)
		}
	}, nil
}

// Require returns Echo middleware that lets a request through only if its
// token satisfies every rule (bearer.AllScopes, bearer.AnyScope,
// bearer.ClaimEquals ...); otherwise it ends with the first failure, as
// bearer.Require answers it (403), or 401 when there is no token. Place it
// behind Middleware, on a route or a group.
func Require(rules ...bearer.Rule) echo.MiddlewareFunc {
	rules = slices.Clone(rules)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			ctx := c.Request().Context()
			if err := bearer.Authorize(ctx, rules...); err != nil {
				return httpError(c, bearer.MiddlewareFrom(ctx), err)
			}
			return next(c)
		}
	}
}

// RequireScopes is Require(bearer.AllScopes(scopes...)): the token must
// have every one of scopes, or the request ends with 403
// insufficient_scope naming them. It panics if a scope is not a valid
// scope-token.
func RequireScopes(scopes ...string) echo.MiddlewareFunc {
	return Require(bearer.AllScopes(scopes...))
}

// FromContext returns the token Middleware put into the request's context.
func FromContext(c *echo.Context) (*bearer.Token, bool) {
	return bearer.FromContext(c.Request().Context())
}

// httpError sets the answer's headers on the response and returns the
// error for Echo's HTTPErrorHandler.
func httpError(c *echo.Context, m *bearer.Middleware, err error) error {
	m.SetErrorHeaders(c.Response().Header(), c.Request(), err)
	return err
}
