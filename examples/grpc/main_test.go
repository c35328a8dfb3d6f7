package main

import (
	"net"
	"strings"
	"testing"

	"github.com/bearerauth/bearer/examples/internal/demo"
)

// TestCalls runs the example's server on a loopback port and its client
// mode against it, as the printed commands do.
func TestCalls(t *testing.T) {
	issuer, auth, err := demo.Auth("grpc-example")
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(auth)
	go srv.Serve(lis)
	defer srv.Stop()
	admin, user := demo.Tokens(issuer)

	for _, c := range []struct{ method, token, want string }{
		{"Hello", "", "Unauthenticated: bearer token required\nwww-authenticate: Bearer realm=\"grpc-example\"\n"},
		{"Hello", "not-a-jwt", "Unauthenticated: malformed token\nwww-authenticate: Bearer realm=\"grpc-example\", error=\"invalid_token\", error_description=\"malformed token\"\n"},
		{"Hello", user, "hello, bob\n"},
		{"Countdown", user, "3, bob\n2, bob\n1, bob\n"},
		{"Admin", user, "PermissionDenied: insufficient scope\nwww-authenticate: Bearer realm=\"grpc-example\", error=\"insufficient_scope\", error_description=\"insufficient scope\", scope=\"admin\"\n"},
		{"Admin", admin, "welcome to the admin area, alice\n"},
	} {
		var out strings.Builder
		if err := call(t.Context(), &out, lis.Addr().String(), c.method, c.token); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
		if out.String() != c.want {
			t.Errorf("%s with %q:\n got %q\nwant %q", c.method, c.token, out.String(), c.want)
		}
	}
	if err := call(t.Context(), new(strings.Builder), lis.Addr().String(), "Nope", user); err == nil {
		t.Error("unknown method: no error")
	}
}
