// Package bearertest is a test kit for services protected by bearer: an
// in-process token issuer with generated keys, that mints signed tokens and
// publishes its public keys as a JWKS document.
//
// Tokens are signed with github.com/lestrrat-go/jwx/v3, independently of the
// verifier under test. Keys are generated on the fly: never use an Issuer
// outside tests and demos.
package bearertest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Algorithm is the signature algorithm an Issuer signs with.
type Algorithm string

// The algorithms an Issuer can sign with; each generates its own kind of key.
const (
	HS256 Algorithm = "HS256" // 32-byte random secret
	HS384 Algorithm = "HS384" // 48-byte random secret
	HS512 Algorithm = "HS512" // 64-byte random secret
	RS256 Algorithm = "RS256" // RSA 2048
	PS256 Algorithm = "PS256" // RSA 2048
	ES256 Algorithm = "ES256" // ECDSA P-256
	ES384 Algorithm = "ES384" // ECDSA P-384
	ES512 Algorithm = "ES512" // ECDSA P-521
	EdDSA Algorithm = "EdDSA" // Ed25519
)

// Defaults of a new Issuer.
const (
	DefaultIssuer   = "https://issuer.bearertest.example"
	DefaultAudience = "bearertest"
	DefaultTTL      = time.Hour
)

// Claims is a JWT claims set. In Mint, a claim set to nil removes the
// default of that name.
type Claims map[string]any

// Issuer mints tokens signed with its current key and publishes all its
// keys. It is safe for concurrent use.
type Issuer struct {
	alg      Algorithm
	iss      string
	audience []string
	ttl      time.Duration
	clock    func() time.Time

	mu   sync.RWMutex
	keys []*signingKey // published keys; the last one signs

	inMemory bool // NewServer: serve over in-memory connections
}

type signingKey struct {
	kid     string
	private any // []byte for HMAC
	public  jwk.Key
}

// An Option configures an Issuer.
type Option func(*Issuer)

// WithIssuer sets the iss claim of minted tokens (default DefaultIssuer).
func WithIssuer(iss string) Option { return func(i *Issuer) { i.iss = iss } }

// WithAudience sets the aud claim of minted tokens (default DefaultAudience).
func WithAudience(aud ...string) Option { return func(i *Issuer) { i.audience = aud } }

// WithTTL sets how long minted tokens live (default DefaultTTL).
func WithTTL(d time.Duration) Option { return func(i *Issuer) { i.ttl = d } }

// WithClock sets the time minted tokens are issued at.
func WithClock(now func() time.Time) Option { return func(i *Issuer) { i.clock = now } }

// NewIssuer returns an Issuer with a freshly generated key for alg.
func NewIssuer(alg Algorithm, opts ...Option) (*Issuer, error) {
	return newIssuer(alg, DefaultIssuer, opts)
}

func newIssuer(alg Algorithm, iss string, opts []Option) (*Issuer, error) {
	i := &Issuer{alg: alg, iss: iss, audience: []string{DefaultAudience}, ttl: DefaultTTL, clock: time.Now}
	for _, opt := range opts {
		opt(i)
	}
	if _, err := i.Rotate(); err != nil {
		return nil, err
	}
	return i, nil
}

// MustIssuer is NewIssuer for tests and examples: it panics on error.
func MustIssuer(alg Algorithm, opts ...Option) *Issuer {
	i, err := NewIssuer(alg, opts...)
	if err != nil {
		panic(err)
	}
	return i
}

// Issuer returns the iss claim of minted tokens.
func (i *Issuer) Issuer() string { return i.iss }

// Audience returns the aud claim of minted tokens.
func (i *Issuer) Audience() []string { return slices.Clone(i.audience) }

// Algorithm returns the signature algorithm.
func (i *Issuer) Algorithm() Algorithm { return i.alg }

// Rotate generates a new key that signs from now on, and returns its kid.
// Earlier keys stay published until Retire.
func (i *Issuer) Rotate() (string, error) {
	k, err := generate(i.alg)
	if err != nil {
		return "", err
	}
	i.mu.Lock()
	i.keys = append(i.keys, k)
	i.mu.Unlock()
	return k.kid, nil
}

// Retire withdraws the key kid from the published set; tokens it signed
// stop verifying once the verifier sees the new set. The signing key cannot
// be retired.
func (i *Issuer) Retire(kid string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	for n, k := range i.keys {
		if k.kid == kid {
			if n == len(i.keys)-1 {
				return errors.New("bearertest: cannot retire the signing key")
			}
			i.keys = slices.Delete(i.keys, n, n+1)
			return nil
		}
	}
	return fmt.Errorf("bearertest: no key %q", kid)
}

// KeyID returns the kid of the signing key.
func (i *Issuer) KeyID() string { return i.current().kid }

// PublicKey returns the public key of the signing key (nil for HMAC).
func (i *Issuer) PublicKey() crypto.PublicKey {
	if s, ok := i.current().private.(crypto.Signer); ok {
		return s.Public()
	}
	return nil
}

