// Package ginbearer protects Gin routes with bearer tokens. It adapts a
// *bearer.Middleware: verification, its options and its answers are the
// core's; this package only translates them to Gin.
//
//	m, err := bearer.New(keys, bearer.WithIssuer(iss), bearer.WithAudience(aud))
//	api := r.Group("/api", ginbearer.Middleware(m))
//	admin := api.Group("/admin", ginbearer.RequireScopes("admin"))
//	api.GET("/reports", ginbearer.Require(bearer.AnyScope("reports", "admin")), reports)
//
// A verified token goes into the request's context, where FromContext(c)
// finds it (it is bearer.FromContext(c.Request.Context())). It is not copied
// into Gin's Keys map: one place to read it, and no map made for it.
//
// A failed request is answered as the net/http middleware answers it (the
// exact RFC 6750 status, WWW-Authenticate challenge and JSON body, or the
// bearer.WithErrorHandler answer), aborted, and its *bearer.Error recorded
// with c.Error, as a private error, so that Gin's logger and the
// application's middleware see it in c.Errors.
//
// Every option of the middleware applies, bearer.WithErrorHandler, the
// Mode, skip rules and WithCORSPreflight (preflights go to its CORS
// handler and the chain stops) included. Routes that need no token stay
// outside the group the middleware is on: safer than skip rules.
package ginbearer

import (
	"slices"

	"github.com/bearerauth/bearer"
	"github.com/gin-gonic/gin"
)

// Middleware returns Gin middleware that authenticates every request with
// m. Requests with a valid token go on with the token in the request's
// context; others are answered and aborted.
func Middleware(m *bearer.Middleware) gin.HandlerFunc {
	if m == nil {
		panic("ginbearer: nil *bearer.Middleware")
	}
	return func(c *gin.Context) {
		if m.ServePreflight(c.Writer, c.Request) {
			c.Abort()
			return
		}
		r, err := m.Admit(c.Request)
		if err != nil {
			abort(c, m, err)
			return
		}
		c.Request = r
	}
}

// Require returns Gin middleware that lets a request go on only if its
// token satisfies every rule (bearer.AllScopes, bearer.AnyScope,
// bearer.ClaimEquals ...); otherwise it answers with the first failure,
// as bearer.Require answers it (403), or 401 when there is no token, and
// aborts. Place it behind Middleware, on a route or a group.
func Require(rules ...bearer.Rule) gin.HandlerFunc {
	rules = slices.Clone(rules)
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		if err := bearer.Authorize(ctx, rules...); err != nil {
			abort(c, bearer.MiddlewareFrom(ctx), err)
		}
	}
}

// RequireScopes is Require(bearer.AllScopes(scopes...)): the token must
// have every one of scopes, or the request gets 403 insufficient_scope
// naming them. It panics if a scope is not a valid scope-token.
func RequireScopes(scopes ...string) gin.HandlerFunc {
	return Require(bearer.AllScopes(scopes...))
}

// FromContext returns the token Middleware verified for the request.
func FromContext(c *gin.Context) (*bearer.Token, bool) {
	return bearer.FromContext(c.Request.Context())
}

// abort answers with m's error handler, stops the chain and records err.
func abort(c *gin.Context, m *bearer.Middleware, err error) {
	m.HandleError(c.Writer, c.Request, err)
	c.Abort()
	c.Error(err)
}
