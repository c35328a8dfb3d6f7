// Package bypasstest holds the requests with which an attacker tries to
// reach a protected route without a token (paths that pass a skip rule by
// one reading and land on a protected route by another, fake CORS
// preflights) and a client that sends them as written, so that the
// net/http middleware and every framework adapter are checked over real
// servers against one list.
package bypasstest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// Public is the prefix the servers under test skip:
// bearer.WithSkip(bearer.SkipPaths(Public)).
const Public = "/healthz"

// The servers of Check route, in their router's syntax:
//
//	GET /healthz              answers PublicBody
//	GET /api/{version}/users  answers ProtectedBody and counts the request
//	GET /files/{path...}      answers ProtectedBody and counts the request
//
// The servers of CheckPreflight route every method of /files/{path...}
// to the counting handler, and have bearer.WithCORSPreflight(CORS).
const (
	PublicBody    = "public"
	ProtectedBody = "protected"
)

// Hostile are request targets that lie under Public by some reading
// (decoded, cleaned, split at ";" or "\") and land on a protected route by
// another. Routers disagree: ServeMux, chi and Echo route on the escaped
// path, Gin on the decoded one, none cleans "..", some servers split
// ";" parameters or read "\" as "/". None of these may skip the token
// check.
var Hostile = []string{
	// Encoded slashes, in upper, lower and mixed case: the path cleans to
	// /healthz/users, the router sees /api/{version}/users or /files/....
	"/api/v1%2F..%2F..%2Fhealthz/users",
	"/api/v1%2f..%2f..%2fhealthz/users",
	"/api/v1%2F..%2f..%2Fhealthz/users",
	"/files/..%2F..%2Fhealthz",
	"/files/..%2f..%2fhealthz",
	// Encoded dots, alone or with encoded slashes, in mixed case.
	"/files/%2E%2E/%2E%2E/healthz",
	"/files/%2e%2E/%2E%2e/healthz",
	"/files/%2E%2E%2F%2E%2E%2Fhealthz",
	"/files/.%2e/.%2E/healthz",
	// Plain dot segments: net/http does not clean request paths, and Gin
	// and Echo route them as they come.
	"/files/../../healthz",
	"/files/./../../healthz",
	"/files/a/../../../healthz",
	"/files/.../healthz",
	// Double slashes.
	"/files//../../healthz",
	"//files/../healthz",
	"/healthz//../files/x",
	// Backslashes, plain and encoded: read as "/" by some servers.
	"/healthz/..\\files\\x",
	"/healthz\\..\\files\\x",
	"/healthz/..%5Cfiles%5Cx",
	"/healthz/..%5cfiles/x",
	// ";" parameters: some servers drop them before they route, so "..;"
	// becomes a dot segment.
	"/healthz/..;/files/x",
	"/healthz;/../files/x",
	"/files/x;/../../healthz",
	"/healthz/%3B/../files/x",
	// An encoded "%": decoded twice, it becomes "../".
	"/healthz/%252e%252e%252ffiles/x",
	"/files/%252e%252e/%252e%252e/healthz",
}

// Answer is what a server answered.
type Answer struct {
	Status int
	Header http.Header
	Body   string
}

// Send sends one request for target, written into the request line byte
// for byte (the Go client would clean or re-escape it), to the server at
// base, with the given header lines ("Name: value").
func Send(t testing.TB, base, method, target string, header ...string) Answer {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := method + " " + target + " HTTP/1.1\r\nHost: " + u.Host + "\r\nConnection: close\r\n"
	for _, h := range header {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Answer{Status: res.StatusCode, Header: res.Header, Body: strings.TrimSpace(string(body))}
}

// Check sends every Hostile target without a token to the server at base
// and requires a 401 for each and no request on the protected routes
// (protected counts them); then it checks that the server works: Public
// is answered without a token, the protected routes with token.
func Check(t *testing.T, base string, protected *atomic.Int64, token string) {
	t.Helper()
	for _, target := range Hostile {
		before := protected.Load()
		got := Send(t, base, http.MethodGet, target)
		if protected.Load() != before {
			t.Errorf("GET %s without a token reached a protected handler (answer %d %q)", target, got.Status, got.Body)
			continue
		}
		if got.Status != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d %q, want 401", target, got.Status, got.Body)
		}
	}
	auth := "Authorization: Bearer " + token
	for _, c := range []struct {
		target string
		header []string
		want   Answer
	}{
		{Public, nil, Answer{Status: 200, Body: PublicBody}},
		{Public + "?probe=/../files/x", nil, Answer{Status: 200, Body: PublicBody}},
		{"/api/v1/users", nil, Answer{Status: 401}},
		{"/api/v1/users", []string{auth}, Answer{Status: 200, Body: ProtectedBody}},
		{"/files/a/b", []string{auth}, Answer{Status: 200, Body: ProtectedBody}},
	} {
		got := Send(t, base, http.MethodGet, c.target, c.header...)
		if got.Status != c.want.Status || c.want.Body != "" && got.Body != c.want.Body {
			t.Errorf("GET %s (with token %t): %d %q, want %d %q", c.target, c.header != nil, got.Status, got.Body, c.want.Status, c.want.Body)
		}
	}
}

// Origin is the origin CORS allows.
const Origin = "https://app.example"

// CORS stands for a CORS handler that answers preflights itself (as
// rs/cors's HandlerFunc does): 204 with Access-Control-Allow-Origin.
var CORS = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", Origin)
	w.WriteHeader(http.StatusNoContent)
})

// CheckPreflight sends a preflight and OPTIONS requests that only look
// like one to /files/x on the server at base: the preflight must be
// answered by CORS, the others with 401, and none may reach the protected
// handler (protected counts its requests), which a request with token
// then reaches.
func CheckPreflight(t *testing.T, base string, protected *atomic.Int64, token string) {
	t.Helper()
	origin, method := "Origin: "+Origin, "Access-Control-Request-Method: GET"
	got := Send(t, base, http.MethodOptions, "/files/x", origin, method)
	if got.Status != http.StatusNoContent || got.Header.Get("Access-Control-Allow-Origin") != Origin {
		t.Errorf("preflight: %d %v, want CORS's 204", got.Status, got.Header)
	}
	for _, header := range [][]string{{origin}, {method}, nil} {
		if got := Send(t, base, http.MethodOptions, "/files/x", header...); got.Status != http.StatusUnauthorized {
			t.Errorf("OPTIONS %v: %d %q, want 401", header, got.Status, got.Body)
		}
	}
	if got := Send(t, base, http.MethodGet, "/files/x", origin, method); got.Status != http.StatusUnauthorized {
		t.Errorf("GET with preflight headers: %d %q, want 401", got.Status, got.Body)
	}
	if n := protected.Load(); n != 0 {
		t.Errorf("%d requests without a token reached the protected handler", n)
	}
	got = Send(t, base, http.MethodGet, "/files/x", "Authorization: Bearer "+token)
	if got.Status != http.StatusOK || got.Body != ProtectedBody || protected.Load() != 1 {
		t.Errorf("GET with token: %d %q, %d requests on the protected handler; want 200 %q, 1", got.Status, got.Body, protected.Load(), ProtectedBody)
	}
}
