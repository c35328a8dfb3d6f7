package bearer

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// Token is a verified JWT, or an opaque token the authorization server
// said is active (Introspection), whose claims are the members of that
// answer and whose Header is empty. It is immutable: accessors return copies, so
// nothing a handler does to what it gets can change what another request
// sees. Tokens come only from the middleware (Handler, Admit, Verify).
type Token struct {
	jws // the JWS the claims set came in

	iss, sub, jti string
	aud           []string
	audOne        [1]string // backs aud when it is a single string
	exp, nbf, iat time.Time
	present       uint8  // registered claims present and not null, by registeredClaim
	scope         string // raw JSON value of "scope", else of "scp"
	cnf           string // raw JSON value of "cnf": the token is bound to a key
	jkt           string // cnf.jkt: the thumbprint of the DPoP key

	claimsErr error // why the claims set is malformed, told once the signature holds
	m         *Middleware
}

// Subject returns the sub claim, or "".
func (t *Token) Subject() string { return t.sub }

// Issuer returns the iss claim, or "".
func (t *Token) Issuer() string { return t.iss }

// Audience returns the aud claim as a list (a single string becomes one
// element), or nil.
func (t *Token) Audience() []string { return slices.Clone(t.aud) }

// ID returns the jti claim, or "".
func (t *Token) ID() string { return t.jti }

// Expiry returns the exp claim, or the zero time.
func (t *Token) Expiry() time.Time { return t.exp }

// IssuedAt returns the iat claim, or the zero time.
func (t *Token) IssuedAt() time.Time { return t.iat }

// NotBefore returns the nbf claim, or the zero time.
func (t *Token) NotBefore() time.Time { return t.nbf }

// Scopes returns the token's scopes: the "scope" claim (a space-separated
// string, RFC 8693 §4.2) or, when absent, "scp" (an array, or a
// space-separated string as Entra ID sends it).
func (t *Token) Scopes() []string {
	var scopes []string
	t.eachScope(func(s string) bool {
		scopes = append(scopes, s)
		return true
	})
	return scopes
}

// HasScopes reports whether the token has every one of scopes.
func (t *Token) HasScopes(scopes ...string) bool {
	if len(scopes) > 64 {
		return !slices.ContainsFunc(scopes, func(s string) bool { return !t.HasScopes(s) })
	}
	// One pass over the token's scopes, marking the wanted ones it has.
	var have uint64
	t.eachScope(func(s string) bool {
		for i, want := range scopes {
			if s == want {
				have |= 1 << i
			}
		}
		return true
	})
	return have == 1<<len(scopes)-1
}

// hasAnyScope reports whether the token has at least one of scopes.
func (t *Token) hasAnyScope(scopes []string) bool {
	found := false
	t.eachScope(func(s string) bool {
		found = slices.Contains(scopes, s)
		return !found
	})
	return found
}

// eachScope calls fn for each scope until fn returns false.
func (t *Token) eachScope(fn func(string) bool) { eachWord(t.scope, fn) }

// eachWord calls fn, until it returns false, for each word of the raw JSON
// value v: a non-empty element of an array of strings, or a non-empty part
// of a string between spaces. Scopes come in both forms. Only SP (U+0020)
// separates words (RFC 6749 §3.3): "read\u00a0admin" is one word, not two,
// whatever unicode.IsSpace says.
func eachWord(v string, fn func(string) bool) {
	if s, ok := strictjson.String(v); ok {
		for f := range strings.SplitSeq(s, " ") {
			if f != "" && !fn(f) {
				return
			}
		}
		return
	}
	more := true
	strictjson.EachString(v, func(s string) {
		if more && s != "" {
			more = fn(s)
		}
	})
}

// DPoPThumbprint returns the RFC 7638 thumbprint of the key the token is
// bound to (cnf.jkt, RFC 9449 §6.1), or "" for a token that is not bound.
// A token with a thumbprint only ever passes the middleware with a DPoP
// proof signed by that key.
func (t *Token) DPoPThumbprint() string { return t.jkt }

// Claim returns the claim called name, decoded as encoding/json decodes into
// an any (numbers are float64). The name is matched exactly, so URL-style
// names ("https://example.com/roles") work. Each call decodes afresh: the
// result is the caller's to change.
func (t *Token) Claim(name string) (any, bool) {
	return member(t.payload, name)
}

// Header returns the JOSE header parameter called name (alg, kid, typ ...).
func (t *Token) Header(name string) (any, bool) {
	return member(t.header, name)
}

func member(object, name string) (any, bool) {
	raw, ok := strictjson.Find(object, name)
	if !ok {
		return nil, false
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, false
	}
	return v, true
}

// Decode decodes the claims set into v, as json.Unmarshal does, except
// that a member fills a struct field only when it spells the field's name
// exactly, as the verifier and Claim read names: where encoding/json would
// put a "Sub" or "ſub" member into a `json:"sub"` field, Decode returns an
// error and leaves v alone. (Two fields whose names differ only in case
// make every member of that name an error.) Types that decode themselves
// (json.Unmarshaler, encoding.TextUnmarshaler) are not looked into.
func (t *Token) Decode(v any) error {
	// The field names of a type are found once per middleware, as
	// encoding/json caches its own per type: handlers decode into the
	// same claims type on every request.
	names := exactNames{}
	if t.m != nil {
		names.fields = &t.m.claimTypes
	}
	if err := names.check(t.payload, reflect.TypeOf(v)); err != nil {
		return err
	}
	return json.Unmarshal([]byte(t.payload), v)
}

// Raw returns the token as it was received, for relaying to a downstream
// service.
func (t *Token) Raw() string { return t.raw }
