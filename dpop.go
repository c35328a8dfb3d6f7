package bearer

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// DPoP configures sender-constrained tokens (RFC 9449): a DPoP-bound access
// token (one with a cnf.jkt claim) is accepted only with a fresh proof,
// signed by the key it is bound to, in the request's DPoP header. A stolen
// token is useless without that key.
//
// With WithDPoP, tokens come as "Authorization: DPoP <token>" with a proof,
// or, unless Required, as "Authorization: Bearer <token>" when they are not
// bound. Without WithDPoP, bound tokens are refused: their proof cannot be
// checked.
type DPoP struct {
	// Required refuses plain bearer tokens: every request needs the DPoP
	// scheme and a proof.
	Required bool
	// Algorithms the proofs may be signed with; asymmetric only. The
	// default is ES256, ES384, ES512, EdDSA, Ed25519, PS256, PS384,
	// PS512, RS256, RS384 and RS512.
	Algorithms []string
	// Window is how far a proof's iat may be from now, either way, and so
	// how long its jti is remembered. Default DefaultDPoPWindow. The window,
	// the replay cache and the nonces all go by the middleware's clock
	// (WithClock).
	Window time.Duration
	// BaseURL is the service's external origin, with an optional path
	// prefix ("https://api.example.com"), for the htu check behind a proxy
	// or load balancer: htu must then equal BaseURL plus the request's
	// path. Without it, the URL is rebuilt from the request (https if it
	// came over TLS, its Host header): right only when clients reach the
	// server directly. Forwarded headers are never trusted.
	BaseURL string
	// Replay remembers proof identifiers, so a proof is accepted once.
	// Default: in memory, per middleware. Several instances behind one
	// name need a shared cache (redisrevoke's).
	Replay ReplayCache
	// Nonces, when set, makes proofs carry a server-provided nonce
	// (RFC 9449 §8): a proof without a valid one is answered 401
	// use_dpop_nonce with a fresh nonce in the DPoP-Nonce header.
	Nonces NonceSource
}

// DefaultDPoPWindow bounds a proof's age and how far ahead of the server
// clock it may be.
const DefaultDPoPWindow = time.Minute

// maxProofJTI bounds the jti of a proof, which is stored.
const maxProofJTI = 256

// maxProofJWK bounds the jwk of a proof before it is parsed: the largest
// key allowed, RSA of 4096 bits, takes about 720 bytes.
const maxProofJWK = 1024

// ReplayCache remembers DPoP proof identifiers (RFC 9449 §11.1). The
// middleware asks it only about proofs that are otherwise valid: signed by
// the key the token is bound to, for this request, within the window.
type ReplayCache interface {
	// Remember records p until its window closes and reports whether it is
	// new. It must be atomic: of two concurrent calls with one p.Key and
	// p.JTI, one gets true.
	Remember(ctx context.Context, p ProofID) (bool, error)
}

// ProofID is a DPoP proof as a ReplayCache remembers it.
type ProofID struct {
	// Key is the RFC 7638 thumbprint of the proof's key, the one the token
	// is bound to, and JTI the proof's identifier: together they name the
	// proof. A cache may bound what one Key holds.
	Key, JTI string
	// Now is the middleware's clock (WithClock) when the proof was
	// checked; Until, on the same clock, is when the proof's window
	// closes. A cache with a clock of its own keeps the id for at least
	// Until.Sub(Now) from when it hears of it, rather than reading Until
	// on its own clock.
	Now, Until time.Time
}

// NonceSource issues and checks DPoP server nonces (RFC 9449 §8). Both
// methods get the time from the middleware's clock (WithClock), the one the
// proofs' window goes by.
type NonceSource interface {
	// Nonce returns a fresh nonce, issued at now.
	Nonce(now time.Time) string
	// Valid reports whether nonce is one of the source's and still valid
	// at now.
	Valid(nonce string, now time.Time) bool
}

