package bearer_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// lockedBuffer is a log sink safe for the source's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Plain http to a host that is not loopback (Keycloak at
// http://keycloak:8080 in docker-compose) is refused unless
// RemoteInsecureHTTPForDevelopment says so, and then every such fetch logs a
// warning.
func TestInsecureHTTPForDevelopment(t *testing.T) {
	srv := bearertest.NewServer(bearertest.RS256, bearertest.WithIssuer("http://keycloak:8080/realms/acme"))
	defer srv.Close()
	// "keycloak:8080" reaches the test server, as docker-compose's DNS would.
	var mu sync.Mutex
	addr := strings.TrimPrefix(srv.URL, "http://")
	transport := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		mu.Lock()
		to := addr
		mu.Unlock()
		return (&net.Dialer{}).DialContext(ctx, network, to)
	}}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	const jwks = "http://keycloak:8080" + bearertest.JWKSPath
	opts := func(log *lockedBuffer) []bearer.Option {
		return []bearer.Option{bearer.WithLogger(slog.New(slog.NewTextHandler(log, nil))),
			bearer.WithIssuer("http://keycloak:8080/realms/acme"), bearer.WithAudience(bearertest.DefaultAudience)}
	}

	_, err := bearer.New(bearer.RemoteJWKS(jwks, bearer.RemoteHTTPClient(client)), opts(&lockedBuffer{})...)
	if !errors.Is(err, bearer.ErrInsecureURL) {
		t.Fatalf("plain http to keycloak:8080 without the opt-in: %v", err)
	}

	var log lockedBuffer
	m := newMiddleware(t, bearer.RemoteJWKS(jwks, bearer.RemoteHTTPClient(client), bearer.RemoteInsecureHTTPForDevelopment()), opts(&log)...)
	if err := readyWithin(m); err != nil {
		t.Fatal(err)
	}
	if err := m.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "alice"})), "alice")
	warnings := strings.Count(log.String(), "level=WARN msg=\"bearer: fetching over plain http")
	if n := srv.Keys.Requests(); n != 2 || warnings != n {
		t.Errorf("%d fetches, %d warnings; want a warning for each of 2 fetches\n%s", n, warnings, log.String())
	}

	// Discover of an http issuer: the discovery document's fetch warns too.
	idp := bearertest.NewServer(bearertest.RS256, bearertest.WithIssuer("http://keycloak:8080"))
	defer idp.Close()
	transport.CloseIdleConnections()
	mu.Lock()
	addr = strings.TrimPrefix(idp.URL, "http://")
	mu.Unlock()
	idp.Discovery.Serve([]byte(`{"issuer":"http://keycloak:8080","jwks_uri":"` + jwks + `"}`))
	var dlog lockedBuffer
	d := newMiddleware(t, bearer.Discover("http://keycloak:8080", bearer.RemoteHTTPClient(client), bearer.RemoteInsecureHTTPForDevelopment()),
		bearer.WithLogger(slog.New(slog.NewTextHandler(&dlog, nil))), bearer.WithAudience(bearertest.DefaultAudience))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := d.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v\n%s", err, dlog.String())
	}
	wantOK(t, send(d, idp.MustMint(bearertest.Claims{"sub": "bob"})), "bob")
	if w := strings.Count(dlog.String(), "fetching over plain http"); w != 2 {
		t.Errorf("Discover: %d warnings, want 2 (discovery and keys)\n%s", w, dlog.String())
	}
}

func readyWithin(m *bearer.Middleware) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return m.Ready(ctx)
}
