package bearer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// KeySource is where the middleware finds the keys that verify tokens:
// Secret, PublicKey, KeySetJSON, RemoteJWKS, Discover, Introspection or
// Issuers. New opens it, and Close releases what it started, so one
// KeySource value may serve several middlewares. A RemoteJWKS or Discover
// value is opened once for all of them (per WithAlgorithms allowlist):
// one fetcher, one key cache, stopped by the last Close.
type KeySource interface {
	open(env sourceEnv) (keyStore, error)
}

// sourceEnv is what the middleware's configuration tells a source when it
// opens.
type sourceEnv struct {
	// allow is the algorithm allowlist of WithAlgorithms, or 0 when the
	// keys alone decide.
	allow algSet
	// logger and observer hear of a remote source's fetches (WithLogger,
	// WithObserver); a nil logger means slog.Default().
	logger   *slog.Logger
	observer Observer
}

// keyStore is an opened KeySource.
type keyStore interface {
	// keys returns the candidate keys for a token. With no candidates it
	// returns errUnknownKey, or errKeysUnavailable when it has no keys at all.
	keys(ctx context.Context, q keyQuery) ([]*verifyKey, error)
	// ready returns nil when the store has keys, else an *Error wrapping
	// ErrKeysUnavailable; with wait it first waits for keys until ctx ends.
	ready(ctx context.Context, wait bool) error
	// refetch fetches remote keys now (within the key-miss budget) and
	// returns the fetch's error; static stores return nil.
	refetch(ctx context.Context) error
	// issuers returns the issuers the store's keys belong to (Discover,
	// Issuers), each with the audiences its tokens must name (nil: those
	// of WithAudience), or nil when the keys may verify any issuer's.
	issuers() map[string][]string
	close() error
}

// keyQuery is what the unverified token says about its key.
type keyQuery struct {
	kid    string
	hasKid bool
	alg    algorithm
	iss    string
}

// verifyKey is one public key (or HMAC secret) and the algorithms it may
// verify. It is immutable once built, apart from its pools.
type verifyKey struct {
	kid     string
	algs    algSet
	secret  []byte
	rsa     *rsa.PublicKey
	ecdsa   *ecdsa.PublicKey
	ed25519 ed25519.PublicKey
	hmacs   [3]sync.Pool // HS256, HS384, HS512 states
}

// Configuration errors, returned by New.
var (
	// ErrWeakKey: an HMAC secret shorter than its hash (RFC 7518 §3.2) or
	// an RSA key shorter than 2048 bits.
	ErrWeakKey = errors.New("bearer: key too weak")
	// ErrKeyBounds: an RSA key longer than 4096 bits, or with an exponent
	// that is even, below 3 or above 65537. Verifying with such a key costs
	// up to hundreds of times what a real one does; no issuer needs one.
	ErrKeyBounds = errors.New("bearer: key outside the accepted bounds")
	// ErrNoUsableKey: a key set holds no key this package can verify with.
	ErrNoUsableKey = errors.New("bearer: no usable key")
)

// Secret verifies HMAC-signed tokens (HS256, or the HS* algorithms named by
// WithAlgorithms) with a shared secret. New refuses a secret shorter than the
// output of each allowed algorithm's hash: 32 bytes for HS256 (RFC 7518 §3.2).
// The secret is copied.
func Secret(secret []byte) KeySource {
	return secretSource(append([]byte(nil), secret...))
}

type secretSource []byte

func (s secretSource) open(env sourceEnv) (keyStore, error) {
	algs := setOf(algHS256)
	if env.allow != 0 {
		algs = env.allow & hmacAlgs
		if algs == 0 {
			return nil, fmt.Errorf("bearer: WithAlgorithms allows no HMAC algorithm for Secret")
		}
	}
	k, err := newSecretKey("", s, algs)
	if err != nil {
		return nil, err
	}
	return newStaticStore([]*verifyKey{k}), nil
}

func newSecretKey(kid string, secret []byte, algs algSet) (*verifyKey, error) {
	for a := algHS256; a <= algHS512; a++ {
		if algs.has(a) && len(secret) < a.hash().Size() {
			return nil, fmt.Errorf("%w: %s needs a secret of at least %d bytes", ErrWeakKey, a, a.hash().Size())
		}
	}
	return &verifyKey{kid: kid, algs: algs, secret: secret}, nil
}

