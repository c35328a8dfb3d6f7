// Package bearer protects HTTP services with JWT bearer tokens (RFC 6750,
// RFC 7519, RFC 9068).
//
// A Middleware reads the token from each request, verifies it with a
// KeySource (a shared secret, a public key, a JWKS document or a remote JWKS
// endpoint) and puts the verified *Token into the request's context, where
// handlers read it with FromContext, Subject, Scopes and ClaimsFrom. Failures
// get the answers RFC 6750 §3 prescribes: 401 with a WWW-Authenticate
// challenge, 400 for malformed requests, 403 for missing scopes, 503 when no
// keys can be had.
//
// Verification follows RFC 8725: the key, never the token, decides the
// algorithm; "none" is always refused; only the JWS compact serialization
// with strict base64url is accepted; an unknown crit header is refused; keys
// are never taken from the token's own jku, x5u, jwk or x5c headers; exp is
// required, and every NumericDate must be a JSON number.
package bearer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Defaults.
const (
	// DefaultLeeway absorbs clock skew between issuer and server when exp,
	// nbf and iat are checked.
	DefaultLeeway = 30 * time.Second
	// DefaultMaxTokenSize bounds the token before any parsing. Ordinary
	// access tokens are 1-2 KiB; 8 KiB also fits large Entra ID tokens.
	DefaultMaxTokenSize = 8 << 10
)

// Middleware verifies bearer tokens. It is safe for concurrent use and
// immutable after New.
type Middleware struct {
	keys           keyStore
	env            sourceEnv // what options tell the key source
	allow          algSet
	extract        Extractor
	onError        ErrorHandler
	realm          string
	issuers        []string
	audiences      []string
	leeway         time.Duration
	clock          func() time.Time
	tokenType      string
	maxSize        int
	requiredClaims []string
	validators     []func(context.Context, *Token) error
	expiryOptional bool
	optional       bool
	cacheEntries   int
	cache          *tokenCache // nil when disabled
}

// New returns a Middleware that verifies tokens with the keys of keys. A bad
// configuration is an error, never a panic. Call Close when done with it: a
// remote key source runs in the background.
func New(keys KeySource, opts ...Option) (*Middleware, error) {
	if keys == nil {
		return nil, errors.New("bearer: nil KeySource")
	}
	m := &Middleware{
		allow:   hmacAlgs | asymmetricAlgs,
		extract: authorizationHeader,
		leeway:  DefaultLeeway,
		clock:   time.Now,
		maxSize: DefaultMaxTokenSize,

		cacheEntries: DefaultTokenCacheEntries,
	}
	m.onError = m.WriteError
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(m); err != nil {
			return nil, err
		}
	}
	if m.env.allow != 0 {
		m.allow = m.env.allow
	}
	store, err := keys.open(m.env)
	if err != nil {
		return nil, fmt.Errorf("bearer: key source: %w", err)
	}
	m.keys = store
	if m.cacheEntries > 0 {
		m.cache = newTokenCache(m.cacheEntries)
	}
	return m, nil
}

// Handler returns next wrapped: requests with a valid token reach next with
// the token in their context; others get the error answer.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := m.Authenticate(r)
		switch {
		case err == nil:
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), t)))
		case m.optional && errors.Is(err, ErrNoToken):
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), anonymousKey{}, m)))
		default:
			m.onError(w, r, err)
		}
	})
}

// Authenticate extracts the token from r and verifies it. It writes
// nothing; adapters and custom handlers answer with WriteError. Every error
// is an *Error wrapping a sentinel.
func (m *Middleware) Authenticate(r *http.Request) (*Token, error) {
	raw, err := m.extract(r)
	if err != nil {
		return nil, errorFrom(err)
	}
	return m.Verify(r.Context(), raw)
}

// Close stops the key source's background work and waits for it.
func (m *Middleware) Close() error {
	return m.keys.close()
}
