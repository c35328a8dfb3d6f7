package bearer

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// RequireScopes returns middleware that lets a request through only if the
// token in its context has every one of scopes; otherwise it answers 403
// insufficient_scope with scope="..." (RFC 6750 §3.1), or 401 when there is
// no token. Place it behind Middleware.Handler. It panics if a scope is not
// a valid scope-token (RFC 6749 §3.3): that is a programming error, found
// at start-up.
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	mustBeScopes(scopes)
	scopes = append([]string(nil), scopes...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := CheckScopes(r.Context(), scopes...); err != nil {
				errorHandlerFor(r.Context())(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// CheckScopes returns nil if the token in ctx has every one of scopes, an
// *Error wrapping ErrInsufficientScope if it lacks one, and one wrapping
// ErrNoToken if ctx has no token. Adapters and gRPC interceptors use it.
func CheckScopes(ctx context.Context, scopes ...string) error {
	t, ok := FromContext(ctx)
	if !ok {
		return errNoToken
	}
	if t.HasScopes(scopes...) {
		return nil
	}
	return &Error{
		Code:        CodeInsufficientScope,
		Description: "insufficient scope",
		Scope:       strings.Join(scopes, " "),
		Status:      http.StatusForbidden,
		Err:         ErrInsufficientScope,
	}
}

// errorHandlerFor finds the error handler of the middleware that handled
// the request, so that scope failures get its realm and its answers.
func errorHandlerFor(ctx context.Context) ErrorHandler {
	var m *Middleware
	if t, ok := FromContext(ctx); ok {
		m = t.m
	} else if a, ok := ctx.Value(anonymousKey{}).(*Middleware); ok {
		m = a
	}
	if m == nil {
		return m.WriteError
	}
	return m.onError
}

// mustBeScopes panics unless each scope is a scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func mustBeScopes(scopes []string) {
	for _, s := range scopes {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool {
			return r <= 0x20 || r == '"' || r == '\\' || r >= 0x7f
		}) {
			panic(fmt.Sprintf("bearer: invalid scope %q", s))
		}
	}
}
