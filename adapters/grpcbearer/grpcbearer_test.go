package grpcbearer_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/grpcbearer"
	"github.com/bearerauth/bearer/internal/answertest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The test service, written out by hand rather than generated: two unary
// methods and two server-streaming ones, each answering with the subject of
// the token in its context.
const (
	hello      = "/test.Greeter/Hello"
	admin      = "/test.Greeter/Admin"
	watch      = "/test.Greeter/Watch"
	watchAdmin = "/test.Greeter/WatchAdmin"
)

// subject reads the token of the handler's context.
func subject(ctx context.Context) (*wrapperspb.StringValue, error) {
	tok, ok := bearer.FromContext(ctx)
	if !ok {
		return wrapperspb.String("anonymous"), nil
	}
	return wrapperspb.String(tok.Subject()), nil
}

func unary(name string) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, _ any) (any, error) { return subject(ctx) }
			if interceptor == nil {
				return h(ctx, in)
			}
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/test.Greeter/" + name}, h)
		},
	}
}

func stream(name string) grpc.StreamDesc {
	return grpc.StreamDesc{
		StreamName:    name,
		ServerStreams: true,
		Handler: func(_ any, ss grpc.ServerStream) error {
			if err := ss.RecvMsg(new(wrapperspb.StringValue)); err != nil {
				return err
			}
			out, _ := subject(ss.Context())
			return ss.SendMsg(out)
		},
	}
}

var greeter = grpc.ServiceDesc{
	ServiceName: "test.Greeter",
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{unary("Hello"), unary("Admin")},
	Streams:     []grpc.StreamDesc{stream("Watch"), stream("WatchAdmin")},
}

var adminScopes = grpcbearer.WithScopes(map[string][]string{
	admin:      {"admin", "audit"},
	watchAdmin: {"admin", "audit"},
})

// logged holds the errors calls ended with, as an interceptor chained
// before grpcbearer's sees them.
type logged struct {
	mu   sync.Mutex
	errs []error
}

func (l *logged) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *logged) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	res, err := h(ctx, req)
	l.add(err)
	return res, err
}

func (l *logged) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	err := h(srv, ss)
	l.add(err)
	return err
}

// last returns the error the last call ended with.
func (l *logged) last() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) == 0 {
		return nil
	}
	return l.errs[len(l.errs)-1]
}

// dial serves the test service behind the interceptors over an in-memory
// connection and returns a client connection to it and the log of errors.
func dial(t *testing.T, m *bearer.Middleware, opts ...grpcbearer.Option) (*grpc.ClientConn, *logged) {
	t.Helper()
	log := new(logged)
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(log.unary, grpcbearer.UnaryServerInterceptor(m, opts...)),
		grpc.ChainStreamInterceptor(log.stream, grpcbearer.StreamServerInterceptor(m, opts...)),
	)
	srv.RegisterService(&greeter, struct{}{})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, log
}

// result is what a client sees of a call.
type result struct {
	Subject   string
	Code      codes.Code
	Message   string
	Challenge string // the www-authenticate trailer
}

// call makes the call method (unary or streaming) with the given
// authorization metadata values.
func call(t *testing.T, conn *grpc.ClientConn, method string, authorization ...string) (result, *status.Status) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, v := range authorization {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	out := new(wrapperspb.StringValue)
	var trailer metadata.MD
	var err error
	if method == hello || method == admin {
		err = conn.Invoke(ctx, method, wrapperspb.String("hi"), out, grpc.Trailer(&trailer))
	} else {
		var s grpc.ClientStream
		s, err = conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
		if err == nil {
			if err = s.SendMsg(wrapperspb.String("hi")); err == nil {
				s.CloseSend()
				if err = s.RecvMsg(out); err == nil {
					if extra := s.RecvMsg(new(wrapperspb.StringValue)); extra != io.EOF {
						t.Errorf("%s: second message: %v", method, extra)
					}
				}
			}
			trailer = s.Trailer()
		}
	}
	st := status.Convert(err)
	r := result{Subject: out.GetValue(), Code: st.Code(), Message: st.Message()}
	if v := trailer.Get("www-authenticate"); len(v) > 0 {
		r.Challenge = v[0]
		if len(v) > 1 {
			t.Errorf("%s: %d www-authenticate trailers", method, len(v))
		}
	}
	return r, st
}

