package bearer

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// b64 decodes JWS segments: base64url without padding, and Strict so that
// non-zero trailing bits (a second spelling of the same bytes) are refused.
var b64 = base64.RawURLEncoding.Strict()

// Verify checks raw, a compact JWS JWT, and returns the verified token. It
// does what the middleware does after extraction, for callers without an
// HTTP request (gRPC, websockets, queues). Every error is an *Error wrapping
// a sentinel.
//
// The steps, in order: size limit; the verified-token cache (a hit goes
// straight to the per-request checks); JWS compact parse with the header
// (crit and "none" refused there); the alg allowlist and typ; the
// unverified issuer, which selects the keys; key lookup; signature; only
// then the verdict on the claims set's form; exp, nbf, iat, aud, required
// claims; and, on every request, validators and revocation
// (WithRevocation).
//
// A token bound to a key (a cnf claim, RFC 7800) is refused here: without
// a proof of possession it is just a stolen token. See WithDPoP.
func (m *Middleware) Verify(ctx context.Context, raw string) (*Token, error) {
	t, _, err := m.verifyBearer(ctx, raw)
	if err != nil {
		return nil, copyError(err)
	}
	return t, nil
}

// verifyBearer is Verify that also tells whether the verified-token cache
// answered, for the Observer.
func (m *Middleware) verifyBearer(ctx context.Context, raw string) (*Token, bool, error) {
	t, cached, err := m.verify(ctx, raw)
	if err != nil {
		return nil, false, err
	}
	if t.cnf != "" {
		return nil, false, errBoundToken
	}
	return t, cached, nil
}

// verify is Verify without the binding check, which the DPoP path does
// its own way. cached says whether the verified-token cache answered.
func (m *Middleware) verify(ctx context.Context, raw string) (t *Token, cached bool, err error) {
	if len(raw) > m.maxSize {
		return nil, false, errTooLarge
	}
	h, cacheable := m.cache.hash(raw)
	if cacheable {
		if t, hit, err := m.verifyCached(ctx, h, raw); hit {
			return t, err == nil, err
		}
	}
	if t, err = m.verifyAll(ctx, raw); err != nil {
		return nil, false, err
	}
	if cacheable {
		m.cache.put(h, t) // only tokens that passed every check
	}
	return t, false, nil
}

// verifyAll does every check on raw.
func (m *Middleware) verifyAll(ctx context.Context, raw string) (*Token, error) {
	t, err := parse(raw, m.scopeClaim)
	if err == errAlgorithm {
		return nil, headerAlgorithm(raw)
	}
	if err != nil {
		return nil, err
	}
	if !m.allow.has(t.alg) {
		return nil, m.algorithmRejected(t)
	}
	if m.tokenType != "" && normalizeType(t.typ) != m.tokenType {
		return nil, m.typeRejected(t)
	}
	// The unverified iss is checked before any key lookup: a token of an
	// issuer not trusted must cost no fetch, nor select any key. A claims
	// set too malformed to read is judged after the signature instead.
	if t.claimsErr == nil && len(m.issuers) > 0 && !slices.Contains(m.issuers, t.iss) {
		return nil, m.issuerRejected(t)
	}
	keys, err := m.keys.keys(ctx, t.keyQuery())
	if err != nil {
		return nil, m.keyRejected(err, t)
	}
	if err := t.verifySignature(keys); err != nil {
		return nil, signatureRejected(err, t, keys)
	}
	if t.claimsErr != nil {
		return nil, t.claimsErr
	}
	if err := m.validate(ctx, t); err != nil {
		return nil, err
	}
	t.m = m
	return t, nil
}

// keyQuery is what the token says about the key that signed it.
func (t *Token) keyQuery() keyQuery {
	return keyQuery{kid: t.kid, hasKid: t.hasKid, alg: t.alg, iss: t.iss}
}

// parse splits and decodes a compact JWS and reads its header and claims.
// It checks form only; nothing here is trusted until the signature is, and a
// malformed claims set is only reported after the signature check.
func parse(raw, scopeClaim string) (*Token, error) {
	// Exactly two dots, a header and a signature: this refuses the JSON
	// serialization and 4- and 5-part (JWE) tokens before any decoding. An
	// empty payload is a well-formed JWS (it fails later as a claims set).
	d1 := strings.IndexByte(raw, '.')
	if d1 <= 0 {
		return nil, errMalformed
	}
	d2 := d1 + 1 + strings.IndexByte(raw[d1+1:], '.')
	if d2 < d1+1 || d2 == len(raw)-1 || strings.IndexByte(raw[d2+1:], '.') >= 0 {
		return nil, errMalformed
	}
	// The strict decoder below refuses every byte outside the base64url
	// alphabet, padding included, except CR and LF, which Go's decoders
	// skip: those are refused here.
	if strings.IndexByte(raw, '\n') >= 0 || strings.IndexByte(raw, '\r') >= 0 {
		return nil, errMalformed
	}

	// One buffer for the decoded segments. The signing input and the
	// decoder's source are read-only views of raw's bytes (hashes and
	// decoders never write to their input: io.Writer's contract), which
	// saves copying the token.
	in := unsafe.Slice(unsafe.StringData(raw), len(raw))
	hLen := b64.DecodedLen(d1)
	pLen := b64.DecodedLen(d2 - d1 - 1)
	sLen := b64.DecodedLen(len(raw) - d2 - 1)
	dec := make([]byte, hLen+pLen+sLen)
	hn, err := b64.Decode(dec, in[:d1])
	if err != nil {
		return nil, errMalformed
	}
	pn, err := b64.Decode(dec[hn:], in[d1+1:d2])
	if err != nil {
		return nil, errMalformed
	}
	sn, err := b64.Decode(dec[hn+pn:], in[d2+1:])
	if err != nil {
		return nil, errMalformed
	}
	// Header and claims share one string that views dec: nothing writes
	// to dec once it is decoded, so the string stays immutable, and the
	// copy a conversion would make is saved. The scanner that reads them
	// checks that they are UTF-8 JSON (RFC 7515 §5.2, RFC 7519 §7.2,
	// RFC 8725 §3.7).
	text := unsafe.String(&dec[0], hn+pn)
	t := &Token{
		raw:     raw,
		header:  text[:hn],
		payload: text[hn:],
		input:   in[:d2:d2],
		sig:     dec[hn+pn : hn+pn+sn : hn+pn+sn],
	}
	if err := t.readHeader(); err != nil {
		return nil, err
	}
	// RFC 7519 §7.2 validates the claims set (step 10) only once the
	// signature holds (step 7): a forged token is "signature invalid"
	// whatever its payload, and only a genuine JWS whose payload is not a
	// claims set is "malformed claims". The verdict waits in claimsErr.
	t.claimsErr = t.readClaims(scopeClaim)
	return t, nil
}

// readHeader reads the JOSE header. jku, x5u, jwk and x5c are never used
// to find a key; they are ignored like any other parameter.
func (t *Token) readHeader() error {
	var s strictjson.Scanner
	if !s.Reset(t.header) {
		return errMalformed
	}
	hasAlg := false
	for {
		name, v, dup, ok := s.Next()
		if !ok {
			break
		}
		if dup {
			return errMalformed
		}
		switch name {
		case "alg":
			alg, ok := strictjson.String(v)
			if !ok {
				return errMalformed
			}
			t.alg, hasAlg = parseAlgorithm(alg), true
		case "kid":
			if t.kid, ok = strictjson.String(v); !ok {
				return errMalformed
			}
			t.hasKid = true
		case "typ":
			if t.typ, ok = strictjson.String(v); !ok {
				return errMalformed
			}
		case "crit":
			// No extension is understood, so any crit is refused
			// (RFC 7515 §4.1.11); that includes b64 (RFC 7797).
			return errCritical
		}
	}
	if !s.Valid() || !hasAlg {
		return errMalformed
	}
	if t.alg == algNone {
		return errAlgorithm
	}
	return nil
}

// readClaims reads the registered claims the verifier and the accessors
// need, and the scopes from scopeClaim (WithScopeClaim; "" reads "scope",
// else "scp"); the rest stay in the payload for Claim and Decode.
func (t *Token) readClaims(scopeClaim string) error {
	var s strictjson.Scanner
	if !s.Reset(t.payload) {
		return errMalformedClaims
	}
	var fallback string // "scp", when scope is absent
	for {
		name, v, dup, ok := s.Next()
		if !ok {
			break
		}
		if dup {
			return errMalformedClaims
		}
		switch name {
		case "iss":
			ok = readString(v, &t.iss)
		case "sub":
			ok = readString(v, &t.sub)
		case "jti":
			ok = readString(v, &t.jti)
		case "aud":
			ok = t.readAudience(v)
		case "exp":
			ok = readNumericDate(v, &t.exp)
		case "nbf":
			ok = readNumericDate(v, &t.nbf)
		case "iat":
			ok = readNumericDate(v, &t.iat)
		case "cnf":
			ok = t.readConfirmation(v)
		}
		if ok {
			switch scopeRank(name, scopeClaim) {
			case scopePrimary:
				t.scope, ok = v, isScopeValue(v)
			case scopeFallback:
				fallback, ok = v, isScopeValue(v)
			}
		}
		if !ok {
			return errMalformedClaims
		}
		if i := registeredClaim(name); i >= 0 && v != "null" {
			t.present |= 1 << i
		}
	}
	if !s.Valid() {
		return errMalformedClaims
	}
	if t.scope == "" {
		t.scope = fallback
	}
	return nil
}

// Where a claim's scopes stand: scopeClaim's, or "scope" else "scp".
const (
	scopeNone = iota
	scopePrimary
	scopeFallback
)

// scopeRank tells whether the claim called name holds the token's scopes:
// with WithScopeClaim only that claim does, and "scope" and "scp" are
// ordinary claims; without it, "scope" does, and "scp" when "scope" is
// absent.
func scopeRank(name, scopeClaim string) int {
	switch {
	case scopeClaim != "":
		if name == scopeClaim {
			return scopePrimary
		}
	case name == "scope":
		return scopePrimary
	case name == "scp":
		return scopeFallback
	}
	return scopeNone
}

// readConfirmation reads the cnf claim (RFC 7800): any binding makes the
// token need a proof of possession; jkt (RFC 9449 §6.1) is the one this
// package can check.
func (t *Token) readConfirmation(v string) bool {
	if v == "null" {
		return true
	}
	if v == "" || v[0] != '{' {
		return false
	}
	t.cnf = v
	if jkt, ok := strictjson.Find(v, "jkt"); ok {
		return readString(jkt, &t.jkt)
	}
	return true
}

func readString(v string, dst *string) bool {
	if v == "null" {
		return true
	}
	s, ok := strictjson.String(v)
	*dst = s
	return ok
}

// readAudience accepts a string or an array of strings (RFC 7519 §4.1.3).
func (t *Token) readAudience(v string) bool {
	if v == "null" {
		return true
	}
	if s, ok := strictjson.String(v); ok {
		t.audOne[0] = s
		t.aud = t.audOne[:]
		return true
	}
	n := strictjson.CountStrings(v)
	if n < 0 {
		return false
	}
	t.aud = make([]string, 0, n)
	strictjson.EachString(v, func(s string) { t.aud = append(t.aud, s) })
	return true
}

// NumericDate bounds: beyond year 9999 a date means "never", and the
// conversion to time.Time must not overflow.
const maxNumericDate = 253402300799

// minNumericDate is the first second of year 1: one second earlier is
// time.Time's zero value, which stands for "absent".
const minNumericDate = -62135596799

// readNumericDate accepts a JSON number only (RFC 7519 §2): "123", true
// and "2030-01-01T00:00:00Z" are malformed claims.
func readNumericDate(v string, dst *time.Time) bool {
	f, ok := strictjson.Number(v)
	if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
		return false
	}
	f = max(min(f, maxNumericDate), minNumericDate)
	sec, frac := math.Modf(f)
	*dst = time.Unix(int64(sec), int64(frac*1e9))
	return true
}

// isScopeValue reports whether v, the raw value of the scopes claim, is
// null, a string of scope-tokens separated by spaces, or an array of
// scope-tokens (RFC 6749 §3.3). A scope with any other character (a tab,
// a no-break space, a control character) makes the claims set malformed:
// only SP separates scopes, and a value that other readers could split
// differently is no value to authorize on.
func isScopeValue(v string) bool {
	if !isWordsValue(v) {
		return false
	}
	ok := true
	eachWord(v, func(w string) bool {
		ok = isScopeToken(w)
		return ok
	})
	return ok
}

// isWordsValue reports whether the raw JSON value v is null, a string or
// an array of strings: the forms eachWord reads.
func isWordsValue(v string) bool {
	return v == "null" || v != "" && v[0] == '"' || strictjson.IsStringArray(v)
}

// isScopeToken reports whether s is a scope-token (RFC 6749 §3.3):
// 1*( %x21 / %x23-5B / %x5D-7E ).
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return false
		}
	}
	return true
}

// maxKeyTries bounds the signature checks one token may cost. A token
// names its key with kid; one without (or one whose kid falls back to the
// keys that have none) could otherwise make every key of a large set
// check its signature. Three covers a key set in rotation (the old, the
// current and the next key of one algorithm).
const maxKeyTries = 3

// verifySignature tries the candidate keys that may verify the token's
// algorithm. A key bound to another algorithm is never tried: that is the
// defence against algorithm confusion (RFC 8725 §2.1). When more than
// maxKeyTries keys fit, none is tried: the token does not say which key
// signed it (ErrUnknownKey), and trying only some would accept the
// tokens of some keys and refuse those of others, by their order in the
// set.
func (t *Token) verifySignature(keys []*verifyKey) error {
	fit := 0
	for _, k := range keys {
		if k.algs.has(t.alg) {
			fit++
		}
	}
	switch {
	case fit == 0:
		return errAlgorithm
	case fit > maxKeyTries:
		return errUnknownKey
	}
	for _, k := range keys {
		if k.algs.has(t.alg) && verifySignature(k, t.alg, t.input, t.sig) {
			t.key = k
			t.input, t.sig = nil, nil // not needed any more
			return nil
		}
	}
	return errSignature
}

// validate checks a token whose signature holds, in the order Verify
// documents: the time window, then the claims fixed by the token (aud, required
// claims), then what depends on state outside the token (validators,
// revocation).
func (m *Middleware) validate(ctx context.Context, t *Token) error {
	if err := m.checkTime(t); err != nil {
		return err
	}
	if err := m.checkClaims(t); err != nil {
		return err
	}
	return m.checkState(ctx, t)
}

// checkEachRequest is what a token verified before must pass again on each
// request (see cache.go): the time window, which moves, and the checks of
// state outside the token. Checks that depend only on the token's bytes and
// the configuration are not here.
func (m *Middleware) checkEachRequest(ctx context.Context, t *Token) error {
	if err := m.checkTime(t); err != nil {
		return err
	}
	return m.checkState(ctx, t)
}

// checkState runs the validators, which may look at the request or at
// anything else, then the revocation check (WithRevocation): a token can be
// revoked after it was first verified.
func (m *Middleware) checkState(ctx context.Context, t *Token) error {
	if err := m.runValidators(ctx, t); err != nil {
		return err
	}
	return m.checkRevocation(ctx, t)
}

// checkTime checks exp, nbf and iat against the clock, with leeway.
func (m *Middleware) checkTime(t *Token) error {
	now := m.clock()
	switch {
	case t.exp.IsZero():
		if !m.expiryOptional {
			return errMissingExpiry
		}
	case !now.Before(t.exp.Add(m.leeway)):
		return m.expiryRejected(t, now)
	}
	if !t.nbf.IsZero() && now.Add(m.leeway).Before(t.nbf) {
		return m.notBeforeRejected(t, now)
	}
	if !t.iat.IsZero() && now.Add(m.leeway).Before(t.iat) {
		return m.issuedAtRejected(t, now)
	}
	return nil
}

// checkClaims checks the claims that only the token and the configuration
// decide (iss was checked before the key lookup).
func (m *Middleware) checkClaims(t *Token) error {
	audiences := m.audiences
	if aud, ok := m.issuerAud[t.iss]; ok {
		audiences = aud
	}
	if len(audiences) > 0 && !containsAny(audiences, t.aud) {
		return audienceRejected(t, audiences)
	}
	if t.present&m.required.registered != m.required.registered {
		return missingClaim(firstMissing(m.required.registered, t.present))
	}
	for _, name := range m.required.others {
		if v, ok := strictjson.Find(t.payload, name); !ok || v == "null" {
			return missingClaim(name)
		}
	}
	return nil
}

// registeredClaim numbers the claims readClaims reads, so that their
// presence is a bit of Token.present and a required one needs no second
// scan of the payload; -1 for any other name.
func registeredClaim(name string) int {
	switch name {
	case "iss":
		return 0
	case "sub":
		return 1
	case "aud":
		return 2
	case "exp":
		return 3
	case "nbf":
		return 4
	case "iat":
		return 5
	case "jti":
		return 6
	}
	return -1
}

// requiredClaims is WithRequiredClaims split for validate: the registered
// claims as a mask of Token.present, the others by name.
type requiredClaims struct {
	registered uint8
	others     []string
}

func splitRequired(names []string) requiredClaims {
	var r requiredClaims
	for _, name := range names {
		if i := registeredClaim(name); i >= 0 {
			r.registered |= 1 << i
		} else if !slices.Contains(r.others, name) {
			r.others = append(r.others, name)
		}
	}
	return r
}

func (m *Middleware) runValidators(ctx context.Context, t *Token) error {
	for _, validate := range m.validators {
		if err := validate(ctx, t); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return e
			}
			return invalidToken(fmt.Errorf("%w: %w", ErrRejected, err), "token rejected")
		}
	}
	return nil
}

func containsAny(list, values []string) bool {
	for _, v := range values {
		if slices.Contains(list, v) {
			return true
		}
	}
	return false
}

// normalizeType compares typ values as RFC 7515 §4.1.9 says: case
// insensitively, with the "application/" prefix optional.
func normalizeType(typ string) string {
	typ = strings.ToLower(typ)
	return strings.TrimPrefix(typ, "application/")
}
