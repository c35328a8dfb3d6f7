// Command grpc is a gRPC service protected by grpcbearer, and a client to
// call it. The service, demo.Greeter, has Hello (any valid token), Admin
// (the "admin" scope) and Countdown (a server stream, any valid token).
// Tokens come from an in-process test issuer, so no identity provider is
// needed; the server prints client commands with freshly minted tokens.
//
//	go run ./grpc                                        # the server
//	go run ./grpc -call Hello -token "$MEMBER"           # a client
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/grpcbearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/examples/internal/demo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "server address")
	method := flag.String("call", "", "call this method (Hello, Admin, Countdown) as a client instead of serving")
	token := flag.String("token", "", "the client's bearer token")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *method != "" {
		if err := call(ctx, os.Stdout, *addr, *method, *token); err != nil {
			if !errors.Is(err, errRefused) { // a refusal is already printed
				log.Print(err)
			}
			stop()
			os.Exit(1)
		}
		return
	}
	if err := serve(ctx, *addr); err != nil {
		log.Fatal(err)
	}
}

func serve(ctx context.Context, addr string) error {
	issuer, auth, err := newAuth()
	if err != nil {
		return err
	}
	defer auth.Close()

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := newServer(auth)
	go func() {
		<-ctx.Done()
		srv.GracefulStop()
	}()

	admin, user := demo.Tokens(issuer)
	fmt.Printf(`gRPC example listening on %[1]s

Tokens, valid for an hour:
  ADMIN=%[2]s
  MEMBER=%[3]s

Try, from another terminal in examples/:
  go run ./grpc -addr %[1]s -call Hello                          # Unauthenticated, no token
  go run ./grpc -addr %[1]s -call Hello -token "$MEMBER"
  go run ./grpc -addr %[1]s -call Countdown -token "$MEMBER"
  go run ./grpc -addr %[1]s -call Admin -token "$MEMBER"           # PermissionDenied
  go run ./grpc -addr %[1]s -call Admin -token "$ADMIN"

Ctrl-C stops it.
`, lis.Addr(), admin, user)
	return srv.Serve(lis)
}

// newServer returns the gRPC server with demo.Greeter behind the
// interceptors. Admin needs the "admin" scope; the other methods a valid
// token.
func newServer(auth *bearer.Middleware) *grpc.Server {
	scopes := grpcbearer.WithScopes(map[string][]string{"/demo.Greeter/Admin": {"admin"}})
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcbearer.UnaryServerInterceptor(auth, scopes)),
		grpc.ChainStreamInterceptor(grpcbearer.StreamServerInterceptor(auth, scopes)),
	)
	srv.RegisterService(&greeterService, struct{}{})
	return srv
}

// greeterService is demo.Greeter, described by hand so that the example
// needs no generated code; a real service registers its generated
// ServiceDesc the same way. Messages are protobuf's StringValue.
var greeterService = grpc.ServiceDesc{
	ServiceName: "demo.Greeter",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		unary("Hello", func(ctx context.Context) string {
			return "hello, " + bearer.Subject(ctx)
		}),
		unary("Admin", func(ctx context.Context) string {
			return "welcome to the admin area, " + bearer.Subject(ctx)
		}),
	},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Countdown",
		ServerStreams: true,
		Handler: func(_ any, ss grpc.ServerStream) error {
			if err := ss.RecvMsg(new(wrapperspb.StringValue)); err != nil {
				return err
			}
			for i := 3; i > 0; i-- {
				msg := fmt.Sprintf("%d, %s", i, bearer.Subject(ss.Context()))
				if err := ss.SendMsg(wrapperspb.String(msg)); err != nil {
					return err
				}
			}
			return nil
		},
	}},
}

// unary describes a unary method whose answer is reply's.
func unary(name string, reply func(ctx context.Context) string) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(wrapperspb.StringValue)); err != nil {
				return nil, err
			}
			handle := func(ctx context.Context, _ any) (any, error) { return wrapperspb.String(reply(ctx)), nil }
			if interceptor == nil {
				return handle(ctx, nil)
			}
			return interceptor(ctx, nil, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/demo.Greeter/" + name}, handle)
		},
	}
}

// errRefused: the call ended with an error status, printed with its
// www-authenticate trailer.
var errRefused = errors.New("call refused")

// call calls method on the server at addr with token, and prints the
// answers, or the status and the www-authenticate trailer of a refusal,
// which it then returns as errRefused: a script running the client sees it
// fail.
func call(ctx context.Context, out io.Writer, addr, method, token string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if token != "" {
		// Over a real network, send tokens only on TLS connections.
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	var trailer metadata.MD
	fullMethod := "/demo.Greeter/" + method
	switch method {
	case "Hello", "Admin":
		reply := new(wrapperspb.StringValue)
		err = conn.Invoke(ctx, fullMethod, wrapperspb.String(""), reply, grpc.Trailer(&trailer))
		if err == nil {
			fmt.Fprintln(out, reply.GetValue())
		}
	case "Countdown":
		err = countdown(ctx, out, conn, fullMethod, &trailer)
	default:
		return fmt.Errorf("no method %q: Hello, Admin or Countdown", method)
	}
	if st, ok := status.FromError(err); ok && err != nil {
		fmt.Fprintf(out, "%s: %s\n", st.Code(), st.Message())
		for _, c := range trailer.Get("www-authenticate") {
			fmt.Fprintf(out, "www-authenticate: %s\n", c)
		}
		return fmt.Errorf("%w: %s", errRefused, st.Code())
	}
	return err
}

func countdown(ctx context.Context, out io.Writer, conn *grpc.ClientConn, method string, trailer *metadata.MD) error {
	s, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		return err
	}
	defer func() { *trailer = s.Trailer() }()
	if err := s.SendMsg(wrapperspb.String("")); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	for {
		msg := new(wrapperspb.StringValue)
		if err := s.RecvMsg(msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		fmt.Fprintln(out, msg.GetValue())
	}
}

// newAuth returns the demo's identity provider and the example's
// middleware, which trusts it. With a real provider, its keys come from
// bearer.RemoteJWKS(jwksURL) or bearer.Discover(issuerURL) in place of
// issuer.KeySource(), and WithIssuer names its exact iss.
func newAuth() (*bearertest.Issuer, *bearer.Middleware, error) {
	issuer, err := demo.Issuer("grpc-example")
	if err != nil {
		return nil, nil, err
	}
	auth, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience("grpc-example"),
		bearer.WithRealm("grpc-example"))
	if err != nil {
		return nil, nil, err
	}
	return issuer, auth, nil
}