func TestAnswersTable(t *testing.T) {
	f := answertest.New(t)
	conn, log := dial(t, f.Middleware, adminScopes)
	for _, method := range []string{hello, watch} {
		for _, c := range f.Cases(t) {
			got, _ := call(t, conn, method, c.Authorization...)
			want := result{Code: codes.Unauthenticated, Message: c.Description, Challenge: c.Challenge}
			if got != want {
				t.Errorf("%s %s:\n got %+v\nwant %+v", method, c.Name, got, want)
			}
			if err := log.last(); !errors.Is(err, c.Cause) || status.Code(err) != codes.Unauthenticated {
				t.Errorf("%s %s: the server saw %v, want %v", method, c.Name, err, c.Cause)
			}
		}
	}
}

func TestToken(t *testing.T) {
	f := answertest.New(t)
	conn, _ := dial(t, f.Middleware, adminScopes)
	for _, method := range []string{hello, admin, watch, watchAdmin} {
		got, _ := call(t, conn, method, "Bearer "+f.Token(t, "audit admin"))
		if want := (result{Subject: "alice", Code: codes.OK}); got != want {
			t.Errorf("%s: got %+v, want %+v", method, got, want)
		}
	}
}

func TestScopes(t *testing.T) {
	f := answertest.New(t)
	conn, _ := dial(t, f.Middleware, adminScopes)
	for _, method := range []string{admin, watchAdmin} {
		got, _ := call(t, conn, method, "Bearer "+f.Token(t, "admin read"))
		want := result{Code: codes.PermissionDenied, Message: "insufficient scope", Challenge: answertest.ScopeChallenge("admin audit")}
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", method, got, want)
		}
	}
	// A method not listed needs a token and no scope.
	if got, _ := call(t, conn, hello, "Bearer "+f.Token(t, "")); got.Code != codes.OK {
		t.Errorf("unlisted method: %+v", got)
	}
}

// WithRules takes any rule, and ends a call that fails it as the net/http
// middleware answers the request.
func TestRules(t *testing.T) {
	f := answertest.New(t)
	conn, _ := dial(t, f.Middleware, grpcbearer.WithRules(map[string][]bearer.Rule{
		hello: {bearer.ClaimEquals("sub", "bob")},
	}))
	got, _ := call(t, conn, hello, "Bearer "+f.Token(t, ""))
	want := result{Code: codes.PermissionDenied, Message: "insufficient privileges", Challenge: answertest.NoPrivileges.Challenge}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got, _ := call(t, conn, watch, "Bearer "+f.Token(t, "")); got.Code != codes.OK {
		t.Errorf("method without rules: %+v", got)
	}
}

func TestKeysUnavailable(t *testing.T) {
	f := answertest.KeysUnavailable(t)
	conn, _ := dial(t, f.Middleware)
	for _, method := range []string{hello, watch} {
		got, st := call(t, conn, method, "Bearer "+f.Token(t, ""))
		if want := (result{Code: codes.Unavailable, Message: "signing keys unavailable"}); got != want {
			t.Errorf("%s: got %+v, want %+v", method, got, want)
		}
		var retry *errdetails.RetryInfo
		for _, d := range st.Details() {
			if r, ok := d.(*errdetails.RetryInfo); ok {
				retry = r
			}
		}
		if retry == nil || !answertest.FreshRetryAfter(retry.GetRetryDelay().AsDuration()) {
			t.Errorf("%s: details %v, want RetryInfo of the key server's %v, less the test's time", method, st.Details(), answertest.RetryAfter)
		}
	}
}

