package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/examples/internal/demo"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// wire is an http.RoundTripper that sends a token and keeps the last
// answer with each status, as a user looking at the wire would.
type wire struct {
	token string
	mu    sync.Mutex
	seen  map[int]http.Header
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if w.token != "" {
		r.Header.Set("Authorization", "Bearer "+w.token)
	}
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		w.mu.Lock()
		w.seen[res.StatusCode] = res.Header
		w.mu.Unlock()
	}
	return res, err
}

func (w *wire) challenge(status int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[status].Get("WWW-Authenticate")
}

// TestClient runs a real go-sdk client against the example: with the
// admin token, a member token, a token for another server, and none.
func TestClient(t *testing.T) {
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer srv.Close()
	resource := srv.URL + "/mcp"
	issuer := bearertest.MustIssuer(bearertest.ES256, bearertest.WithAudience(resource))
	auth, h, err := newServer(issuer, resource)
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	metadata := srv.URL + bearer.ResourceMetadataPath + "/mcp"
	admin, member := demo.Tokens(issuer)

	connect := func(token string) (*mcp.ClientSession, *wire, error) {
		w := &wire{token: token, seen: map[int]http.Header{}}
		client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "v1"}, nil)
		cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{
			Endpoint: resource, HTTPClient: &http.Client{Transport: w}, MaxRetries: -1, DisableStandaloneSSE: true,
		}, nil)
		return cs, w, err
	}
	call := func(cs *mcp.ClientSession, tool string) (string, error) {
		res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool})
		if err != nil {
			return "", err
		}
		return res.Content[0].(*mcp.TextContent).Text, nil
	}

	t.Run("allowed", func(t *testing.T) {
		cs, _, err := connect(admin)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		if got, err := call(cs, "whoami"); err != nil || got != "alice, scopes [admin]" {
			t.Errorf("whoami: %q, %v", got, err)
		}
		if got, err := call(cs, "reset"); err != nil || got != "reset 1 by alice" {
			t.Errorf("reset: %q, %v", got, err)
		}
	})
	t.Run("missing scope", func(t *testing.T) {
		cs, w, err := connect(member)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		if got, err := call(cs, "whoami"); err != nil || got != "bob, scopes [profile]" {
			t.Errorf("whoami: %q, %v", got, err)
		}
		if got, err := call(cs, "reset"); err == nil {
			t.Fatalf("reset without the admin scope: %q", got)
		}
		want := `Bearer resource_metadata="` + metadata + `", error="insufficient_scope", error_description="insufficient scope", scope="admin"`
		if got := w.challenge(http.StatusForbidden); got != want {
			t.Errorf("403 challenge %s\nwant          %s", got, want)
		}
	})
	for name, c := range map[string]struct{ token, challenge string }{
		"wrong audience": {issuer.MustMint(bearertest.Claims{"sub": "alice", "scope": "admin", "aud": "https://other.example/mcp"}),
			`Bearer resource_metadata="` + metadata + `", error="invalid_token", error_description="audience not accepted"`},
		"no token": {"", `Bearer resource_metadata="` + metadata + `"`},
	} {
		t.Run(name, func(t *testing.T) {
			cs, w, err := connect(c.token)
			if err == nil {
				cs.Close()
				t.Fatal("connected")
			}
			if got := w.challenge(http.StatusUnauthorized); got != c.challenge {
				t.Errorf("401 challenge %s\nwant          %s", got, c.challenge)
			}
		})
	}
	t.Run("metadata", func(t *testing.T) {
		res, err := http.Get(metadata)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var md bearer.ResourceMetadata
		if err := json.NewDecoder(res.Body).Decode(&md); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%d, %v", res.StatusCode, err)
		}
		if md.Resource != resource || strings.Join(md.AuthorizationServers, " ") != issuer.Issuer() ||
			strings.Join(md.ScopesSupported, " ") != "admin" {
			t.Errorf("metadata %+v", md)
		}
	})
}