// Sentinels of DPoP failures.
var (
	// ErrDPoPProof: the DPoP proof is missing, malformed or does not match
	// the request (RFC 9449 §4.3); answered 401 invalid_dpop_proof.
	ErrDPoPProof = errors.New("bearer: invalid DPoP proof")
	// ErrDPoPNonce: the proof lacks a valid server nonce; answered 401
	// use_dpop_nonce with a fresh nonce.
	ErrDPoPNonce = errors.New("bearer: DPoP nonce required")
	// ErrTokenBinding: the token is bound to a key (cnf) and was presented
	// without a matching proof of possession.
	ErrTokenBinding = errors.New("bearer: token binding not satisfied")
	// ErrDPoPRequired: a plain bearer token where DPoP is required.
	ErrDPoPRequired = errors.New("bearer: DPoP required")
)

// Error codes of RFC 9449 §7.1 and §8.
const (
	CodeInvalidDPoPProof = "invalid_dpop_proof"
	CodeUseDPoPNonce     = "use_dpop_nonce"
)

func invalidProof(description string) *Error {
	return &Error{Code: CodeInvalidDPoPProof, Description: description, Status: http.StatusUnauthorized, Err: ErrDPoPProof}
}

var (
	errProofMissing   = invalidProof("DPoP proof missing")
	errProofMany      = invalidProof("more than one DPoP proof")
	errProofMalformed = invalidProof("malformed DPoP proof")
	errProofType      = invalidProof("DPoP proof type not accepted")
	errProofAlgorithm = invalidProof("DPoP proof algorithm not allowed")
	errProofKey       = invalidProof("DPoP proof key invalid")
	errProofSignature = invalidProof("DPoP proof signature invalid")
	errProofMethod    = invalidProof("DPoP proof method mismatch")
	errProofURL       = invalidProof("DPoP proof URL mismatch")
	errProofTime      = invalidProof("DPoP proof outside its time window")
	errProofJTI       = invalidProof("DPoP proof has no valid jti")
	errProofReplayed  = invalidProof("DPoP proof replayed")
	errProofHash      = invalidProof("DPoP proof access token hash mismatch")
	errNonce          = &Error{Code: CodeUseDPoPNonce, Description: "DPoP nonce required", Status: http.StatusUnauthorized, Err: ErrDPoPNonce}
	errBoundToken     = invalidToken(ErrTokenBinding, "token requires proof of possession")
	errProofBinding   = invalidToken(ErrTokenBinding, "token not bound to the DPoP proof key")
	errDPoPRequired   = invalidToken(ErrDPoPRequired, "DPoP required")
)

// dpopConfig is a checked DPoP.
type dpopConfig struct {
	required bool
	allow    algSet
	algs     string // for the challenge's algs parameter
	window   time.Duration
	base     *url.URL
	replay   ReplayCache
	nonces   NonceSource
}

// WithDPoP enables DPoP (RFC 9449) as cfg says.
func WithDPoP(cfg DPoP) Option {
	return func(m *Middleware) error {
		if err := m.given.once("WithDPoP", ""); err != nil {
			return err
		}
		d := &dpopConfig{required: cfg.Required, window: cfg.Window, replay: cfg.Replay, nonces: cfg.Nonces}
		d.allow = asymmetricAlgs
		if cfg.Algorithms != nil {
			algs, err := parseAlgorithms(cfg.Algorithms)
			if err != nil {
				return err
			}
			if algs == 0 || algs&hmacAlgs != 0 {
				return errors.New("bearer: DPoP proofs need asymmetric algorithms")
			}
			d.allow = algs
		}
		d.algs = d.allow.String()
		if d.window <= 0 {
			d.window = DefaultDPoPWindow
		}
		if cfg.BaseURL != "" {
			u, err := url.Parse(cfg.BaseURL)
			if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
				return errors.New("bearer: DPoP BaseURL must be an absolute http(s) URL without query or fragment")
			}
			d.base = u
		}
		if d.replay == nil {
			d.replay = NewMemoryReplayCache(DefaultReplayEntries)
		}
		m.dpop = d
		return nil
	}
}

