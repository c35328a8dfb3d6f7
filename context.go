package bearer

import (
	"context"
)

type tokenKey struct{}

// anonymousKey marks a request let through without a token (Mode), with
// the reason, and the middleware whose realm and error handler Require
// answers it with.
type anonymousKey struct{}

type anonymous struct {
	m   *Middleware
	err *Error
}

// ErrorFrom returns why the request of ctx is anonymous: when the Mode let
// it through without a valid token, the *Error that would otherwise have
// been the answer (ErrNoToken for a request without a token). In an
// ErrorHandler (WithErrorHandler), it is the *Error being answered.
func ErrorFrom(ctx context.Context) (*Error, bool) {
	a, ok := ctx.Value(anonymousKey{}).(*anonymous)
	if !ok {
		return nil, false
	}
	return a.err, true
}

// NewContext returns a copy of ctx that carries t.
func NewContext(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// FromContext returns the token the middleware put into ctx.
func FromContext(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(*Token)
	return t, ok && t != nil
}

// Subject returns the subject of the token in ctx, or "" when there is none.
func Subject(ctx context.Context) string {
	if t, ok := FromContext(ctx); ok {
		return t.sub
	}
	return ""
}

// Scopes returns the scopes of the token in ctx, or nil when there is none.
func Scopes(ctx context.Context) []string {
	if t, ok := FromContext(ctx); ok {
		return t.Scopes()
	}
	return nil
}

// ClaimsFrom decodes the claims of the token in ctx into a T, typically a
// struct of the application's own claims. It fails with ErrNoToken when ctx
// has no token.
func ClaimsFrom[T any](ctx context.Context) (T, error) {
	var claims T
	t, ok := FromContext(ctx)
	if !ok {
		return claims, errNoToken
	}
	err := t.Decode(&claims)
	return claims, err
}
