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
				MiddlewareFrom(r.Context()).HandleError(w, r, err)
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

// MiddlewareFrom returns the Middleware that let the request with context
// ctx through: the one that verified its token or, under
// WithCredentialsOptional, admitted it without one. It returns nil when
// there is none; HandleError, WriteError, SetErrorHeaders and Challenge
// work on a nil *Middleware, with no realm. Scope checks use it to answer
// with that middleware's realm and error handler.
func MiddlewareFrom(ctx context.Context) *Middleware {
	if t, ok := FromContext(ctx); ok {
		return t.m
	}
	m, _ := ctx.Value(anonymousKey{}).(*Middleware)
	return m
}

// ValidateScopes reports an error unless each of scopes is a scope-token
// of RFC 6749 §3.3: printable ASCII without space, quote or backslash.
// RequireScopes and the framework adapters panic on such an error at
// start-up, since a scope that no token can carry is a programming error.
func ValidateScopes(scopes ...string) error {
	for _, s := range scopes {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool {
			return r <= 0x20 || r == '"' || r == '\\' || r >= 0x7f
		}) {
			return fmt.Errorf("bearer: invalid scope %q", s)
		}
	}
	return nil
}

func mustBeScopes(scopes []string) {
	if err := ValidateScopes(scopes...); err != nil {
		panic(err)
	}
}
