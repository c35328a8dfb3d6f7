package bearer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// An Option configures a Middleware in New.
type Option func(m *Middleware) error

// givenOptions records the options given to one constructor (New,
// RemoteJWKS, Discover), by name, with their values.
type givenOptions map[string]string

// once records that the option name was given, with value. Given again
// with another value it is a conflict, an ErrConfig: options never
// silently override each other. Value "" (a function, which cannot be
// compared) conflicts with any second one. Options that add to a list
// (WithIssuer, WithAudience, WithValidator ...) do not call it.
func (g *givenOptions) once(name, value string) error {
	prev, given := (*g)[name]
	if given && (value == "" || prev != value) {
		if value == "" {
			return fmt.Errorf("%w: %s given twice; give it once", ErrConfig, name)
		}
		return fmt.Errorf("%w: %s(%s) after %s(%s); give one", ErrConfig, name, value, name, prev)
	}
	if *g == nil {
		*g = make(givenOptions)
	}
	(*g)[name] = value
	return nil
}

// WithIssuer accepts tokens whose iss is one of iss (exact match, so
// "https://idp.example/" and "https://idp.example" differ). New requires it,
// or WithoutIssuerCheck, for key sources that do not bind issuers
// themselves (Discover and Issuers do).
func WithIssuer(iss ...string) Option {
	return func(m *Middleware) error {
		if len(iss) == 0 || slices.Contains(iss, "") {
			return errors.New("bearer: WithIssuer needs non-empty issuers")
		}
		m.issuers = append(m.issuers, iss...)
		return nil
	}
}

// WithAudience accepts tokens whose aud names at least one of aud. New
// requires it, an audience for each issuer of Issuers, or
// WithoutAudienceCheck: without it a token the issuer minted for any other
// API would be good for this one (RFC 8725 §3.9).
func WithAudience(aud ...string) Option {
	return func(m *Middleware) error {
		if len(aud) == 0 || slices.Contains(aud, "") {
			return errors.New("bearer: WithAudience needs non-empty audiences")
		}
		m.audiences = append(m.audiences, aud...)
		return nil
	}
}

// WithoutAudienceCheck accepts tokens whatever their aud says. It is for
// an issuer that mints tokens for this service alone (an application's own
// login endpoint); with a shared identity provider it lets every token the
// provider issued for another API in (RFC 8725 §3.9). It conflicts with
// WithAudience.
func WithoutAudienceCheck() Option {
	return func(m *Middleware) error {
		m.anyAudience = true
		return nil
	}
}

// WithoutIssuerCheck accepts tokens whatever their iss says. It is for a key
// that only one issuer holds; where keys or a JWKS endpoint could serve
// several issuers, a token of one would pass as another's (RFC 8725 §3.10).
// It conflicts with WithIssuer, Discover and Issuers, which bind issuers.
func WithoutIssuerCheck() Option {
	return func(m *Middleware) error {
		m.anyIssuer = true
		return nil
	}
}

// WithLeeway sets the clock skew tolerated when exp, nbf and iat are
// checked. The default is DefaultLeeway (30s).
func WithLeeway(d time.Duration) Option {
	return func(m *Middleware) error {
		if d < 0 {
			return fmt.Errorf("bearer: WithLeeway(%s): the leeway cannot be negative", d)
		}
		if err := m.given.once("WithLeeway", d.String()); err != nil {
			return err
		}
		m.leeway = d
		return nil
	}
}

// WithAlgorithms narrows the accepted algorithms to names ("RS256",
// "ES256", "EdDSA", "HS256" ...). Keys still decide: a name here never lets
// a key verify an algorithm of another key type. For Secret it widens the
// default HS256 to the HMAC algorithms named. "none" is not an algorithm.
func WithAlgorithms(names ...string) Option {
	return func(m *Middleware) error {
		algs, err := parseAlgorithms(names)
		if err != nil {
			return err
		}
		if algs == 0 {
			return errors.New("bearer: WithAlgorithms needs at least one algorithm")
		}
		if err := m.given.once("WithAlgorithms", algs.String()); err != nil {
			return err
		}
		m.env.allow = algs
		return nil
	}
}

// WithExtractor sets where tokens are read from. The default is
// AuthorizationHeader().
func WithExtractor(e Extractor) Option {
	return func(m *Middleware) error {
		if e == nil {
			return errors.New("bearer: WithExtractor(nil): pass an Extractor, or leave the option out for AuthorizationHeader()")
		}
		if err := m.given.once("WithExtractor", ""); err != nil {
			return err
		}
		m.extract = e
		return nil
	}
}

// WithErrorHandler replaces WriteError as the answer to failed requests,
// in Handler, in Require and RequireScopes behind it, and in HandleError,
// for a body of another form (application/problem+json, say). h writes
// the status and the body; the headers RFC 6750 and RFC 9449 call for
// (WWW-Authenticate, Retry-After, DPoP-Nonce) and Cache-Control: no-store
// are already set on w when h is called, so a custom body costs no
// challenge. In h, MiddlewareFrom(r.Context()) is the middleware that
// answers, and ErrorFrom(r.Context()) the *Error err is.
func WithErrorHandler(h ErrorHandler) Option {
	return func(m *Middleware) error {
		if h == nil {
			return errors.New("bearer: WithErrorHandler(nil): pass an ErrorHandler, or leave the option out for WriteError")
		}
		if err := m.given.once("WithErrorHandler", ""); err != nil {
			return err
		}
		m.onError, m.onErrorSet = h, true
		return nil
	}
}

