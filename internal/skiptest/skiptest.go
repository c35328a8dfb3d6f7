// Package skiptest holds the request paths with which an attacker tries to
// pass a skip rule (bearer.SkipPaths) and reach a protected route, and a
// client that sends them as written, so that the net/http middleware and
// every framework adapter are checked over real servers against one list.
package skiptest

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

// The servers under test route, in their router's syntax:
//
//	GET /healthz              answers "public"
//	GET /api/{version}/users  answers "protected" and counts the request
//	GET /files/{path...}      answers "protected" and counts the request
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
	// Encoded slashes, in upper and lower case: the path cleans to
	// /healthz/users, the router sees /api/{version}/users or /files/....
	"/api/v1%2F..%2F..%2Fhealthz/users",
	"/api/v1%2f..%2f..%2fhealthz/users",
	"/api/v1%2F..%2f..%2Fhealthz/users",
	"/files/..%2F..%2Fhealthz",
	"/files/..%2f..%2fhealthz",
	// Encoded dots and dots with encoded slashes, in mixed case.
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
	// ";" parameters: some servers drop them before they route, so
	// "..;" becomes a dot segment.
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
	Body   string
}

// Send sends one GET for target, written into the request line byte for
// byte (the Go client would clean or re-escape it), to the server at
// base, with the Authorization header when authorization is not "".
func Send(t testing.TB, base, target, authorization string) Answer {
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
	var req strings.Builder
	req.WriteString("GET " + target + " HTTP/1.1\r\nHost: " + u.Host + "\r\nConnection: close\r\n")
	if authorization != "" {
		req.WriteString("Authorization: " + authorization + "\r\n")
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Answer{Status: res.StatusCode, Body: strings.TrimSpace(string(body))}
}

// Check sends every Hostile target without a token to the server at base
// and requires a 401 for each and no request on the protected routes
// (protected counts them); then it checks that the server works: Public
// is answered without a token, the protected routes with token.
func Check(t *testing.T, base string, protected *atomic.Int64, token string) {
	t.Helper()
	for _, target := range Hostile {
		before := protected.Load()
		got := Send(t, base, target, "")
		if protected.Load() != before {
			t.Errorf("GET %s without a token reached a protected handler (answer %d %q)", target, got.Status, got.Body)
			continue
		}
		if got.Status != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d %q, want 401", target, got.Status, got.Body)
		}
	}
	for _, c := range []struct {
		target, authorization string
		want                  Answer
	}{
		{Public, "", Answer{200, PublicBody}},
		{Public + "?probe=1", "", Answer{200, PublicBody}},
		{"/api/v1/users", "", Answer{Status: 401}},
		{"/api/v1/users", "Bearer " + token, Answer{200, ProtectedBody}},
		{"/files/a/b", "Bearer " + token, Answer{200, ProtectedBody}},
	} {
		got := Send(t, base, c.target, c.authorization)
		if got.Status != c.want.Status || c.want.Body != "" && got.Body != c.want.Body {
			t.Errorf("GET %s (authorization %t): %d %q, want %d %q", c.target, c.authorization != "", got.Status, got.Body, c.want.Status, c.want.Body)
		}
	}
}
