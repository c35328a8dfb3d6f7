package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// A Rule decides whether a verified token may use a route. It returns nil
// to allow; an *Error is answered as it is, any other error as 403
// insufficient_scope wrapping ErrInsufficientScope.
type Rule func(t *Token) error

// Require returns middleware that lets a request through only if the token
// in its context satisfies every rule; otherwise it answers with the first
// failure, or 401 when there is no token (Require() with no rules is
// RequireToken). Place it behind Middleware.Handler:
//
//	m.Handler(bearer.Require(bearer.AnyScope("admin", "support"))(h))
func Require(rules ...Rule) func(http.Handler) http.Handler {
	rules = append([]Rule(nil), rules...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := Authorize(r.Context(), rules...); err != nil {
				MiddlewareFrom(r.Context()).HandleError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireToken is middleware that lets a request through only if it has a
// verified token, and answers 401 otherwise: behind a middleware that lets
// requests without a token through (CredentialsOptional, AllowFailed),
// it marks the routes that need one, whatever its scopes. It is Require()
// with no rules:
//
//	m.Handler(bearer.RequireToken(h))
//	r.Use(bearer.RequireToken) // chi, or any router with func(http.Handler) http.Handler
func RequireToken(next http.Handler) http.Handler { return Require()(next) }

// RequireScopes returns middleware that lets a request through only if the
// token has every one of scopes; otherwise it answers 403
// insufficient_scope with scope="..." (RFC 6750 §3.1), or 401 when there is
// no token. It is Require(AllScopes(scopes...)).
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return Require(AllScopes(scopes...))
}

// Authorize applies rules to the token in ctx: nil if it satisfies them
// all, else an *Error (ErrInsufficientScope, or ErrNoToken when ctx has no
// token). Adapters and gRPC interceptors use it. A refusal is reported to
// the Observer (AccessDenied) and the logger of the middleware that
// admitted the request: Authorize is for deciding a request's fate; to
// look at a token's scopes without refusing anything, use Token.HasScopes.
func Authorize(ctx context.Context, rules ...Rule) error {
	t, ok := FromContext(ctx)
	if !ok {
		return denied(ctx, nil, copyError(errNoToken).(*Error))
	}
	for _, rule := range rules {
		if err := rule(t); err != nil {
			var e *Error
			if errors.As(err, &e) {
				e = copyError(e).(*Error)
			} else {
				e = &Error{Code: CodeInsufficientScope, Description: "insufficient privileges",
					Status: http.StatusForbidden, Err: fmt.Errorf("%w: %w", ErrInsufficientScope, err)}
			}
			return denied(ctx, t, e)
		}
	}
	return nil
}

// denied reports e, a rule's refusal of the request of ctx, to the
// middleware's Observer, and returns it. A missing scope's cause says
// which scopes the token has.
func denied(ctx context.Context, t *Token, e *Error) *Error {
	if t != nil && e.Scope != "" && errors.Is(e.Err, ErrInsufficientScope) {
		e.Err = fmt.Errorf("%w: want %s, the token has %s", e.Err, e.Scope, receivedList(t.Scopes()))
	}
	if m := MiddlewareFrom(ctx); m != nil && m.observer != nil {
		m.observer.AccessDenied(ctx, t, e)
	}
	return e
}

// AllScopes requires every one of scopes. Its failure names them all in
// the challenge's scope attribute. It panics if a scope is not a valid
// scope-token (RFC 6749 §3.3): a programming error, found at start-up.
func AllScopes(scopes ...string) Rule {
	scopes = slices.Clone(scopes)
	deny := insufficientScope(scopes)
	return func(t *Token) error {
		if t.HasScopes(scopes...) {
			return nil
		}
		return deny
	}
}

// AnyScope requires at least one of scopes. Its failure lists them all in
// the challenge's scope attribute: any one of them would do.
func AnyScope(scopes ...string) Rule {
	scopes = slices.Clone(scopes)
	deny := insufficientScope(scopes)
	return func(t *Token) error {
		if t.hasAnyScope(scopes) {
			return nil
		}
		return deny
	}
}

func insufficientScope(scopes []string) *Error {
	mustBeScopes(scopes)
	return &Error{
		Code:        CodeInsufficientScope,
		Description: "insufficient scope",
		Scope:       strings.Join(scopes, " "),
		Status:      http.StatusForbidden,
		Err:         ErrInsufficientScope,
	}
}

var errClaim = &Error{Code: CodeInsufficientScope, Description: "insufficient privileges", Status: http.StatusForbidden, Err: ErrInsufficientScope}

// ClaimEquals requires the top-level claim name to equal one of values,
// compared as JSON values: ClaimEquals("tenant", "acme"),
// ClaimEquals("email_verified", true). It is Claim(name).Equals(values...);
// Claim reaches nested claims.
func ClaimEquals(name string, values ...any) Rule {
	return Claim(name).Equals(values...)
}

// ClaimIncludes requires the top-level claim name to include at least one
// of values (see ClaimPath.Includes): ClaimIncludes("roles", "admin",
// "support"). It is Claim(name).Includes(values...); Claim reaches nested
// claims, such as Keycloak's realm_access.roles.
func ClaimIncludes(name string, values ...string) Rule {
	return Claim(name).Includes(values...)
}

// jsonValue returns v as encoding/json would decode it into an any, so that
// ClaimEquals("n", 7) matches the claim 7 (a float64 once decoded).
func jsonValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("bearer: ClaimEquals value %v: %v", v, err))
	}
	var out any
	json.Unmarshal(b, &out)
	return out
}

// MiddlewareFrom returns the Middleware that let the request with context
// ctx through: the one that verified its token or, as its Mode allows,
// admitted it without one. It returns nil when there is none;
// HandleError, WriteError, SetErrorHeaders and Challenge work on a nil
// *Middleware, with no realm. Require and the adapters' rule checks use it
// to answer with that middleware's realm and error handler.
func MiddlewareFrom(ctx context.Context) *Middleware {
	if t, ok := FromContext(ctx); ok {
		return t.m
	}
	if a, ok := ctx.Value(anonymousKey{}).(*anonymous); ok {
		return a.m
	}
	return nil
}

// mustBeScopes panics unless each scope is a scope-token.
func mustBeScopes(scopes []string) {
	for _, s := range scopes {
		if !isScopeToken(s) {
			panic(fmt.Sprintf("bearer: invalid scope %q", s))
		}
	}
}
