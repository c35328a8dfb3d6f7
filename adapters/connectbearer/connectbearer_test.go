package connectbearer_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/connectbearer"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/bearerauth/bearer/internal/bypasstest"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	greet = "/test.v1.Greeter/Greet" // any valid token
	admin = "/test.v1.Greeter/Admin" // the admin scope
	watch = "/test.v1.Greeter/Watch" // a server stream, the admin scope
)

type message = wrapperspb.StringValue

// subject answers with the subject of the call's token.
func subject(ctx context.Context) *message {
	if tok, ok := bearer.FromContext(ctx); ok {
		return wrapperspb.String(tok.Subject())
	}
	return wrapperspb.String("anonymous")
}

// service is the three procedures behind Handler, the rules in an
// interceptor.
func service(m *bearer.Middleware) http.Handler {
	opts := connect.WithInterceptors(connectbearer.NewInterceptor(
		connectbearer.WithScopes(map[string][]string{admin: {"admin"}, watch: {"admin"}})))
	unary := func(ctx context.Context, _ *connect.Request[message]) (*connect.Response[message], error) {
		return connect.NewResponse(subject(ctx)), nil
	}
	mux := http.NewServeMux()
	mux.Handle(greet, connect.NewUnaryHandler(greet, unary, opts))
	mux.Handle(admin, connect.NewUnaryHandler(admin, unary, opts))
	mux.Handle(watch, connect.NewServerStreamHandler(watch, func(ctx context.Context, _ *connect.Request[message], s *connect.ServerStream[message]) error {
		return s.Send(subject(ctx))
	}, opts))
	return connectbearer.Handler(m, mux)
}

// serve serves h over HTTP/2 with TLS, which gRPC needs.
func serve(t *testing.T, h http.Handler) (*http.Client, string) {
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Client(), srv.URL
}

var protocols = map[string][]connect.ClientOption{
	"connect":  nil,
	"grpc":     {connect.WithGRPC()},
	"grpc-web": {connect.WithGRPCWeb()},
}

// call calls procedure with the Authorization header values; for the
// stream, it reads the first message. An error is an answer: the
// *connect.Error with the response headers.
func call(t *testing.T, client *http.Client, url, procedure string, opts []connect.ClientOption, authorization ...string) (string, error) {
	t.Helper()
	ctx, info := connect.NewClientContext(t.Context())
	got, err := callIn(ctx, t, client, url, procedure, opts, authorization...)
	if err != nil {
		return "", &answer{err, info.ResponseHeader()}
	}
	return got, nil
}

type answer struct {
	error
	header http.Header
}

func (a *answer) Unwrap() error { return a.error }

func callIn(ctx context.Context, t *testing.T, client *http.Client, url, procedure string, opts []connect.ClientOption, authorization ...string) (string, error) {
	req := connect.NewRequest(wrapperspb.String(""))
	req.Header()["Authorization"] = authorization
	c := connect.NewClient[message, message](client, url+procedure, opts...)
	if procedure == watch {
		s, err := c.CallServerStream(ctx, req)
		if err != nil {
			return "", err
		}
		defer s.Close()
		if !s.Receive() {
			return "", s.Err()
		}
		return s.Msg().GetValue(), nil
	}
	res, err := c.CallUnary(ctx, req)
	if err != nil {
		return "", err
	}
	return res.Msg.GetValue(), nil
}

// check reports whether err is a Connect error with code, the fixed
// description as its message and the challenge in its metadata.
func check(t *testing.T, name string, err error, code connect.Code, description, challenge string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Errorf("%s: %v, want a *connect.Error", name, err)
		return
	}
	var a *answer
	errors.As(err, &a)
	got := a.header.Values("WWW-Authenticate")
	if len(got) != 1 || ce.Code() != code || ce.Message() != description || got[0] != challenge {
		t.Errorf("%s: %v %q %q\nwant %v %q %q", name, ce.Code(), ce.Message(), got, code, description, challenge)
	}
}

