package bearertest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/bearerauth/bearer"
)

// IntrospectionPath is where a Server answers token introspection
// requests (RFC 7662).
const IntrospectionPath = "/oauth2/introspect"

// introspection is the state of a Server's introspection endpoint.
type introspection struct {
	mu       sync.Mutex
	tokens   map[string]Claims // opaque token -> its answer
	clientID string
	secret   string
	key      crypto.PublicKey // private_key_jwt
	last     string           // how the last request authenticated
}

// MintOpaque returns a new opaque token (random, not a JWT) that the
// introspection endpoint answers active with claims over the defaults
// Mint uses (iss, aud, iat, exp) plus "active": true and "token_type":
// "Bearer". A claim set to nil removes its default; "active" may be
// overridden too.
func (s *Server) MintOpaque(claims Claims) string {
	var b [24]byte
	rand.Read(b[:])
	tok := "op_" + base64.RawURLEncoding.EncodeToString(b[:])
	answer := Claims{"active": true, "token_type": "Bearer"}
	maps.Copy(answer, s.Issuer.withDefaults(claims))
	if v, ok := claims["active"]; ok {
		answer["active"] = v
	}
	s.intro.mu.Lock()
	s.intro.tokens[tok] = answer
	s.intro.mu.Unlock()
	return tok
}

// Deactivate makes the introspection endpoint answer token inactive, as a
// server does once a token is revoked.
func (s *Server) Deactivate(token string) {
	s.intro.mu.Lock()
	delete(s.intro.tokens, token)
	s.intro.mu.Unlock()
}

// RequireClientSecret makes the introspection endpoint answer only a
// client that authenticates as id with secret, by client_secret_basic or
// client_secret_post; others get 401.
func (s *Server) RequireClientSecret(id, secret string) {
	s.intro.mu.Lock()
	s.intro.clientID, s.intro.secret, s.intro.key = id, secret, nil
	s.intro.mu.Unlock()
}

// RequireClientKey makes the introspection endpoint answer only a client
// that authenticates as id with a client assertion signed by the private
// half of key (private_key_jwt); others get 401. The assertion's aud must
// be the issuer or the endpoint's URL.
func (s *Server) RequireClientKey(id string, key crypto.PublicKey) {
	s.intro.mu.Lock()
	s.intro.clientID, s.intro.secret, s.intro.key = id, "", key
	s.intro.mu.Unlock()
}

// ClientAuthentication returns how the last introspection request
// authenticated: "client_secret_basic", "client_secret_post",
// "private_key_jwt", or "" for none or a failed one.
func (s *Server) ClientAuthentication() string {
	s.intro.mu.Lock()
	defer s.intro.mu.Unlock()
	return s.intro.last
}

func (s *Server) serveIntrospection(_ *Endpoint, w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("token") == "" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	s.intro.mu.Lock()
	method, ok := s.authenticate(r)
	s.intro.last = method
	answer, known := s.intro.tokens[r.PostForm.Get("token")]
	answer = maps.Clone(answer)
	s.intro.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="introspection"`)
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	if !known {
		answer = Claims{"active": false}
	}
	body, _ := json.Marshal(answer)
	if strings.Contains(r.Header.Get("Accept"), "application/token-introspection+jwt") {
		// RFC 9701: the answer, signed by the issuer, for the client.
		payload, _ := json.Marshal(map[string]any{
			"iss": s.Issuer.Issuer(), "aud": s.intro.clientID, "iat": s.Issuer.clock().Unix(),
			"token_introspection": json.RawMessage(body),
		})
		jwt, err := s.Issuer.Sign(map[string]any{"typ": "token-introspection+jwt"}, payload)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/token-introspection+jwt")
		w.Write([]byte(jwt))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// authenticate checks the client of r against what RequireClientSecret
// or RequireClientKey asked for; s.intro.mu is held.
func (s *Server) authenticate(r *http.Request) (string, bool) {
	in := &s.intro
	if id, secret, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		return "client_secret_basic", in.secret != "" && id == in.clientID && subtle.ConstantTimeCompare([]byte(secret), []byte(in.secret)) == 1
	}
	if secret := r.PostForm.Get("client_secret"); secret != "" {
		return "client_secret_post", in.secret != "" && r.PostForm.Get("client_id") == in.clientID && subtle.ConstantTimeCompare([]byte(secret), []byte(in.secret)) == 1
	}
	if assertion := r.PostForm.Get("client_assertion"); assertion != "" {
		ok := in.key != nil &&
			r.PostForm.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" &&
			s.checkAssertion(assertion, in.clientID, in.key)
		return "private_key_jwt", ok
	}
	return "", in.clientID == ""
}

// checkAssertion verifies a client assertion with bearer itself: signed
// by key, iss and sub the client, aud the issuer or the endpoint.
func (s *Server) checkAssertion(assertion, id string, key crypto.PublicKey) bool {
	m, err := bearer.New(bearer.PublicKey(key), bearer.WithIssuer(id),
		bearer.WithAudience(s.Issuer.Issuer(), s.IntrospectionURL), bearer.WithRequiredClaims("jti"))
	if err != nil {
		return false
	}
	defer m.Close()
	t, err := m.Verify(context.Background(), assertion)
	return err == nil && t.Subject() == id
}
