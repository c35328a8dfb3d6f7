package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/bearerauth/bearer/examples/internal/demo"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestClient calls the service with Connect clients in each protocol (gRPC
// over HTTP/2), and as curl does, without the Connect protocol header.
func TestClient(t *testing.T) {
	issuer, auth, err := newAuth()
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	srv := httptest.NewUnstartedServer(routes(auth))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	admin, member := demo.Tokens(issuer)

	for protocol, opts := range map[string][]connect.ClientOption{
		"connect": nil, "grpc": {connect.WithGRPC()}, "grpc-web": {connect.WithGRPCWeb()},
	} {
		call := func(procedure, token string) (string, *connect.Error, http.Header) {
			ctx, info := connect.NewClientContext(t.Context())
			req := connect.NewRequest(wrapperspb.String("you"))
			if token != "" {
				req.Header().Set("Authorization", "Bearer "+token)
			}
			res, err := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](srv.Client(), srv.URL+procedure, opts...).CallUnary(ctx, req)
			if err != nil {
				var ce *connect.Error
				if !errors.As(err, &ce) {
					t.Fatalf("%s: %v", protocol, err)
				}
				return "", ce, info.ResponseHeader()
			}
			return res.Msg.GetValue(), nil, nil
		}
		if got, ce, _ := call(GreetProcedure, member); ce != nil || got != "hello you, you are bob" {
			t.Errorf("%s: Greet as member: %q, %v", protocol, got, ce)
		}
		if got, ce, _ := call(ResetProcedure, admin); ce != nil || got != "reset by alice" {
			t.Errorf("%s: Reset as admin: %q, %v", protocol, got, ce)
		}
		for _, c := range []struct {
			procedure, token string
			code             connect.Code
			challenge        string
		}{
			{GreetProcedure, "", connect.CodeUnauthenticated, `Bearer realm="connect-example"`},
			{GreetProcedure, "not-a-jwt", connect.CodeUnauthenticated, `Bearer realm="connect-example", error="invalid_token", error_description="malformed token"`},
			{ResetProcedure, member, connect.CodePermissionDenied, `Bearer realm="connect-example", error="insufficient_scope", error_description="insufficient scope", scope="admin"`},
		} {
			_, ce, header := call(c.procedure, c.token)
			if ce == nil || ce.Code() != c.code || header.Get("WWW-Authenticate") != c.challenge {
				t.Errorf("%s: %s with %.10q: %v, challenge %s", protocol, c.procedure, c.token, ce, header.Get("WWW-Authenticate"))
			}
		}
	}

	// Not a Connect client: the RFC 6750 answer.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+GreetProcedure, strings.NewReader(`"you"`))
	req.Header.Set("Content-Type", "application/json")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != `Bearer realm="connect-example"` ||
		res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("plain POST: %d %v", res.StatusCode, res.Header)
	}
}