// authenticateDPoP is authenticate with DPoP enabled.
func (m *Middleware) authenticateDPoP(r *http.Request) (*Token, bool, error) {
	d := m.dpop
	raw, ok, err := dpopCredentials(r)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		// No DPoP scheme: a plain bearer token, if allowed.
		raw, err := m.extract(r)
		if err != nil {
			return nil, false, errorFrom(err)
		}
		if d.required {
			return nil, false, errDPoPRequired
		}
		return m.verifyBearer(r.Context(), raw)
	}
	// The token may come from the verified-token cache; the proof, which
	// is new on every request, is always checked. The token is verified
	// first, with the service's own keys, because only a verified cnf.jkt
	// says which key may sign the proof: an unbound token ends here, and
	// the proof's key must be that one before its signature costs anything.
	t, cached, err := m.verify(r.Context(), raw)
	if err != nil {
		return nil, false, err
	}
	if t.jkt == "" {
		return nil, false, errProofBinding
	}
	if err := d.verifyProof(r, raw, t.jkt, m.clock(), m.maxSize); err != nil {
		return nil, false, err
	}
	return t, cached, nil
}

// dpopCredentials reads "Authorization: DPoP <token>". ok is false when
// the header is absent or has another scheme.
func dpopCredentials(r *http.Request) (raw string, ok bool, err error) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false, nil // none, or several: the bearer extractor answers
	}
	return schemeCredentials(values[0], "DPoP")
}

// verifyProof checks the request's DPoP proof as RFC 9449 §4.3 lists, for
// the access token token, bound to the key of thumbprint jkt. Cheap before
// costly: the proof's key must be within the key bounds and be jkt's
// before its signature is checked, so a stranger's key, however large,
// never reaches a verification. The jti is spent last, so an invalid
// proof, or one of another key, cannot burn one or fill the cache.
func (d *dpopConfig) verifyProof(r *http.Request, token, jkt string, now time.Time, maxSize int) error {
	proofs := r.Header.Values("DPoP")
	switch {
	case len(proofs) == 0:
		return errProofMissing
	case len(proofs) > 1:
		return errProofMany
	}
	if len(proofs[0]) > maxSize { // WithMaxTokenSize bounds proofs too
		return errProofMalformed
	}
	p, err := parseProof(proofs[0])
	if err != nil {
		return errProofMalformed
	}
	if normalizeType(p.typ) != "dpop+jwt" {
		return errProofType
	}
	if !d.allow.has(p.alg) {
		return errProofAlgorithm
	}
	key, thumbprint, err := proofKey(p)
	if err != nil {
		return errProofKey
	}
	if !key.algs.has(p.alg) {
		return errProofAlgorithm
	}
	if thumbprint != jkt {
		return errProofBinding
	}
	if err := p.verifySignature([]*verifyKey{key}); err != nil {
		return errProofSignature
	}
	if !jsonEquals(p.htm, r.Method) {
		return errProofMethod
	}
	if s, ok := strictjson.String(p.htu); !ok || !sameURL(s, d.requestURL(r)) {
		return errProofURL
	}
	if d.nonces != nil {
		if s, ok := strictjson.String(p.nonce); !ok || !d.nonces.Valid(s, now) {
			return errNonce
		}
	}
	if p.iat.IsZero() || p.iat.Before(now.Add(-d.window)) || p.iat.After(now.Add(d.window)) {
		return errProofTime
	}
	sum := sha256.Sum256([]byte(token))
	if !jsonEquals(p.ath, base64.RawURLEncoding.EncodeToString(sum[:])) {
		return errProofHash
	}
	if p.jti == "" || len(p.jti) > maxProofJTI {
		return errProofJTI
	}
	fresh, err := d.replay.Remember(r.Context(), ProofID{Key: jkt, JTI: p.jti, Now: now, Until: p.iat.Add(d.window)})
	if err != nil {
		return &Error{Code: CodeTemporarilyUnavailable, Description: "DPoP replay check unavailable",
			Status: http.StatusServiceUnavailable, RetryAfter: time.Second, Err: fmt.Errorf("bearer: DPoP replay check: %w", err)}
	}
	if !fresh {
		return errProofReplayed
	}
	return nil
}

