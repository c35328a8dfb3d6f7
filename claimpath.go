package bearer

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// ClaimPath names a claim inside the claims set: the first name is a
// member of the claims set, each next one a member of the object before
// it. Each name is matched exactly, as Token.Claim matches it: a dot is
// part of a name, never a separator, so URL claim names
// ("https://example.com/roles") and client ids with dots need no escaping.
//
//	bearer.Claim("realm_access", "roles").Includes("admin")              // Keycloak realm roles
//	bearer.Claim("resource_access", "orders-api", "roles").Includes("x") // Keycloak client roles
//	bearer.Claim("https://example.com/roles").Includes("admin", "ops")  // Auth0 namespaced claim
//
// A path that goes through anything but an object (an array, a string)
// names nothing: arrays are not indexed.
type ClaimPath struct {
	names []string
}

// Claim returns the path of names into the claims set. It panics without a
// name: a programming error, found at start-up.
func Claim(names ...string) ClaimPath {
	if len(names) == 0 {
		panic("bearer: Claim needs at least one name")
	}
	return ClaimPath{names: slices.Clone(names)}
}

// String returns the path's names as a JSON array, for logs.
func (p ClaimPath) String() string {
	b, _ := json.Marshal(p.names)
	return string(b)
}

// raw returns the raw JSON value at p in the claims set of t.
func (p ClaimPath) raw(t *Token) (string, bool) {
	v := t.payload
	for _, name := range p.names {
		var ok bool
		if v, ok = strictjson.Find(v, name); !ok {
			return "", false
		}
	}
	return v, true
}

// In returns the value at p in t's claims, decoded as Token.Claim decodes
// it, and whether there is one.
func (p ClaimPath) In(t *Token) (any, bool) {
	raw, ok := p.raw(t)
	if !ok {
		return nil, false
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, false
	}
	return v, true
}

// Equals requires the claim at p to equal one of values, compared as JSON
// values: Claim("tenant").Equals("acme"), Claim("email_verified").Equals(true).
func (p ClaimPath) Equals(values ...any) Rule {
	want := make([]any, len(values))
	for i, v := range values {
		want[i] = jsonValue(v)
	}
	return func(t *Token) error {
		got, ok := p.In(t)
		if ok {
			for _, w := range want {
				if reflect.DeepEqual(got, w) {
					return nil
				}
			}
		}
		return errClaim
	}
}

// Includes requires the claim at p to include at least one of values: as
// an element of an array of strings (roles, groups), or as a word of a
// string whose words are separated by spaces (U+0020 only: any other white
// space is part of a word). An array with anything but strings in it
// includes nothing. It panics without a value.
func (p ClaimPath) Includes(values ...string) Rule {
	if len(values) == 0 {
		panic(fmt.Sprintf("bearer: %s Includes needs at least one value", p))
	}
	values = slices.Clone(values)
	return func(t *Token) error {
		raw, _ := p.raw(t)
		if !isWordsValue(raw) {
			return errClaim
		}
		found := false
		eachWord(raw, func(s string) bool {
			found = slices.Contains(values, s)
			return !found
		})
		if !found {
			return errClaim
		}
		return nil
	}
}

// Exists requires a claim at p, of any value but null: for roles kept as
// the member names of an object, as zitadel keeps them
// (Claim("urn:zitadel:iam:org:project:roles", "admin").Exists()).
func (p ClaimPath) Exists() Rule {
	return func(t *Token) error {
		if raw, ok := p.raw(t); !ok || raw == "null" {
			return errClaim
		}
		return nil
	}
}