// Every failing line of the answers table, in each protocol, for a unary
// call and a stream: the code, the description, the challenge.
func TestRPCAnswers(t *testing.T) {
	f := answertest.New(t)
	client, url := serve(t, service(f.Middleware))
	for protocol, opts := range protocols {
		for _, c := range f.Cases(t) {
			for _, procedure := range []string{greet, watch} {
				_, err := call(t, client, url, procedure, opts, c.Authorization...)
				check(t, protocol+" "+procedure+" "+c.Name, err, connect.CodeUnauthenticated, c.Description, c.Challenge)
			}
		}
		for _, procedure := range []string{admin, watch} {
			_, err := call(t, client, url, procedure, opts, "Bearer "+f.Token(t, "read"))
			check(t, protocol+" "+procedure+" without the scope", err, connect.CodePermissionDenied, "insufficient scope", answertest.ScopeChallenge("admin"))
			if got, err := call(t, client, url, procedure, opts, "Bearer "+f.Token(t, "admin")); err != nil || got != "alice" {
				t.Errorf("%s %s with the scope: %q, %v", protocol, procedure, got, err)
			}
		}
	}
}

// Without keys, calls end Unavailable with the Retry-After of the answer.
func TestKeysUnavailable(t *testing.T) {
	f := answertest.KeysUnavailable(t)
	client, url := serve(t, service(f.Middleware))
	for protocol, opts := range protocols {
		_, err := call(t, client, url, greet, opts, "Bearer "+f.Token(t, ""))
		var ce *connect.Error
		var a *answer
		if !errors.As(err, &ce) || !errors.As(err, &a) || ce.Code() != connect.CodeUnavailable ||
			a.header.Get("Retry-After") == "" || a.header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s: %v, header %v", protocol, err, a.header)
		}
	}
}

// Under CredentialsOptional, a call without a token reaches a
// procedure that is not listed; a listed one answers Unauthenticated.
func TestCredentialsOptional(t *testing.T) {
	f := answertest.New(t, bearer.WithMode(bearer.CredentialsOptional))
	client, url := serve(t, service(f.Middleware))
	if got, err := call(t, client, url, greet, nil); err != nil || got != "anonymous" {
		t.Errorf("greet without a token: %q, %v", got, err)
	}
	_, err := call(t, client, url, admin, nil)
	check(t, "admin without a token", err, connect.CodeUnauthenticated, "bearer token required", `Bearer realm="api"`)
}

// Interceptors chained before NewInterceptor, and the handler's error
// path, find the cause with errors.Is.
func TestCause(t *testing.T) {
	f := answertest.New(t)
	var seen error
	logErrors := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			res, err := next(ctx, req)
			seen = err
			return res, err
		}
	})
	h := connect.NewUnaryHandler(admin, func(ctx context.Context, _ *connect.Request[message]) (*connect.Response[message], error) {
		return connect.NewResponse(subject(ctx)), nil
	}, connect.WithInterceptors(logErrors, connectbearer.NewInterceptor(connectbearer.WithScopes(map[string][]string{admin: {"admin"}}))))
	client, url := serve(t, connectbearer.Handler(f.Middleware, h))
	if _, err := call(t, client, url, admin, nil, "Bearer "+f.Token(t, "read")); err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(seen, bearer.ErrInsufficientScope) {
		t.Errorf("the interceptor saw %v", seen)
	}
}

// Requests that are not RPCs get the core's answers: the answers table
// through Handler.
func TestAnswers(t *testing.T) {
	answertest.Run(t, func(m *bearer.Middleware) http.Handler {
		hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(subject(r.Context()).GetValue()))
		})
		mux := http.NewServeMux()
		mux.Handle("/", connectbearer.Handler(m, hello))
		mux.Handle("/read", connectbearer.Handler(m, bearer.RequireScopes("read")(hello)))
		mux.Handle("/admin/", connectbearer.Handler(m, bearer.RequireScopes("admin", "audit")(hello)))
		mux.Handle("/bob", connectbearer.Handler(m, bearer.Require(bearer.ClaimEquals("sub", "bob"))(hello)))
		return mux
	})
}

func TestPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"Handler(nil)":   func() { connectbearer.Handler(nil, http.NotFoundHandler()) },
		"not procedure":  func() { connectbearer.WithScopes(map[string][]string{"Greet": {"a"}}) },
		"invalid scope":  func() { connectbearer.WithScopes(map[string][]string{greet: {`"q"`}}) },
		"procedure path": func() { connectbearer.WithRules(map[string][]bearer.Rule{"/a/b/c": nil}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

// allocs returns the allocations h makes answering a Connect call of
// procedure with authorization, without a network.
func allocs(h http.Handler, procedure, authorization string) float64 {
	return testing.AllocsPerRun(100, caller(h, procedure, authorization))
}

// caller returns a func that makes a Connect call of procedure with
// authorization to h, a new request each time (its body is read).
func caller(h http.Handler, procedure, authorization string) func() {
	w := httptest.NewRecorder()
	return func() {
		r := httptest.NewRequest(http.MethodPost, procedure, strings.NewReader(""))
		r.Header.Set("Content-Type", "application/proto")
		r.Header.Set("Authorization", authorization)
		w.Body.Reset()
		h.ServeHTTP(w, r)
	}
}

// Handler adds nothing beyond the net/http middleware; the interceptor
// adds nothing to a call it lets through.
func TestAllocations(t *testing.T) {
	f := answertest.New(t)
	auth := "Bearer " + f.Token(t, "admin")
	unary := func(ctx context.Context, _ *connect.Request[message]) (*connect.Response[message], error) {
		return connect.NewResponse(&message{}), nil
	}
	bare := connect.NewUnaryHandler(greet, unary)
	intercepted := connect.NewUnaryHandler(greet, unary, connect.WithInterceptors(
		connectbearer.NewInterceptor(connectbearer.WithScopes(map[string][]string{greet: {"admin"}}))))
	t.Run("Handler", func(t *testing.T) {
		answertest.CheckAdded(t, answertest.Middleware(f.Middleware).Added(auth),
			allocs(connectbearer.Handler(f.Middleware, bare), greet, auth)-allocs(bare, greet, auth), 0)
	})
	t.Run("NewInterceptor", func(t *testing.T) {
		answertest.CheckAdded(t, 0,
			allocs(connectbearer.Handler(f.Middleware, intercepted), greet, auth)-allocs(connectbearer.Handler(f.Middleware, bare), greet, auth), 0)
	})
}

func BenchmarkHandler(b *testing.B) {
	f := answertest.New(b)
	auth := "Bearer " + f.Token(b, "admin")
	bare := connect.NewUnaryHandler(greet, func(ctx context.Context, _ *connect.Request[message]) (*connect.Response[message], error) {
		return connect.NewResponse(&message{}), nil
	})
	answertest.BenchmarkPair(b, "net-http", auth, answertest.Middleware(f.Middleware))
	for name, h := range map[string]http.Handler{"connect-without": bare, "connect-with": connectbearer.Handler(f.Middleware, bare)} {
		b.Run(name, func(b *testing.B) {
			call := caller(h, greet, auth)
			b.ReportAllocs()
			for b.Loop() {
				call()
			}
		})
	}
}

// Preflights go to the CORS handler of WithCORSPreflight, never to the
// service; skip rules see the path as it came.
func TestBypass(t *testing.T) {
	protectedRoute := func(hits *atomic.Int64) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Write([]byte(bypasstest.ProtectedBody))
		})
	}
	t.Run("preflight", func(t *testing.T) {
		f := answertest.New(t, bearer.WithCORSPreflight(bypasstest.CORS))
		var protected atomic.Int64
		mux := http.NewServeMux()
		mux.Handle("/files/", protectedRoute(&protected))
		bypasstest.CheckPreflight(t, answertest.Serve(t, connectbearer.Handler(f.Middleware, mux)), &protected, f.Token(t, ""))
	})
	t.Run("hostile paths", func(t *testing.T) {
		f := answertest.New(t, bearer.WithSkip(bearer.SkipPaths(bypasstest.Public)))
		var protected atomic.Int64
		mux := http.NewServeMux()
		mux.HandleFunc("GET "+bypasstest.Public, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(bypasstest.PublicBody)) })
		mux.Handle("GET /api/{version}/users", protectedRoute(&protected))
		mux.Handle("GET /files/{path...}", protectedRoute(&protected))
		bypasstest.Check(t, answertest.Serve(t, connectbearer.Handler(f.Middleware, mux)), &protected, f.Token(t, ""))
	})
}