// privateMembers are JWK members that carry private key material.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// proofKey reads the public key of the proof's jwk header and its RFC 7638
// thumbprint.
func proofKey(p *proof) (*verifyKey, string, error) {
	raw, ok := strictjson.Find(p.header, "jwk")
	if !ok || raw == "" || raw[0] != '{' {
		return nil, "", errors.New("no jwk")
	}
	if len(raw) > maxProofJWK {
		return nil, "", errors.New("jwk too large")
	}
	for _, name := range privateMembers {
		if _, found := strictjson.Find(raw, name); found {
			return nil, "", errors.New("private key material in jwk")
		}
	}
	k, err := jwk.ParseKey([]byte(raw))
	if err != nil {
		return nil, "", err
	}
	var pub any
	if err := jwk.Export(k, &pub); err != nil {
		return nil, "", err
	}
	key, err := newPublicKey("", pub, algNone, 0)
	if err != nil {
		return nil, "", err
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, "", err
	}
	return key, base64.RawURLEncoding.EncodeToString(tp), nil
}

// requestURL is the URL the proof's htu must name.
func (d *dpopConfig) requestURL(r *http.Request) string {
	if d.base != nil {
		return strings.TrimSuffix(d.base.String(), "/") + r.URL.EscapedPath()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// sameURL compares htu with the request URL as RFC 9449 §4.3 asks:
// without query and fragment, after the syntax- and scheme-based
// normalization of RFC 3986 §6.2.2 and §6.2.3 and nothing more. An htu with
// userinfo names no request URL and is refused.
func sameURL(htu, want string) bool {
	a, err := url.Parse(htu)
	if err != nil || !a.IsAbs() || a.User != nil || a.Opaque != "" {
		return false
	}
	b, err := url.Parse(want)
	if err != nil || b.User != nil { // a Host header with "@"
		return false
	}
	return normalURL(a) == normalURL(b)
}

// normalURL is u's scheme, authority and path in the normal form of RFC 3986
// §6.2.2 and §6.2.3: scheme and host in lower case, no default port (nor an
// empty one), an empty path as "/", and percent-encodings of unreserved
// characters decoded and the others in upper case. Every other difference
// stays one: "%2F" is not "/", and dot segments are kept, since a router
// may send "/a/../b" somewhere "/b" does not go.
func normalURL(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6
	}
	if port := u.Port(); port != "" && !(scheme == "https" && port == "443" || scheme == "http" && port == "80") {
		host += ":" + port
	}
	p := normalPath(u.EscapedPath())
	if p == "" {
		p = "/"
	}
	return scheme + "://" + host + p
}

// normalPath decodes the percent-encodings of unreserved characters
// (RFC 3986 §2.3) and writes the others' hex digits in upper case.
// url.Parse has refused a malformed encoding.
func normalPath(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+2 >= len(p) {
			b.WriteByte(p[i])
			continue
		}
		c, err := strconv.ParseUint(p[i+1:i+3], 16, 8)
		if err != nil {
			b.WriteByte(p[i])
			continue
		}
		if unreserved(byte(c)) {
			b.WriteByte(byte(c))
		} else {
			b.WriteString(strings.ToUpper(p[i : i+3]))
		}
		i += 2
	}
	return b.String()
}

// unreserved reports whether c is ALPHA / DIGIT / "-" / "." / "_" / "~".
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// jsonEquals reports whether the raw JSON value v is the string s.
func jsonEquals(v, s string) bool {
	got, ok := strictjson.String(v)
	return ok && got == s
}

// dpopScheme reports whether r presented its token with the DPoP scheme.
func dpopScheme(r *http.Request) bool {
	_, ok, err := dpopCredentials(r)
	return ok || err != nil
}
