package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/bearerauth/bearer/examples/internal/demo"
)

// TestMain runs the command itself, as go run would, when the test
// binary is started with GRPC_EXAMPLE_ARGS: TestClientExitStatus checks its
// exit status.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("GRPC_EXAMPLE_ARGS"); ok {
		os.Args = append([]string{"grpc"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestClientExitStatus: the client exits with status 1 when its call is
// refused or cannot be made, 0 when it succeeds, so that scripts can tell.
func TestClientExitStatus(t *testing.T) {
	addr, _, user := start(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()

	for _, c := range []struct {
		args   string
		status int
		output string
	}{
		{"-addr " + addr + " -call Hello -token " + user, 0, "hello, bob"},
		{"-addr " + addr + " -call Hello", 1, "Unauthenticated: bearer token required"},
		{"-addr " + addr + " -call Admin -token " + user, 1, "PermissionDenied"},
		{"-addr " + closed.Addr().String() + " -call Hello -token " + user, 1, "Unavailable"},
		{"-addr " + addr + " -call Nope", 1, `no method "Nope"`},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "GRPC_EXAMPLE_ARGS="+c.args)
		output, err := cmd.CombinedOutput()
		status := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			status = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if status != c.status || !strings.Contains(string(output), c.output) {
			t.Errorf("%s: status %d, output %q; want %d with %q", strings.Fields(c.args)[3], status, output, c.status, c.output)
		}
	}
}

// start serves the example on a loopback port for the test, and returns
// its address and the demo's tokens.
func start(t *testing.T) (addr, admin, user string) {
	t.Helper()
	issuer, auth, err := newAuth()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(auth)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	admin, user = demo.Tokens(issuer)
	return lis.Addr().String(), admin, user
}

// TestCalls runs the example's server on a loopback port and its client
// mode against it, as the printed commands do.
func TestCalls(t *testing.T) {
	addr, admin, user := start(t)

	for _, c := range []struct {
		method, token, want string
		refused             bool
	}{
		{"Hello", "", "Unauthenticated: bearer token required\nwww-authenticate: Bearer realm=\"grpc-example\"\n", true},
		{"Hello", "not-a-jwt", "Unauthenticated: malformed token\nwww-authenticate: Bearer realm=\"grpc-example\", error=\"invalid_token\", error_description=\"malformed token\"\n", true},
		{"Hello", user, "hello, bob\n", false},
		{"Countdown", user, "3, bob\n2, bob\n1, bob\n", false},
		{"Admin", user, "PermissionDenied: insufficient scope\nwww-authenticate: Bearer realm=\"grpc-example\", error=\"insufficient_scope\", error_description=\"insufficient scope\", scope=\"admin\"\n", true},
		{"Admin", admin, "welcome to the admin area, alice\n", false},
	} {
		var out strings.Builder
		if err := call(t.Context(), &out, addr, c.method, c.token); errors.Is(err, errRefused) != c.refused || err != nil && !c.refused {
			t.Fatalf("%s: %v, want refused %v", c.method, err, c.refused)
		}
		if out.String() != c.want {
			t.Errorf("%s with %q:\n got %q\nwant %q", c.method, c.token, out.String(), c.want)
		}
	}
	if err := call(t.Context(), new(strings.Builder), addr, "Nope", user); err == nil {
		t.Error("unknown method: no error")
	}
}
