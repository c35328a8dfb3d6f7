// Package connectbearer protects Connect services (connectrpc.com/connect)
// with bearer tokens. Connect handlers are net/http handlers, so the core's
// middleware admits their requests unchanged (Mode, skip rules, DPoP, and
// WithCORSPreflight, which sends preflights to its CORS handler); this
// package only answers failures the way Connect clients read them: as
// Connect errors in the protocol of the request (Connect, gRPC or
// gRPC-Web), with the RFC 6750 challenge kept.
//
//	m, err := bearer.New(keys, bearer.WithIssuer(iss), bearer.WithAudience(aud))
//	rules := connectbearer.NewInterceptor(connectbearer.WithScopes(map[string][]string{
//		ordersv1connect.OrdersCancelProcedure: {"orders:write"},
//	}))
//	path, h := ordersv1connect.NewOrdersHandler(svc, connect.WithInterceptors(rules))
//	mux.Handle(path, connectbearer.Handler(m, h))
//
// # Errors
//
// A failed call ends with a *connect.Error whose code follows the HTTP
// answer, as grpcbearer's do: connect.CodeUnauthenticated for 401 (no
// token, a bad token) and 400 (malformed credentials: in RPC terms,
// credentials that do not authenticate, not a bad argument);
// connect.CodePermissionDenied for 403 (insufficient_scope);
// connect.CodeUnavailable for 503 (no signing keys can be had). The message
// is the answer's fixed description ("token expired"), never the cause.
// The WWW-Authenticate challenge (and Retry-After for a 503) is in the
// response headers, as in the HTTP answer, realm, error code and required
// scope included: Handler sets them on the response, and NewInterceptor
// on the call's response headers.
//
// A request that is not an RPC gets the core's answer, or
// bearer.WithErrorHandler's; RPCs always get a Connect error. An RPC is a
// gRPC or gRPC-Web request, or a Connect one with its protocol version (the
// Connect-Protocol-Version header, or connect=v1 in a GET's query), which
// Connect clients send.
package connectbearer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"github.com/bearerauth/bearer"
)

// Handler returns next, a Connect handler (or a mux of them), behind m:
// every request is admitted by m, and a failed RPC is answered with a
// Connect error in its protocol, the challenge in the response headers.
func Handler(m *bearer.Middleware, next http.Handler) http.Handler {
	if m == nil {
		panic("connectbearer: nil *bearer.Middleware")
	}
	// Without the Connect-Protocol-Version header (or connect=v1 query of a
	// GET), which Connect clients send, a request is not taken for an RPC:
	// any GET would be, otherwise.
	errs := connect.NewErrorWriter(connect.WithRequireConnectProtocolHeader())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.ServePreflight(w, r) {
			return
		}
		admitted, err := m.Admit(r)
		if err != nil {
			if !errs.IsSupported(r) {
				m.HandleError(w, r, err)
				return
			}
			e := bearerError(err)
			m.SetErrorHeaders(w.Header(), r, e)
			// An error writing means the client is gone: nothing to tell it.
			_ = errs.Write(w, r, connectError(e))
			return
		}
		next.ServeHTTP(w, admitted)
	})
}

// An Option configures NewInterceptor.
type Option func(*interceptor)

// WithScopes sets the scopes each procedure needs, keyed by procedure
// ("/package.Service/Method", the generated ...Procedure constants): the
// token must have all of a procedure's scopes. It is WithRules with
// bearer.AllScopes for each procedure. It panics if a name is not a
// procedure or a scope is not a valid scope-token: a typo there would
// leave a procedure unguarded.
func WithScopes(scopes map[string][]string) Option {
	rules := make(map[string][]bearer.Rule, len(scopes))
	for procedure, s := range scopes {
		rules[procedure] = []bearer.Rule{bearer.AllScopes(s...)}
	}
	return WithRules(rules)
}

