package bearertest

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// DPoPKey is a client's proof-of-possession key (RFC 9449): it binds access
// tokens to itself and signs a fresh proof for each request.
//
//	key := bearertest.MustDPoPKey(bearertest.ES256)
//	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})
//	req.Header.Set("Authorization", "DPoP "+tok)
//	req.Header.Set("DPoP", key.MustProof("GET", "https://api.example.com/orders", tok))
type DPoPKey struct {
	alg        Algorithm
	private    crypto.Signer
	public     jwk.Key
	thumbprint string
	clock      func() time.Time
}

// NewDPoPKey generates a DPoP key for alg (an asymmetric algorithm).
func NewDPoPKey(alg Algorithm, opts ...Option) (*DPoPKey, error) {
	k, err := generate(alg)
	if err != nil {
		return nil, err
	}
	signer, ok := k.private.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("bearertest: DPoP needs an asymmetric algorithm, not %s", alg)
	}
	cfg := Issuer{clock: time.Now}
	for _, opt := range opts {
		opt(&cfg)
	}
	pub, err := jwk.Import(signer.Public())
	if err != nil {
		return nil, err
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &DPoPKey{alg: alg, private: signer, public: pub, thumbprint: base64.RawURLEncoding.EncodeToString(tp), clock: cfg.clock}, nil
}

// MustDPoPKey is NewDPoPKey for tests: it panics on error.
func MustDPoPKey(alg Algorithm, opts ...Option) *DPoPKey {
	k, err := NewDPoPKey(alg, opts...)
	if err != nil {
		panic(err)
	}
	return k
}

// Thumbprint returns the key's RFC 7638 SHA-256 thumbprint.
func (k *DPoPKey) Thumbprint() string { return k.thumbprint }

// JWK returns the public key as a JWK, as the proofs carry it.
func (k *DPoPKey) JWK() json.RawMessage {
	b, err := json.Marshal(k.public)
	if err != nil {
		panic(err) // a key we made ourselves always marshals
	}
	return b
}

// PrivateJWK returns the private key as a JWK. A proof must never carry
// it; tests use it to check that such proofs are refused.
func (k *DPoPKey) PrivateJWK() json.RawMessage {
	key, err := jwk.Import(k.private)
	if err != nil {
		panic(err)
	}
	b, err := json.Marshal(key)
	if err != nil {
		panic(err)
	}
	return b
}

// Confirmation returns the cnf claim that binds a token to the key:
// {"jkt": thumbprint} (RFC 9449 §6.1).
func (k *DPoPKey) Confirmation() map[string]any { return map[string]any{"jkt": k.thumbprint} }

// ProofClaims returns the claims of a proof for a request with method to
// url, presenting accessToken: a random jti, htm, htu, iat (now) and ath.
// Change them and sign with ProofWith to build proofs that should fail.
func (k *DPoPKey) ProofClaims(method, url, accessToken string) Claims {
	jti := make([]byte, 16)
	rand.Read(jti)
	sum := sha256.Sum256([]byte(accessToken))
	c := Claims{
		"jti": base64.RawURLEncoding.EncodeToString(jti),
		"htm": method,
		"htu": url,
		"iat": k.clock().Unix(),
	}
	if accessToken != "" {
		c["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return c
}

// Proof returns a DPoP proof for a request with method to url presenting
// accessToken.
func (k *DPoPKey) Proof(method, url, accessToken string) (string, error) {
	return k.ProofWith(nil, k.ProofClaims(method, url, accessToken))
}

// MustProof is Proof for tests: it panics on error.
func (k *DPoPKey) MustProof(method, url, accessToken string) string {
	p, err := k.Proof(method, url, accessToken)
	if err != nil {
		panic(err)
	}
	return p
}

// ProofWith signs claims as a proof, with the header typ "dpop+jwt", alg
// and jwk (the public key) plus header; a header parameter set to nil is
// removed.
func (k *DPoPKey) ProofWith(header map[string]any, claims Claims) (string, error) {
	hdrs := jws.NewHeaders()
	hdrs.Set(jws.TypeKey, "dpop+jwt")
	hdrs.Set(jws.JWKKey, k.public)
	for name, v := range header {
		if name == jws.JWKKey && v != nil {
			// Any JSON form of a key: tests embed keys that do not match.
			b, err := json.Marshal(v)
			if err != nil {
				return "", fmt.Errorf("bearertest: header jwk: %w", err)
			}
			if v, err = jwk.ParseKey(b); err != nil {
				return "", fmt.Errorf("bearertest: header jwk: %w", err)
			}
		}
		if v == nil {
			hdrs.Remove(name)
		} else if err := hdrs.Set(name, v); err != nil {
			return "", fmt.Errorf("bearertest: header %q: %w", name, err)
		}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("bearertest: claims: %w", err)
	}
	alg, _ := jwa.LookupSignatureAlgorithm(string(k.alg))
	tok, err := jws.Sign(payload, jws.WithKey(alg, k.private, jws.WithProtectedHeaders(hdrs)))
	if err != nil {
		return "", fmt.Errorf("bearertest: sign: %w", err)
	}
	return string(tok), nil
}