// PrivateKey returns the signing key: a crypto.Signer, or the []byte secret
// for HMAC. Tests use it to sign tokens of their own making.
func (i *Issuer) PrivateKey() any { return i.current().private }

// Secret returns the HMAC secret (nil for other algorithms).
func (i *Issuer) Secret() []byte {
	if b, ok := i.current().private.([]byte); ok {
		return slices.Clone(b)
	}
	return nil
}

func (i *Issuer) current() *signingKey {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.keys[len(i.keys)-1]
}

// JWKS returns the published keys as a JWKS document: public keys only,
// each with kid, alg and use "sig". For HMAC the set holds the secrets,
// as "oct" keys: only for KeySetJSON, never serve it.
func (i *Issuer) JWKS() []byte {
	i.mu.RLock()
	keys := make([]jwk.Key, len(i.keys))
	for n, k := range i.keys {
		keys[n] = k.public
	}
	i.mu.RUnlock()
	doc, err := json.Marshal(struct {
		Keys []jwk.Key `json:"keys"`
	}{keys})
	if err != nil {
		panic(err) // keys we made ourselves always marshal
	}
	return doc
}

// KeySource returns a static bearer.KeySource for the published keys:
// bearer.Secret for HMAC, bearer.KeySetJSON otherwise.
func (i *Issuer) KeySource() bearer.KeySource {
	if secret := i.Secret(); secret != nil {
		return bearer.Secret(secret)
	}
	src, err := bearer.KeySetJSON(i.JWKS())
	if err != nil {
		panic(err) // a set we made ourselves always parses
	}
	return src
}

// Mint returns a signed token with claims over these defaults: iss, aud,
// iat (now), exp (now + TTL). A claim set to nil removes the default.
func (i *Issuer) Mint(claims Claims) (string, error) {
	return i.MintWithHeader(nil, claims)
}

// MustMint is Mint for tests: it panics on error.
func (i *Issuer) MustMint(claims Claims) string {
	tok, err := i.Mint(claims)
	if err != nil {
		panic(err)
	}
	return tok
}

// MintWithHeader is Mint with extra protected header parameters (typ,
// crit, jku ...) over the defaults alg, kid and typ "JWT". A header
// parameter set to nil removes it.
func (i *Issuer) MintWithHeader(header map[string]any, claims Claims) (string, error) {
	payload, err := json.Marshal(i.withDefaults(claims))
	if err != nil {
		return "", fmt.Errorf("bearertest: claims: %w", err)
	}
	return i.Sign(header, payload)
}

// withDefaults returns claims over the defaults iss, aud, iat and exp; a
// claim set to nil removes its default.
func (i *Issuer) withDefaults(claims Claims) Claims {
	now := i.clock()
	all := Claims{"iss": i.iss, "iat": now.Unix(), "exp": now.Add(i.ttl).Unix()}
	if len(i.audience) == 1 {
		all["aud"] = i.audience[0]
	} else if len(i.audience) > 1 {
		all["aud"] = i.audience
	}
	for name, v := range claims {
		if v == nil {
			delete(all, name)
		} else {
			all[name] = v
		}
	}
	return all
}

// Sign signs payload, any bytes, with the signing key, under the default
// header plus header. Tests use it for payloads Mint would not produce.
func (i *Issuer) Sign(header map[string]any, payload []byte) (string, error) {
	k := i.current()
	hdrs := jws.NewHeaders()
	hdrs.Set(jws.KeyIDKey, k.kid)
	hdrs.Set(jws.TypeKey, "JWT")
	for name, v := range header {
		if v == nil {
			hdrs.Remove(name)
		} else if err := hdrs.Set(name, v); err != nil {
			return "", fmt.Errorf("bearertest: header %q: %w", name, err)
		}
	}
	alg, _ := jwa.LookupSignatureAlgorithm(string(i.alg))
	tok, err := jws.Sign(payload, jws.WithKey(alg, k.private, jws.WithProtectedHeaders(hdrs)))
	if err != nil {
		return "", fmt.Errorf("bearertest: sign: %w", err)
	}
	return string(tok), nil
}

func generate(alg Algorithm) (*signingKey, error) {
	var private any
	var err error
	switch alg {
	case HS256, HS384, HS512:
		size := map[Algorithm]int{HS256: 32, HS384: 48, HS512: 64}[alg]
		b := make([]byte, size)
		rand.Read(b)
		private = b
	case RS256, PS256:
		private, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		private, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ES384:
		private, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ES512:
		private, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case EdDSA:
		_, private, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("bearertest: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("bearertest: generate %s key: %w", alg, err)
	}
	material := private
	if s, ok := private.(crypto.Signer); ok {
		material = s.Public()
	}
	pub, err := jwk.Import(material)
	if err != nil {
		return nil, fmt.Errorf("bearertest: %w", err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("bearertest: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(tp[:12])
	sigAlg, _ := jwa.LookupSignatureAlgorithm(string(alg))
	for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: sigAlg, jwk.KeyUsageKey: "sig"} {
		if err := pub.Set(name, v); err != nil {
			return nil, fmt.Errorf("bearertest: %w", err)
		}
	}
	return &signingKey{kid: kid, private: private, public: pub}, nil
}
