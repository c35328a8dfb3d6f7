// Command connect is a Connect service (connectrpc.com/connect) protected
// by connectbearer: Greet needs a valid token, Reset the "admin" scope.
// Failed calls end with Connect error codes (unauthenticated,
// permission_denied, unavailable) in the protocol of the call, the RFC
// 6750 challenge in the response headers. Tokens come from an in-process
// test issuer; on start it prints two, and curl commands in the Connect
// protocol.
//
//	go run ./connect
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"

	"connectrpc.com/connect"
	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/connectbearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/examples/internal/demo"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The procedures, as protoc-gen-connect-go would name them.
const (
	GreetProcedure = "/greet.v1.GreetService/Greet"
	ResetProcedure = "/greet.v1.GreetService/Reset"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8086", "listen address")
	flag.Parse()

	issuer, auth, err := newAuth()
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	// HTTP/1.1 serves the Connect and gRPC-Web protocols; gRPC needs HTTP/2.
	err = demo.ListenAndServe(*addr, routes(auth), func(addr string) {
		printHelp(os.Stdout, addr, issuer)
	})
	if err != nil {
		log.Fatal(err)
	}
}

// routes returns the service behind the middleware, the scopes of its
// procedures in an interceptor.
func routes(auth *bearer.Middleware) http.Handler {
	scopes := connect.WithInterceptors(connectbearer.NewInterceptor(
		connectbearer.WithScopes(map[string][]string{ResetProcedure: {"admin"}})))
	mux := http.NewServeMux()
	mux.Handle(GreetProcedure, connect.NewUnaryHandler(GreetProcedure,
		func(ctx context.Context, req *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
			return connect.NewResponse(wrapperspb.String("hello " + req.Msg.GetValue() + ", you are " + bearer.Subject(ctx))), nil
		}, scopes))
	mux.Handle(ResetProcedure, connect.NewUnaryHandler(ResetProcedure,
		func(ctx context.Context, _ *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
			return connect.NewResponse(wrapperspb.String("reset by " + bearer.Subject(ctx))), nil
		}, scopes))
	return connectbearer.Handler(auth, mux)
}

// printHelp prints the tokens and the curl commands that try the service.
func printHelp(w io.Writer, addr string, issuer *bearertest.Issuer) {
	admin, user := demo.Tokens(issuer)
	fmt.Fprintf(w, `Connect example listening on http://%[1]s

Tokens, valid for an hour:
  ADMIN=%[2]s
  MEMBER=%[3]s

Try (the Connect protocol, JSON):
  rpc() { curl -si -X POST http://%[1]s/greet.v1.GreetService/$1 -H 'Content-Type: application/json' -H 'Connect-Protocol-Version: 1' -d '"you"' "${@:2}"; }
  rpc Greet                                          # 401 unauthenticated
  rpc Greet -H "Authorization: Bearer $MEMBER"
  rpc Reset -H "Authorization: Bearer $MEMBER"       # 403 permission_denied, scope="admin"
  rpc Reset -H "Authorization: Bearer $ADMIN"

Ctrl-C stops it.
`, addr, admin, user)
}

// newAuth returns the demo's identity provider and the example's
// middleware, which trusts it. With a real provider, its keys come from
// bearer.RemoteJWKS(jwksURL) or bearer.Discover(issuerURL) in place of
// issuer.KeySource(), and WithIssuer names its exact iss.
func newAuth() (*bearertest.Issuer, *bearer.Middleware, error) {
	issuer, err := demo.Issuer("connect-example")
	if err != nil {
		return nil, nil, err
	}
	auth, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()),
		bearer.WithAudience("connect-example"),
		bearer.WithRealm("connect-example"))
	if err != nil {
		return nil, nil, err
	}
	return issuer, auth, nil
}
