package bearer_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

func TestResourceMetadata(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	m := newMiddleware(t, iss.KeySource(), anyAudience(bearer.WithIssuer("https://idp.example"),
		bearer.WithRealm("api"),
		bearer.WithResourceMetadata(bearer.ResourceMetadata{
			Resource:        "https://api.example.com/v1",
			ScopesSupported: []string{"orders:read"},
			ResourceName:    "Orders",
		}))...)
	const url = "https://api.example.com/.well-known/oauth-protected-resource/v1"
	if got := m.ResourceMetadataURL(); got != url {
		t.Fatalf("ResourceMetadataURL = %s", got)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+bearer.ResourceMetadataPath+"/v1", m.ResourceMetadataHandler())
	mux.Handle("/v1/", m.Handler(bearer.RequireScopes("orders:read")(whoami)))
	srv := serve(t, mux)

	got := call(t, srv.URL+bearer.ResourceMetadataPath+"/v1", nil)
	if got.status != 200 || got.header.Get("Content-Type") != "application/json" {
		t.Fatalf("metadata: %d %s", got.status, got.header.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(got.body), &doc); err != nil {
		t.Fatal(err)
	}
	want := `{"authorization_servers":["https://idp.example"],"bearer_methods_supported":["header"],"resource":"https://api.example.com/v1","resource_name":"Orders","scopes_supported":["orders:read"]}`
	if b, _ := json.Marshal(doc); string(b) != want {
		t.Errorf("metadata = %s\nwant %s", b, want)
	}

	for _, c := range []struct {
		header    http.Header
		challenge string
	}{
		{nil, `Bearer realm="api", resource_metadata="` + url + `"`},
		{bearerHeader("x.y.z"), `Bearer realm="api", resource_metadata="` + url + `", error="invalid_token", error_description="malformed token"`},
		{bearerHeader(iss.MustMint(bearertest.Claims{"iss": "https://idp.example"})), `Bearer realm="api", resource_metadata="` + url + `", error="insufficient_scope", error_description="insufficient scope", scope="orders:read"`},
	} {
		if got := call(t, srv.URL+"/v1/orders", c.header); got.challenge != c.challenge {
			t.Errorf("challenge = %s\n     want %s", got.challenge, c.challenge)
		}
	}
}

func TestResourceMetadataOff(t *testing.T) {
	m := newMiddleware(t, bearertest.MustIssuer(bearertest.HS256).KeySource(), anyIssuerAnyAudience()...)
	if m.ResourceMetadataURL() != "" {
		t.Error("URL without WithResourceMetadata")
	}
	if got := call(t, serve(t, m.ResourceMetadataHandler()).URL, nil); got.status != 404 {
		t.Errorf("handler without metadata: %d", got.status)
	}
	for _, resource := range []string{"", "api", "http://api.example.com", "https://api.example.com/?q=1", "https://api.example.com/#f", "https://:443/v1"} {
		if _, err := bearer.New(bearer.Secret(make([]byte, 32)), anyIssuerAnyAudience(bearer.WithResourceMetadata(bearer.ResourceMetadata{Resource: resource}))...); err == nil {
			t.Errorf("resource %q accepted", resource)
		}
	}
}

func TestAccessTokenProfile(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.RS256, bearertest.WithAudience("api"))
	m := newMiddleware(t, iss.KeySource(), anyIssuerOnly(bearer.WithAccessTokenProfile(), bearer.WithAudience("api"))...)
	at := map[string]any{"typ": "at+jwt"}
	full := bearertest.Claims{"sub": "alice", "client_id": "web", "jti": "1"}
	verify(t, m, mintHeader(t, iss, at, full))

	// An ID token: right issuer, key and audience, but typ JWT and no
	// client_id.
	idToken := iss.MustMint(bearertest.Claims{"sub": "alice", "nonce": "n", "jti": "2"})
	if _, err := m.Verify(t.Context(), idToken); err == nil {
		t.Error("ID token accepted as an access token")
	}
	for _, claim := range []string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti"} {
		claims := bearertest.Claims{claim: nil}
		for k, v := range full {
			if k != claim {
				claims[k] = v
			}
		}
		if _, err := m.Verify(t.Context(), mintHeader(t, iss, at, claims)); err == nil {
			t.Errorf("token without %s accepted", claim)
		}
	}
	if _, err := bearer.New(iss.KeySource(), bearer.WithAccessTokenProfile()); err == nil {
		t.Error("profile without audience accepted")
	}
	if _, err := bearer.New(iss.KeySource(), anyIssuerOnly(bearer.WithAccessTokenProfile(), bearer.WithAudience("api"), bearer.WithTokenType("JWT"))...); err == nil {
		t.Error("profile with another token type accepted")
	}
}

// TestAccessTokenProfileIssuers: with Issuers, each issuer's own audience
// satisfies RFC 9068 §4; an issuer with none, and no WithAudience, does not.
func TestAccessTokenProfileIssuers(t *testing.T) {
	a := bearertest.MustIssuer(bearertest.ES256, bearertest.WithIssuer("https://a.example"), bearertest.WithAudience("api"))
	b := bearertest.MustIssuer(bearertest.ES256, bearertest.WithIssuer("https://b.example"))
	m := newMiddleware(t, bearer.Issuers(
		bearer.TrustedIssuer{Issuer: a.Issuer(), Keys: a.KeySource(), Audience: []string{"api"}},
		bearer.TrustedIssuer{Issuer: b.Issuer(), Keys: b.KeySource(), Audience: []string{"api"}},
	), bearer.WithAccessTokenProfile())
	claims := bearertest.Claims{"sub": "s", "client_id": "c", "jti": "j"}
	verify(t, m, mintHeader(t, a, map[string]any{"typ": "at+jwt"}, claims))

	_, err := bearer.New(bearer.Issuers(
		bearer.TrustedIssuer{Issuer: a.Issuer(), Keys: a.KeySource(), Audience: []string{"api"}},
		bearer.TrustedIssuer{Issuer: b.Issuer(), Keys: b.KeySource()},
	), bearer.WithAccessTokenProfile())
	if err == nil || !strings.Contains(err.Error(), b.Issuer()) {
		t.Errorf("issuer without audience: %v", err)
	}
}
