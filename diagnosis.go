package bearer

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// An answer has two readers (see Error): the client gets the fixed
// Description, the operator the cause, which says what was expected and
// what arrived. The cause is built here, and only when a check fails: a
// token that passes pays for none of it. Values read from the token are
// received values, cut and escaped; the token itself, its signature and key
// material are never part of a cause.

// maxReceived bounds a value quoted from a token, in bytes: enough for the
// issuer URLs of the big providers (Entra ID's are 80 bytes long), whose
// last byte is often what differs.
const maxReceived = 128

// maxListed bounds the values of a list quoted in a cause.
const maxListed = 8

// received quotes s, a value read from a token, for a cause: cut to
// maxReceived bytes (an ellipsis says so) and quoted as Go quotes strings,
// so that control characters and invalid UTF-8 are escaped, never written.
func received(s string) string {
	if len(s) <= maxReceived {
		return strconv.Quote(s)
	}
	cut := maxReceived
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// receivedList quotes at most maxListed values of list with received.
func receivedList(list []string) string { return quoteList(list, received) }

// expected quotes the configured values of list, at most maxListed of them:
// they are whole, since they come from the configuration, not the token.
func expected(list []string) string { return quoteList(list, strconv.Quote) }

func quoteList(list []string, quote func(string) string) string {
	return "[" + atMost(len(list), " ", func(i int) string { return quote(list[i]) }) + "]"
}

// atMost joins item(i) for the first maxListed of n items with sep, and
// says how many more there are.
func atMost(n int, sep string, item func(i int) string) string {
	var b strings.Builder
	for i := range min(n, maxListed) {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(item(i))
	}
	if n > maxListed {
		fmt.Fprintf(&b, "%sand %d more", sep, n-maxListed)
	}
	return b.String()
}

// because returns a copy of e whose cause adds to e's sentinel the detail
// explain writes. explain runs when the cause's text is asked for (a log
// line, an Observer), not when the token is refused: a refusal nobody
// reads costs a closure, not the formatting.
func because(e *Error, explain func() string) *Error {
	c := *e
	c.Err = &cause{e.Err, explain}
	return &c
}

// cause is a sentinel with the detail of one refusal.
type cause struct {
	sentinel error
	explain  func() string
}

func (c *cause) Error() string { return c.sentinel.Error() + ": " + c.explain() }
func (c *cause) Unwrap() error { return c.sentinel }

// dateOf formats a NumericDate for a cause.
func dateOf(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// issuerRejected explains errIssuer for t.
func (m *Middleware) issuerRejected(t *Token) *Error {
	if t.present&(1<<registeredClaim("iss")) == 0 {
		return because(errIssuer, func() string {
			return fmt.Sprintf("the token has no iss; want one of %s", expected(m.issuers))
		})
	}
	return because(errIssuer, func() string {
		return fmt.Sprintf("iss %s is not one of %s", received(t.iss), expected(m.issuers))
	})
}

// audienceRejected explains errAudience for t.
func audienceRejected(t *Token, want []string) *Error {
	if len(t.aud) == 0 {
		return because(errAudience, func() string {
			return fmt.Sprintf("the token has no aud; want one of %s", expected(want))
		})
	}
	return because(errAudience, func() string {
		return fmt.Sprintf("aud %s names none of %s", receivedList(t.aud), expected(want))
	})
}

// typeRejected explains errTokenType for t.
func (m *Middleware) typeRejected(t *Token) *Error {
	if t.typ == "" {
		return because(errTokenType, func() string {
			return fmt.Sprintf("the token has no typ header; want %q", m.tokenType)
		})
	}
	return because(errTokenType, func() string {
		return fmt.Sprintf("typ %s, want %q", received(t.typ), m.tokenType)
	})
}

// algorithmRejected explains errAlgorithm for a token whose alg the
// allowlist does not hold.
func (m *Middleware) algorithmRejected(t *Token) *Error {
	return because(errAlgorithm, func() string {
		return fmt.Sprintf("alg %s; allowed: %s", t.alg, m.allow)
	})
}

// headerAlgorithm explains an errAlgorithm of parse, which refuses "none"
// and names it does not know before there is a Token: the header is read
// again, when the cause is read, for the alg that arrived.
func headerAlgorithm(raw string) *Error {
	return because(errAlgorithm, func() string {
		alg := "(unreadable)"
		if dot := strings.IndexByte(raw, '.'); dot > 0 {
			if header, err := b64.DecodeString(raw[:dot]); err == nil {
				if v, ok := strictjson.Find(string(header), "alg"); ok {
					if s, ok := strictjson.String(v); ok {
						alg = received(s)
					}
				}
			}
		}
		return fmt.Sprintf("alg %s is not a signature algorithm this package verifies", alg)
	})
}

// signatureRejected explains the errors of Token.verifySignature: no
// candidate key verifies the token's alg, or none verifies its signature.
func signatureRejected(err error, t *Token, keys []*verifyKey) error {
	var offered algSet
	for _, k := range keys {
		offered |= k.algs
	}
	n := len(keys)
	switch err {
	case errAlgorithm:
		return because(errAlgorithm, func() string {
			return fmt.Sprintf("alg %s, but the %d key(s) for %s verify %s", t.alg, n, kidOf(t), offered)
		})
	case errSignature:
		return because(errSignature, func() string {
			return fmt.Sprintf("no key of the %d for %s and alg %s verifies it", n, kidOf(t), t.alg)
		})
	}
	return err
}

// kidOf names the token's kid for a cause.
func kidOf(t *Token) string {
	if !t.hasKid {
		return "a token without kid"
	}
	return "kid " + received(t.kid)
}

// keyIDLister is a key store that can say which kids it holds, for the
// cause of errUnknownKey.
type keyIDLister interface {
	// keyIDs returns at most maxListed kids of the keys that may verify
	// iss's tokens, and how many keys there are in all.
	keyIDs(iss string) (kids []string, total int)
}

// keyRejected explains the errUnknownKey of a key lookup for t; other
// errors are returned as they are.
func (m *Middleware) keyRejected(err error, t *Token) error {
	if err != errUnknownKey {
		return err
	}
	l, ok := m.keys.(keyIDLister)
	if !ok {
		return because(errUnknownKey, func() string {
			return fmt.Sprintf("%s is not in the key set", kidOf(t))
		})
	}
	// The key set is listed when the cause is read (a log line, at once),
	// not for each refusal: a flood of made-up kids pays for no list.
	return because(errUnknownKey, func() string {
		kids, total := l.keyIDs(t.iss)
		return fmt.Sprintf("%s is not in the key set, which holds %d key(s) with kids %s", kidOf(t), total, receivedList(kids))
	})
}

func (s *staticStore) keyIDs(string) ([]string, int) {
	var kids []string
	for _, k := range s.all {
		if len(kids) == maxListed {
			break
		}
		if k.kid != "" {
			kids = append(kids, k.kid)
		}
	}
	return kids, len(s.all)
}

func (st *remoteStore) keyIDs(iss string) ([]string, int) {
	if s := st.snap.Load(); s.set != nil {
		return s.set.keyIDs(iss)
	}
	return nil, 0
}

func (ms *multiStore) keyIDs(iss string) ([]string, int) {
	if l, ok := ms.byIssuer[iss].(keyIDLister); ok {
		return l.keyIDs(iss)
	}
	return nil, 0
}

// expiryRejected and the functions below explain checkTime's answers.
func (m *Middleware) expiryRejected(t *Token, now time.Time) *Error {
	return because(errExpired, func() string {
		return fmt.Sprintf("exp %s, now %s (leeway %s)", dateOf(t.exp), dateOf(now), m.leeway)
	})
}

func (m *Middleware) notBeforeRejected(t *Token, now time.Time) *Error {
	return because(errNotYetValid, func() string {
		return fmt.Sprintf("nbf %s, now %s (leeway %s)", dateOf(t.nbf), dateOf(now), m.leeway)
	})
}

func (m *Middleware) issuedAtRejected(t *Token, now time.Time) *Error {
	return because(errIssuedInFuture, func() string {
		return fmt.Sprintf("iat %s, now %s (leeway %s)", dateOf(t.iat), dateOf(now), m.leeway)
	})
}

// registeredNames are the names registeredClaim numbers, by number.
var registeredNames = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// missingClaim explains errMissingClaim: name is the first required claim
// the token lacks.
func missingClaim(name string) *Error {
	return because(errMissingClaim, func() string {
		return fmt.Sprintf("the token has no %s claim", strconv.Quote(name))
	})
}

// firstMissing is the name of the first registered claim of required that
// present lacks.
func firstMissing(required, present uint8) string {
	for i, name := range registeredNames {
		if required&(1<<i) != 0 && present&(1<<i) == 0 {
			return name
		}
	}
	return ""
}
