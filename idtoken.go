package bearer

import (
	"errors"
	"slices"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// ErrIDToken: the token is an OpenID Connect ID token, refused by
// WithoutIDTokens. An ID token tells a client who signed in; it is no
// access token, however well it verifies.
var ErrIDToken = errors.New("bearer: ID token offered as an access token")

var errIDToken = invalidToken(ErrIDToken, "id token not accepted")

// WithoutIDTokens refuses OpenID Connect ID tokens offered as access tokens
// (401 invalid_token, ErrIDToken). Providers that sign both kinds with the
// same keys and do not type their access tokens at+jwt (RFC 9068) issue
// ID tokens that pass every other check wherever the audience configured
// is the client's id: one app registration for both the client and the
// API (Entra ID), Google's ID tokens, Cognito (whose access tokens carry
// no aud, so the audience check is waived). WithAccessTokenProfile makes
// this option redundant; use this one where the profile refuses the
// provider's access tokens.
//
// A token counts as an ID token when it has any of the members only ID
// tokens carry: nonce, at_hash, c_hash or s_hash (OpenID Connect Core
// §2, §3.3.2.11); when its azp is one of its audiences (an ID token's
// audience is the client it was issued to, an access token's the API);
// or when its provider labels it so: token_use "id" (Cognito) or typ
// "ID" (Keycloak's typ claim, not the header).
//
// The check reads the token's bytes only, so it runs once per token, with
// the claim checks, and not again on the verified-token cache's hits.
func WithoutIDTokens() Option {
	return func(m *Middleware) error {
		m.refuseIDTokens = true
		return nil
	}
}

// isIDToken reports whether the claims of t mark an ID token.
func isIDToken(t *Token) bool {
	var s strictjson.Scanner
	if !s.Reset(t.payload) {
		return false // readClaims refused it already
	}
	for {
		name, v, _, ok := s.Next()
		if !ok {
			return false
		}
		switch name {
		case "nonce", "at_hash", "c_hash", "s_hash":
			if v != "null" {
				return true
			}
		case "azp":
			if azp, ok := strictjson.String(v); ok && slices.Contains(t.aud, azp) {
				return true
			}
		case "token_use":
			if v == `"id"` {
				return true
			}
		case "typ":
			if v == `"ID"` {
				return true
			}
		}
	}
}
