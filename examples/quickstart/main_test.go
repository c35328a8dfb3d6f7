package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain runs the command itself, as go run would, when the test
// binary is started with QUICKSTART_ARGS: the tests below check its exit
// status.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("QUICKSTART_ARGS"); ok {
		os.Args = append([]string{"quickstart"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// busyPort returns the address of a port another listener holds.
func busyPort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	return lis.Addr().String()
}

// TestBusyPort: on a port that is taken, the quickstart says why and exits
// with status 1, without announcing that it listens.
func TestBusyPort(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"-addr", busyPort(t)}, &out); err == nil {
		t.Fatal("run on a busy port: no error")
	}
	if out.Len() > 0 {
		t.Errorf("printed on a busy port:\n%s", out.String())
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "QUICKSTART_ARGS=-addr "+busyPort(t))
	output, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("exit: %v, want status 1; output:\n%s", err, output)
	}
	if strings.Contains(string(output), "listening") || !strings.Contains(string(output), "address already in use") {
		t.Errorf("output:\n%s\nwant the error, and no \"listening\"", output)
	}
}

// start runs the demo on a real HTTP server for the test.
func start(t *testing.T) *client {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	a, err := newApp("http://" + srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv.Config.Handler = a.routes()
	srv.Start()
	t.Cleanup(srv.Close)
	return &client{t, srv.URL}
}

type client struct {
	t   *testing.T
	url string
}

// login posts the credentials and returns the status and the token.
func (c *client) login(user, pass string) (int, string) {
	c.t.Helper()
	res, err := http.Post(c.url+"/login", "application/json", strings.NewReader(`{"username":"`+user+`","password":"`+pass+`"}`))
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode == 200 && body.TokenType != "Bearer" {
		c.t.Errorf("token_type %q", body.TokenType)
	}
	return res.StatusCode, body.AccessToken
}

// do sends a request with token and returns the status, the owner or
// subject in the answer, and the WWW-Authenticate challenge.
func (c *client) do(method, path, token string) (int, string, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	json.NewDecoder(res.Body).Decode(&body)
	owner, _ := body["owner"].(string)
	if s, ok := body["subject"].(string); ok {
		owner = s
	}
	return res.StatusCode, owner, res.Header.Get("WWW-Authenticate")
}

// TestFlow runs the demo's flow over real HTTP: log in, call the
// protected endpoints, be refused where the scope is missing.
func TestFlow(t *testing.T) {
	c := start(t)
	if code, _ := c.login("alice", "wrong"); code != 401 {
		t.Errorf("wrong password: %d", code)
	}
	_, alice := c.login("alice", "wonderland")
	_, bob := c.login("bob", "builder")
	cases := []struct {
		method, path, token string
		status              int
		owner               string
	}{
		{"GET", "/public", "", 200, ""},
		{"GET", "/me", "", 401, ""},
		{"GET", "/me", alice, 200, "alice"},
		{"GET", "/notes", bob, 200, "bob"},
		{"POST", "/notes", alice, 201, "alice"},
		{"POST", "/notes", bob, 403, ""},
		{"GET", "/me", alice + "x", 401, ""},
		{"POST", "/logout", "", 401, ""},
		{"POST", "/logout-everywhere", "", 401, ""},
	}
	for _, tc := range cases {
		if code, owner, _ := c.do(tc.method, tc.path, tc.token); code != tc.status || owner != tc.owner {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, code, owner, tc.status, tc.owner)
		}
	}
}

// TestLogout: /logout revokes the token it is called with, and only that
// one; /logout-everywhere revokes every token of the user issued until
// then, and a new login works at once.
func TestLogout(t *testing.T) {
	const revoked = `Bearer realm="quickstart", error="invalid_token", error_description="token revoked"`
	c := start(t)
	want := func(token string, status int, challenge string) {
		t.Helper()
		code, _, got := c.do("GET", "/me", token)
		if code != status || got != challenge {
			t.Errorf("GET /me: %d %q, want %d %q", code, got, status, challenge)
		}
	}
	_, laptop := c.login("alice", "wonderland")
	_, phone := c.login("alice", "wonderland")
	_, bob := c.login("bob", "builder")

	if code, _, _ := c.do("POST", "/logout", laptop); code != 204 {
		t.Fatalf("POST /logout: %d", code)
	}
	want(laptop, 401, revoked)
	want(phone, 200, "")
	if code, _, _ := c.do("POST", "/logout", laptop); code != 401 {
		t.Errorf("POST /logout with a revoked token: %d", code)
	}

	if code, _, _ := c.do("POST", "/logout-everywhere", phone); code != 204 {
		t.Fatalf("POST /logout-everywhere: %d", code)
	}
	want(phone, 401, revoked)
	want(bob, 200, "")
	_, again := c.login("alice", "wonderland")
	want(again, 200, "")
}