// PublicKey verifies tokens signed by the private half of key: an
// *rsa.PublicKey of 2048 to 4096 bits with an odd exponent of at most
// 65537 (RS256..PS512), an *ecdsa.PublicKey
// on P-256, P-384 or P-521 (the matching ES algorithm only) or an
// ed25519.PublicKey (EdDSA). The key type decides the algorithms;
// WithAlgorithms narrows them. A private key is accepted and reduced to its
// public half.
func PublicKey(key crypto.PublicKey) KeySource {
	return publicKeySource{key}
}

type publicKeySource struct{ key crypto.PublicKey }

func (s publicKeySource) open(env sourceEnv) (keyStore, error) {
	k, err := newPublicKey("", s.key, 0, env.allow)
	if err != nil {
		return nil, err
	}
	return newStaticStore([]*verifyKey{k}), nil
}

// newPublicKey builds a verifyKey for pub. alg, when set, binds the key to
// that one algorithm (a JWK's "alg"); allow narrows the set.
func newPublicKey(kid string, pub crypto.PublicKey, alg algorithm, allow algSet) (*verifyKey, error) {
	pub = publicHalf(pub)
	algs, err := algorithmsFor(pub)
	if err != nil {
		return nil, err
	}
	if alg != algNone {
		if !algs.has(alg) {
			return nil, fmt.Errorf("bearer: key type does not match alg %s", alg)
		}
		algs = setOf(alg)
	}
	if allow != 0 {
		algs &= allow
		if algs == 0 {
			return nil, fmt.Errorf("bearer: WithAlgorithms allows no algorithm for this key")
		}
	}
	k := &verifyKey{kid: kid, algs: algs}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		k.rsa = pub
	case *ecdsa.PublicKey:
		k.ecdsa = pub
	case ed25519.PublicKey:
		k.ed25519 = pub
	}
	return k, nil
}

// KeySetJSON verifies tokens with the keys of a JWKS document (RFC 7517 §5).
// Tokens select keys by kid; each key's "alg" and "use"/"key_ops" are
// honoured; keys that cannot verify signatures (encryption keys, unknown key
// types, weak keys) are skipped. Private keys are reduced to their public
// half. Symmetric ("oct") keys are accepted here, where the document is the
// application's own configuration, but never from a remote set.
func KeySetJSON(jwks []byte) (KeySource, error) {
	raw, err := splitKeySet(jwks)
	if err != nil {
		return nil, err
	}
	return keySetSource(raw), nil
}

type keySetSource []json.RawMessage

func (s keySetSource) open(env sourceEnv) (keyStore, error) {
	keys, skipped := parseKeys(s, keyPolicy{allow: env.allow, symmetric: true})
	if len(keys) == 0 {
		return nil, noUsableKey(len(s), skipped)
	}
	return newStaticStore(keys), nil
}

// splitKeySet reads the "keys" array of a JWKS document without parsing the
// keys, so that one bad key cannot spoil the others.
func splitKeySet(doc []byte) ([]json.RawMessage, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("bearer: malformed JWKS document: %w", err)
	}
	if set.Keys == nil {
		return nil, fmt.Errorf("bearer: JWKS document has no \"keys\" array")
	}
	return set.Keys, nil
}

// keyPolicy says which keys of a set to keep.
type keyPolicy struct {
	allow     algSet
	symmetric bool // the application's own set: accept "oct" and private keys (never from a remote set)
}

// skippedKey records a key of a set that was not kept, and why.
type skippedKey struct {
	kid    string
	reason error
}

// parseKeys turns each JWK into a verifyKey, key by key.
func parseKeys(raw []json.RawMessage, p keyPolicy) ([]*verifyKey, []skippedKey) {
	var keys []*verifyKey
	var skipped []skippedKey
	for _, r := range raw {
		k, kid, err := parseKey(r, p)
		if err != nil {
			skipped = append(skipped, skippedKey{kid: kid, reason: err})
			continue
		}
		keys = append(keys, k)
	}
	return keys, skipped
}

