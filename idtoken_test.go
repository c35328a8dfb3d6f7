package bearer_test

import (
	"errors"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// TestWithoutIDTokens sends ID tokens and access tokens shaped as
// providers issue them: the ID tokens get 401 invalid_token, the access
// tokens pass, and without the option both pass.
func TestWithoutIDTokens(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.RS256, bearertest.WithAudience("client-123"))
	strict := newMiddleware(t, iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience("client-123"), bearer.WithoutIDTokens())
	lax := newMiddleware(t, iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience("client-123"))
	strictURL, laxURL := serve(t, strict.Handler(whoami)).URL, serve(t, lax.Handler(whoami)).URL
	rows := []struct {
		name   string
		claims bearertest.Claims
		id     bool
	}{
		{"oidc nonce", bearertest.Claims{"nonce": "n-0S6_WzA2Mj"}, true},
		{"google at_hash", bearertest.Claims{"azp": "client-123", "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q", "email": "a@example.com"}, true},
		{"c_hash", bearertest.Claims{"c_hash": "LDktKdoQak3Pk0cnXxCltA"}, true},
		{"s_hash", bearertest.Claims{"s_hash": "x"}, true},
		{"azp is the audience", bearertest.Claims{"azp": "client-123"}, true},
		{"cognito id", bearertest.Claims{"token_use": "id"}, true},
		{"keycloak id", bearertest.Claims{"typ": "ID", "azp": "web"}, true},
		{"auth0 access", bearertest.Claims{"azp": "web-client", "aud": []string{"client-123", "https://tenant.auth0.com/userinfo"}, "scope": "openid"}, false},
		{"keycloak access", bearertest.Claims{"typ": "Bearer", "azp": "web", "realm_access": map[string]any{"roles": []string{"a"}}}, false},
		{"cognito access", bearertest.Claims{"token_use": "access", "client_id": "web"}, false},
		{"null nonce", bearertest.Claims{"nonce": nil}, false},
		{"plain", bearertest.Claims{"scope": "read"}, false},
	}
	for _, r := range rows {
		tok := iss.MustMint(r.claims)
		got := call(t, strictURL, bearerHeader(tok))
		if r.id {
			if got.status != 401 || got.challenge != `Bearer error="invalid_token", error_description="id token not accepted"` {
				t.Errorf("%s: %d %q", r.name, got.status, got.challenge)
			}
			if _, err := strict.Verify(t.Context(), tok); !errors.Is(err, bearer.ErrIDToken) || !errors.Is(err, bearer.ErrInvalidToken) {
				t.Errorf("%s: Verify: %v", r.name, err)
			}
		} else if got.status != 200 {
			t.Errorf("%s: %d %s", r.name, got.status, got.body)
		}
		if got := call(t, laxURL, bearerHeader(tok)); got.status != 200 {
			t.Errorf("%s without the option: %d", r.name, got.status)
		}
	}
}