// WithRules sets the rules each procedure's token must satisfy (see
// bearer.Require), keyed by procedure ("/package.Service/Method"). A
// procedure listed, even with no rules, needs a token under
// bearer.WithMode(bearer.CredentialsOptional), which otherwise lets calls without one
// through. It panics if a name is not a procedure.
func WithRules(rules map[string][]bearer.Rule) Option {
	copied := make(map[string][]bearer.Rule, len(rules))
	for procedure, r := range rules {
		if !isProcedure(procedure) {
			panic(fmt.Sprintf("connectbearer: %q is not a procedure (/package.Service/Method)", procedure))
		}
		copied[procedure] = slices.Clone(r)
	}
	return func(i *interceptor) {
		for procedure, r := range copied {
			i.rules[procedure] = append(i.rules[procedure], r...)
		}
	}
}

func isProcedure(name string) bool {
	service, method, ok := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	return strings.HasPrefix(name, "/") && ok && service != "" && method != "" && !strings.Contains(method, "/")
}

// NewInterceptor returns a handler interceptor that checks, for each call
// of a procedure listed in WithScopes or WithRules, the token Handler put
// in the call's context; a procedure not listed passes. A refused call
// ends with connect.CodePermissionDenied (or CodeUnauthenticated without a
// token) and the challenge in the error's metadata. Clients are not
// affected.
func NewInterceptor(opts ...Option) connect.Interceptor {
	i := &interceptor{rules: map[string][]bearer.Rule{}}
	for _, opt := range opts {
		opt(i)
	}
	return i
}

type interceptor struct {
	rules map[string][]bearer.Rule
}

func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		if e := i.authorize(ctx, req.Spec().Procedure); e != nil {
			var header http.Header
			if call, ok := connect.CallInfoForHandlerContext(ctx); ok {
				header = call.ResponseHeader()
			}
			return nil, refusal(ctx, e, header)
		}
		return next(ctx, req)
	}
}

func (*interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if e := i.authorize(ctx, conn.Spec().Procedure); e != nil {
			return refusal(ctx, e, conn.ResponseHeader())
		}
		return next(ctx, conn)
	}
}

// authorize applies the procedure's rules to the token in ctx.
func (i *interceptor) authorize(ctx context.Context, procedure string) *bearer.Error {
	rules, listed := i.rules[procedure]
	if !listed {
		return nil
	}
	if err := bearer.Authorize(ctx, rules...); err != nil {
		return bearerError(err)
	}
	return nil
}

// refusal returns the Connect error of e, and sets its headers on header,
// the call's response headers, as the HTTP answer has them (gRPC sends an
// error's metadata as trailers, where net/http refuses WWW-Authenticate),
// or on the error's metadata without them.
func refusal(ctx context.Context, e *bearer.Error, header http.Header) *connect.Error {
	ce := connectError(e)
	if header == nil {
		header = ce.Meta()
	}
	bearer.MiddlewareFrom(ctx).SetErrorHeaders(header, nil, e)
	return ce
}

// bearerError returns the *bearer.Error err is: the core's errors always
// are.
func bearerError(err error) *bearer.Error {
	var e *bearer.Error
	errors.As(err, &e)
	return e
}

// connectError translates e into a Connect error that wraps it, so that
// interceptors find the cause with errors.Is; the client gets the code and
// e's fixed description only.
func connectError(e *bearer.Error) *connect.Error {
	code := connect.CodeUnauthenticated
	switch e.Status {
	case http.StatusForbidden:
		code = connect.CodePermissionDenied
	case http.StatusServiceUnavailable:
		code = connect.CodeUnavailable
	}
	return connect.NewError(code, &cause{e})
}

// cause is a *bearer.Error whose text is its fixed description: Connect
// sends the wrapped error's text to the client.
type cause struct{ e *bearer.Error }

func (c *cause) Error() string { return c.e.Description }
func (c *cause) Unwrap() error { return c.e }