func parseKey(raw []byte, p keyPolicy) (*verifyKey, string, error) {
	key, err := jwk.ParseKey(raw)
	if err != nil {
		var named struct { // the kid of a key jwx cannot parse, for reports
			Kid string `json:"kid"`
		}
		json.Unmarshal(raw, &named)
		return nil, named.Kid, fmt.Errorf("bearer: unparsable key: %w", err)
	}
	kid, _ := key.KeyID()
	if use, ok := key.KeyUsage(); ok && use != "sig" {
		return nil, kid, fmt.Errorf("bearer: key use %q is not \"sig\"", use)
	}
	if ops, ok := key.KeyOps(); ok && !slices.Contains(ops, jwk.KeyOpVerify) {
		return nil, kid, fmt.Errorf("bearer: key_ops do not include \"verify\"")
	}
	alg := algNone
	if a, ok := key.Algorithm(); ok {
		if alg = parseAlgorithm(a.String()); alg == algNone {
			return nil, kid, fmt.Errorf("bearer: key alg %q is not a supported signature algorithm", a.String())
		}
	}
	var material any
	if err := jwk.Export(key, &material); err != nil {
		return nil, kid, fmt.Errorf("bearer: unusable key: %w", err)
	}
	if _, private := material.(interface{ Public() crypto.PublicKey }); private && !p.symmetric {
		// A provider that publishes a private key has disclosed it: anyone
		// can sign with it, so its tokens prove nothing.
		return nil, kid, fmt.Errorf("bearer: published private key refused")
	}
	if secret, ok := material.([]byte); ok {
		if !p.symmetric {
			return nil, kid, fmt.Errorf("bearer: symmetric key refused")
		}
		algs := setOf(algHS256)
		if alg != algNone {
			algs = setOf(alg)
		} else if p.allow != 0 {
			algs = p.allow & hmacAlgs
		}
		if p.allow != 0 {
			algs &= p.allow
		}
		if algs&^hmacAlgs != 0 || algs == 0 {
			return nil, kid, fmt.Errorf("bearer: symmetric key with no allowed HMAC algorithm")
		}
		k, err := newSecretKey(kid, secret, algs)
		return k, kid, err
	}
	k, err := newPublicKey(kid, material, alg, p.allow)
	return k, kid, err
}

// publicHalf reduces a private key to a copy of its public half. The
// Public methods of *rsa.PrivateKey and *ecdsa.PrivateKey return a pointer
// into the private key, which would keep the private exponent or scalar in
// memory for as long as the key is in use; the copy keeps only public
// values.
func publicHalf(key crypto.PublicKey) crypto.PublicKey {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pub := k.PublicKey
		return &pub
	case *ecdsa.PrivateKey:
		pub := k.PublicKey
		return &pub
	case interface{ Public() crypto.PublicKey }: // only private keys have Public
		return k.Public()
	}
	return key
}

// staticStore serves a fixed set of keys.
type staticStore struct {
	all   []*verifyKey
	byKid map[string][]*verifyKey
	noKid []*verifyKey // keys without a kid match a token with any kid
}

func newStaticStore(keys []*verifyKey) *staticStore {
	s := &staticStore{all: keys, byKid: make(map[string][]*verifyKey)}
	for _, k := range keys {
		if k.kid == "" {
			s.noKid = append(s.noKid, k)
		} else {
			s.byKid[k.kid] = append(s.byKid[k.kid], k)
		}
	}
	return s
}

func (s *staticStore) keys(_ context.Context, q keyQuery) ([]*verifyKey, error) {
	return s.lookup(q)
}

func (s *staticStore) lookup(q keyQuery) ([]*verifyKey, error) {
	if ks, ok := s.exact(q); ok {
		return ks, nil
	}
	if len(s.noKid) > 0 {
		return s.noKid, nil
	}
	return nil, errUnknownKey
}

// exact returns the keys of q's kid (every key for a token without one),
// without falling back to the keys that have no kid. A remote source
// fetches when it fails: a kid-less key must not hide a rotated one.
func (s *staticStore) exact(q keyQuery) ([]*verifyKey, bool) {
	if !q.hasKid {
		return s.all, true
	}
	ks, ok := s.byKid[q.kid]
	return ks, ok
}

func (s *staticStore) ready(context.Context, bool) error { return nil }

func (s *staticStore) refetch(context.Context) error { return nil }

func (s *staticStore) issuers() map[string][]string { return nil }

func (s *staticStore) close() error { return nil }
