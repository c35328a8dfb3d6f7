package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bearerauth/bearer/bearertest"
)

// TestProduction runs the example's routes over real HTTP, with both
// providers' tokens, and checks the metrics they leave.
func TestProduction(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	a, err := newApp(slog.New(slog.DiscardHandler), "http://"+srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.auth.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.routes()
	srv.Start()
	defer srv.Close()

	reader := a.company.MustMint(bearertest.Claims{"sub": "alice", "scope": "orders:read"})
	writer := a.company.MustMint(bearertest.Claims{"sub": "alice", "scope": "orders:read orders:write"})
	partner := a.partner.MustMint(bearertest.Claims{"sub": "bot", "scope": "orders:read"})
	// A partner token for the company's audience: refused.
	wrongAud := a.partner.MustMint(bearertest.Claims{"sub": "bot", "aud": audience})
	stranger := bearertest.NewServer(bearertest.ES256, bearertest.WithAudience(audience))
	defer stranger.Close()

	metadata := srv.URL + "/.well-known/oauth-protected-resource"
	res, err := http.Get(srv.URL + "/.well-known/oauth-protected-resource")
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Servers []string `json:"authorization_servers"`
	}
	json.NewDecoder(res.Body).Decode(&md)
	res.Body.Close()
	if len(md.Servers) != 2 || !slices.Contains(md.Servers, a.company.URL) || !slices.Contains(md.Servers, a.partner.URL) {
		t.Errorf("authorization_servers = %v", md.Servers)
	}

	cases := []struct {
		method, path, token string
		status              int
		challenge, body     string
	}{
		{"GET", "/healthz", "", 200, "", "ok"},
		{"GET", "/readyz", "", 200, "", "ready"},
		{"GET", "/catalog", "", 200, "", `"for":"guest"`},
		{"GET", "/catalog", reader, 200, "", `"for":"alice"`},
		{"GET", "/catalog", "garbage", 401, `Bearer realm="orders", resource_metadata="` + metadata + `", error="invalid_token", error_description="malformed token"`, ""},
		{"GET", "/orders", "", 401, `Bearer realm="orders", resource_metadata="` + metadata + `"`, ""},
		{"GET", "/orders", reader, 200, "", `"issuer":"` + a.company.URL + `"`},
		{"GET", "/orders", partner, 200, "", `"owner":"bot"`},
		{"GET", "/orders", wrongAud, 401, `Bearer realm="orders", resource_metadata="` + metadata + `", error="invalid_token", error_description="audience not accepted"`, ""},
		{"GET", "/orders", stranger.MustMint(nil), 401, `Bearer realm="orders", resource_metadata="` + metadata + `", error="invalid_token", error_description="issuer not accepted"`, ""},
		{"POST", "/orders", reader, 403, `Bearer realm="orders", resource_metadata="` + metadata + `", error="insufficient_scope", error_description="insufficient scope", scope="orders:write"`, ""},
		{"POST", "/orders", writer, 201, "", `"placed":true`},
		{"GET", "/.well-known/oauth-protected-resource", "", 200, "", `"scopes_supported":["orders:read","orders:write"]`},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || res.Header.Get("WWW-Authenticate") != c.challenge || !strings.Contains(string(body), c.body) {
			t.Errorf("%s %s: %d %q %s", c.method, c.path, res.StatusCode, res.Header.Get("WWW-Authenticate"), body)
		}
	}

	res, err = http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var metrics map[string]map[string]float64
	if err := json.NewDecoder(res.Body).Decode(&metrics); err != nil {
		t.Fatal(err)
	}
	tokens := metrics["bearer.tokens"]
	// Five requests with a valid token (the 403 had one too): reader,
	// partner and writer verified afresh, reader twice more from the
	// verified-token cache.
	if tokens["bearer.cached=false,bearer.outcome=verified"] != 3 || tokens["bearer.cached=true,bearer.outcome=verified"] != 2 {
		t.Errorf("verified tokens: %v", tokens)
	}
	if tokens["bearer.error=invalid_token,bearer.outcome=rejected,bearer.reason=audience not accepted"] != 1 {
		t.Errorf("rejected tokens: %v", tokens)
	}
	if len(metrics["bearer.key.fetches"]) == 0 {
		t.Errorf("no key fetches recorded: %v", metrics)
	}
}
