// Package grpcbearer protects gRPC services with bearer tokens. Its server
// interceptors adapt a *bearer.Middleware: verification, its options and
// its answers are the core's; this package only translates them to gRPC.
//
//	m, err := bearer.New(keys, bearer.WithIssuer(iss), bearer.WithAudience(aud))
//	scopes := grpcbearer.WithScopes(map[string][]string{
//		"/orders.v1.Orders/Cancel": {"orders:write"},
//	})
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(grpcbearer.UnaryServerInterceptor(m, scopes)),
//		grpc.ChainStreamInterceptor(grpcbearer.StreamServerInterceptor(m, scopes)),
//	)
//
// The token is read from the "authorization" metadata: exactly one value,
// "Bearer " and a token of RFC 6750's b64token syntax, as the net/http
// middleware reads the Authorization header (bearer.WithExtractor does not
// apply). A verified token is in the handler's context, where
// bearer.FromContext(ctx) finds it.
//
// # Scopes
//
// Every method needs a valid token. WithScopes adds the scopes a method
// needs, by full method name, and WithRules any bearer.Rule; a method not
// listed needs no scope. A method listed with no scopes needs a token even
// under bearer.WithMode(bearer.CredentialsOptional), which otherwise lets calls without
// a token through: that is how a service mixes public and private methods.
// The middleware's Mode applies as in net/http; its skip rules and DPoP,
// which look at HTTP requests, do not (see bearer.Middleware.AdmitHeader).
//
// # Errors
//
// A failed call ends with a status error whose code follows the HTTP
// answer: codes.Unauthenticated for 401 (no token, a bad token) and for
// 400 (malformed credentials, which RFC 6750 answers invalid_request:
// in gRPC they are credentials that do not authenticate, not a bad
// argument of the method); codes.PermissionDenied for 403
// (insufficient_scope); codes.Unavailable for 503 (no signing keys can be
// had), with a google.rpc.RetryInfo detail when the core knows when to
// retry. The message is the answer's fixed description ("token expired"),
// never the cause, which interceptors chained before these find with
// errors.Is and errors.As, as the error wraps the *bearer.Error. The
// trailer "www-authenticate" carries the exact challenge the HTTP answer
// would carry, realm, error code and required scope included.
package grpcbearer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/bearerauth/bearer"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// An Option configures the interceptors.
type Option func(*interceptor)

// WithScopes sets the scopes each method needs, keyed by full method name
// ("/package.Service/Method"): the token must have all of a method's
// scopes. It is WithRules with bearer.AllScopes for each method. It panics
// if a name is not a full method name or a scope is not a valid
// scope-token: a typo there would leave a method unguarded.
func WithScopes(scopes map[string][]string) Option {
	rules := make(map[string][]bearer.Rule, len(scopes))
	for method, s := range scopes {
		rules[method] = []bearer.Rule{bearer.AllScopes(s...)}
	}
	return WithRules(rules)
}

// WithRules sets the rules each method's token must satisfy (see
// bearer.Require), keyed by full method name ("/package.Service/Method").
// It panics if a name is not a full method name.
func WithRules(rules map[string][]bearer.Rule) Option {
	copied := make(map[string][]bearer.Rule, len(rules))
	for method, r := range rules {
		if !isFullMethod(method) {
			panic(fmt.Sprintf("grpcbearer: %q is not a full method name (/package.Service/Method)", method))
		}
		copied[method] = slices.Clone(r)
	}
	return func(i *interceptor) {
		for method, r := range copied {
			i.rules[method] = append(i.rules[method], r...)
		}
	}
}

func isFullMethod(name string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	return strings.HasPrefix(name, "/") && ok && service != "" && method != "" && !strings.Contains(method, "/")
}

// UnaryServerInterceptor returns an interceptor that authenticates every
// unary call with m and checks the scopes of WithScopes and the rules of WithRules.
func UnaryServerInterceptor(m *bearer.Middleware, opts ...Option) grpc.UnaryServerInterceptor {
	i := newInterceptor(m, opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := i.authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor returns an interceptor that authenticates every
// streaming call with m and checks the scopes of WithScopes and the rules of WithRules.
func StreamServerInterceptor(m *bearer.Middleware, opts ...Option) grpc.StreamServerInterceptor {
	i := newInterceptor(m, opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := i.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &serverStream{ss, ctx})
	}
}

type interceptor struct {
	m     *bearer.Middleware
	rules map[string][]bearer.Rule
}

func newInterceptor(m *bearer.Middleware, opts []Option) *interceptor {
	if m == nil {
		panic("grpcbearer: nil *bearer.Middleware")
	}
	i := &interceptor{m: m, rules: map[string][]bearer.Rule{}}
	for _, opt := range opts {
		opt(i)
	}
	return i
}

// authenticate returns the handler's context, or the status error to end
// the call with.
func (i *interceptor) authenticate(ctx context.Context, method string) (context.Context, error) {
	next, err := i.m.AdmitHeader(ctx, metadata.ValueFromIncomingContext(ctx, "authorization"))
	if err == nil {
		rules, listed := i.rules[method]
		if !listed {
			return next, nil
		}
		if err = bearer.Authorize(next, rules...); err == nil {
			return next, nil
		}
	}
	return nil, i.status(ctx, err)
}

// status translates err, an *bearer.Error, into a gRPC status error, and
// sets the challenges of the HTTP answer as trailer.
func (i *interceptor) status(ctx context.Context, err error) error {
	var e *bearer.Error
	errors.As(err, &e) // the core's errors always are *bearer.Error
	h := http.Header{}
	i.m.SetErrorHeaders(h, nil, e)
	if c := h.Values("WWW-Authenticate"); len(c) > 0 {
		// The trailer is a courtesy: the status alone decides the call.
		_ = grpc.SetTrailer(ctx, metadata.MD{"www-authenticate": c})
	}
	code := codes.Unauthenticated
	switch e.Status {
	case http.StatusForbidden:
		code = codes.PermissionDenied
	case http.StatusServiceUnavailable:
		code = codes.Unavailable
	}
	st := status.New(code, e.Description)
	if code == codes.Unavailable && e.RetryAfter > 0 {
		if withRetry, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)}); err == nil {
			st = withRetry
		}
	}
	return &statusError{st, e}
}

// statusError is the status a failed call ends with, wrapping the
// *bearer.Error so that interceptors chained before these ones can log the
// cause (errors.Is(err, bearer.ErrExpired)). The client gets the status
// only.
type statusError struct {
	st  *status.Status
	err *bearer.Error
}

func (e *statusError) Error() string              { return e.st.Err().Error() }
func (e *statusError) GRPCStatus() *status.Status { return e.st }
func (e *statusError) Unwrap() error              { return e.err }

// serverStream is a ServerStream whose context carries the token.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }
