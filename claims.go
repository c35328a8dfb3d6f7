package bearer

import (
	"math"
	"time"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// parse reads raw as a JWT: a JWS whose payload is a claims set. It checks
// form only; RFC 7519 §7.2 validates the claims set (step 10) only once the
// signature holds (step 7): a forged token is "signature invalid" whatever
// its payload, and only a genuine JWS whose payload is not a claims set is
// "malformed claims". The verdict waits in claimsErr.
func parse(raw, scopeClaim string) (*Token, error) {
	t := new(Token)
	if err := t.jws.parse(raw); err != nil {
		return nil, err
	}
	t.claimsErr = t.readClaims(scopeClaim)
	return t, nil
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