// Under CredentialsOptional calls without a token reach the methods
// that are not listed; listed ones, even with no scope, need a token.
func TestCredentialsOptional(t *testing.T) {
	f := answertest.New(t, bearer.WithMode(bearer.CredentialsOptional))
	conn, _ := dial(t, f.Middleware, grpcbearer.WithScopes(map[string][]string{admin: {}, watchAdmin: {"admin"}}))
	if got, _ := call(t, conn, hello); got != (result{Subject: "anonymous", Code: codes.OK}) {
		t.Errorf("public method: %+v", got)
	}
	for _, method := range []string{admin, watchAdmin} {
		got, _ := call(t, conn, method)
		want := result{Code: codes.Unauthenticated, Message: "bearer token required", Challenge: answertest.NoToken.Challenge}
		if got != want {
			t.Errorf("%s without a token:\n got %+v\nwant %+v", method, got, want)
		}
	}
	if got, _ := call(t, conn, admin, "Bearer "+f.Token(t, "")); got.Code != codes.OK || got.Subject != "alice" {
		t.Errorf("listed method, no scope, with a token: %+v", got)
	}
	if got, _ := call(t, conn, hello, "Bearer not-a-jwt"); got.Code != codes.Unauthenticated {
		t.Errorf("bad token on a public method: %+v", got)
	}
}

func TestPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"no leading slash": func() { grpcbearer.WithScopes(map[string][]string{"test.Greeter/Admin": {"a"}}) },
		"no method":        func() { grpcbearer.WithScopes(map[string][]string{"/test.Greeter": {"a"}}) },
		"bad scope":        func() { grpcbearer.WithScopes(map[string][]string{admin: {"a b"}}) },
		"nil middleware":   func() { grpcbearer.UnaryServerInterceptor(nil) },
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

// incoming returns a server-side context with the authorization metadata
// authorization, as gRPC hands it to interceptors.
func incoming(authorization string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", authorization))
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *fakeStream) Context() context.Context { return s.ctx }

// The unary interceptor adds no more allocations per call than the net/http
// middleware adds per request; the stream interceptor adds one, the
// ServerStream that carries the new context, which gRPC offers no other way
// to pass.
func TestAllocations(t *testing.T) {
	f := answertest.New(t)
	auth := "Bearer " + f.Token(t, "admin audit")
	netHTTP := answertest.Middleware(f.Middleware).Added(auth)
	ctx := incoming(auth)

	unaryInfo := &grpc.UnaryServerInfo{FullMethod: admin}
	ui := grpcbearer.UnaryServerInterceptor(f.Middleware, adminScopes)
	uh := func(context.Context, any) (any, error) { return nil, nil }
	t.Run("unary", func(t *testing.T) {
		answertest.CheckAdded(t, netHTTP, testing.AllocsPerRun(100, func() { ui(ctx, nil, unaryInfo, uh) }), 0)
	})

	streamInfo := &grpc.StreamServerInfo{FullMethod: watchAdmin, IsServerStream: true}
	si := grpcbearer.StreamServerInterceptor(f.Middleware, adminScopes)
	sh := func(any, grpc.ServerStream) error { return nil }
	var ss grpc.ServerStream = &fakeStream{ctx: ctx}
	t.Run("stream", func(t *testing.T) {
		answertest.CheckAdded(t, netHTTP, testing.AllocsPerRun(100, func() { si(nil, ss, streamInfo, sh) }), 1)
	})
}

func BenchmarkInterceptors(b *testing.B) {
	f := answertest.New(b)
	auth := "Bearer " + f.Token(b, "admin audit")
	answertest.BenchmarkPair(b, "net-http", auth, answertest.Middleware(f.Middleware))
	ctx := incoming(auth)
	ui := grpcbearer.UnaryServerInterceptor(f.Middleware, adminScopes)
	info := &grpc.UnaryServerInfo{FullMethod: admin}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	b.Run("grpc-unary-without", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			handler(ctx, nil)
		}
	})
	b.Run("grpc-unary-with", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ui(ctx, nil, info, handler)
		}
	})
	si := grpcbearer.StreamServerInterceptor(f.Middleware, adminScopes)
	sinfo := &grpc.StreamServerInfo{FullMethod: watchAdmin, IsServerStream: true}
	var ss grpc.ServerStream = &fakeStream{ctx: ctx}
	b.Run("grpc-stream-with", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			si(nil, ss, sinfo, func(any, grpc.ServerStream) error { return nil })
		}
	})
}