// WithMode sets what happens to requests without a valid token; the
// default is Required.
func WithMode(mode Mode) Option {
	return func(m *Middleware) error {
		if mode > AllowFailed {
			return fmt.Errorf("bearer: WithMode(%d): not a Mode; use Required, CredentialsOptional or AllowFailed", mode)
		}
		if err := m.given.once("WithMode", mode.String()); err != nil {
			return err
		}
		m.mode = mode
		return nil
	}
}

// WithScopeClaim reads scopes from the claim name (an array of strings or
// a space-separated string), e.g. "permissions" for Auth0's RBAC, instead
// of "scope" and "scp".
func WithScopeClaim(name string) Option {
	return func(m *Middleware) error {
		if name == "" {
			return errors.New("bearer: WithScopeClaim(\"\"): name the claim that holds the scopes")
		}
		if err := m.given.once("WithScopeClaim", name); err != nil {
			return err
		}
		m.scopeClaim = name
		return nil
	}
}

// WithAccessTokenProfile accepts only JWT access tokens of RFC 9068: typ
// "at+jwt", and iss, exp, aud, sub, client_id, iat and jti all present. An
// ID token, which a client could otherwise present to an API, is refused.
// RFC 9068 §4 requires the audience check: New fails without WithAudience.
func WithAccessTokenProfile() Option {
	return func(m *Middleware) error {
		m.tokenType = "at+jwt"
		m.requiredClaims = append(m.requiredClaims, "iss", "exp", "aud", "sub", "client_id", "iat", "jti")
		m.profile = true
		return nil
	}
}

// WithRealm sets the realm of WWW-Authenticate challenges (RFC 6750 §3).
// By default challenges carry no realm.
func WithRealm(realm string) Option {
	return func(m *Middleware) error {
		if strings.ContainsFunc(realm, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("bearer: WithRealm(%q): a realm cannot hold control characters", realm)
		}
		if err := m.given.once("WithRealm", realm); err != nil {
			return err
		}
		m.realm = realm
		return nil
	}
}

// WithRequiredClaims refuses tokens without each of the claims names (a
// claim set to null counts as absent).
func WithRequiredClaims(names ...string) Option {
	return func(m *Middleware) error {
		m.requiredClaims = append(m.requiredClaims, names...)
		return nil
	}
}

// WithValidator adds a check run on every token whose signature and
// standard claims hold. A non-nil error rejects the token: an *Error is
// answered as it is; any other error becomes 401 invalid_token "token
// rejected" wrapping ErrRejected, its text kept out of the answer.
func WithValidator(fn func(ctx context.Context, t *Token) error) Option {
	return func(m *Middleware) error {
		if fn == nil {
			return errors.New("bearer: nil validator")
		}
		m.validators = append(m.validators, fn)
		return nil
	}
}

// WithClock sets the source of the current time, for tests.
func WithClock(now func() time.Time) Option {
	return func(m *Middleware) error {
		if now == nil {
			return errors.New("bearer: WithClock(nil): pass a clock, or leave the option out for time.Now")
		}
		if err := m.given.once("WithClock", ""); err != nil {
			return err
		}
		m.clock = now
		return nil
	}
}

// WithTokenType requires the typ header to be typ, compared as RFC 7515
// §4.1.9 says (case-insensitively, "application/" optional). Use "at+jwt"
// to accept only RFC 9068 access tokens, so that ID tokens are refused.
func WithTokenType(typ string) Option {
	return func(m *Middleware) error {
		if typ = normalizeType(typ); typ == "" {
			return errors.New("bearer: WithTokenType(\"\"): name the typ tokens must have, such as \"at+jwt\"")
		}
		if err := m.given.once("WithTokenType", typ); err != nil {
			return err
		}
		m.tokenType = typ
		return nil
	}
}

// WithMaxTokenSize sets the largest token accepted, in bytes; larger ones
// are refused before any parsing. The default is DefaultMaxTokenSize.
func WithMaxTokenSize(n int) Option {
	return func(m *Middleware) error {
		if n <= 0 {
			return fmt.Errorf("bearer: WithMaxTokenSize(%d): the size must be positive", n)
		}
		if err := m.given.once("WithMaxTokenSize", strconv.Itoa(n)); err != nil {
			return err
		}
		m.maxSize = n
		return nil
	}
}

// WithExpiryOptional accepts tokens without an exp claim. Such tokens are
// valid until their key is withdrawn; prefer short-lived tokens.
func WithExpiryOptional() Option {
	return func(m *Middleware) error {
		m.expiryOptional = true
		return nil
	}
}

// WithTokenCache sets how many verified tokens the middleware remembers, so
// that a token sent again skips parsing and the signature check; 0 turns
// the cache off. The default is DefaultTokenCacheEntries. A cached token
// gets the same answer as a fresh one: exp, nbf and iat are checked on every
// request, validators and the revocation check run on every request,
// failures are never cached, and a token stops working as soon as the key
// that verified it is no longer offered by the key source. Tokens over 4 KiB
// are not cached. The cache takes no lock: requests on all cores share it.
func WithTokenCache(entries int) Option {
	return func(m *Middleware) error {
		if entries < 0 {
			return fmt.Errorf("bearer: WithTokenCache(%d): the size cannot be negative; 0 turns the cache off", entries)
		}
		if err := m.given.once("WithTokenCache", strconv.Itoa(entries)); err != nil {
			return err
		}
		m.cacheEntries = entries
		return nil
	}
}
