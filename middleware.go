package bearer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Defaults.
const (
	// DefaultLeeway absorbs clock skew between issuer and server when exp,
	// nbf and iat are checked.
	DefaultLeeway = 30 * time.Second
	// DefaultMaxTokenSize bounds the token before any parsing. Ordinary
	// access tokens are 1-2 KiB; 8 KiB also fits large Entra ID tokens.
	DefaultMaxTokenSize = 8 << 10
)

// Middleware verifies bearer tokens. It is safe for concurrent use and
// immutable after New.
type Middleware struct {
	keys           keyStore
	env            sourceEnv // what options tell the key source
	allow          algSet
	extract        Extractor
	onError        ErrorHandler
	realm          string
	issuers        []string
	audiences      []string
	issuerAud      map[string][]string // per issuer, replacing audiences (Issuers)
	leeway         time.Duration
	clock          func() time.Time
	tokenType      string
	maxSize        int
	requiredClaims []string
	required       requiredClaims // requiredClaims, split once by New
	validators     []func(context.Context, *Token) error
	expiryOptional bool
	mode           Mode
	skip           []func(*http.Request) bool
	preflight      http.Handler // answers CORS preflights (WithCORSPreflight)
	scopeClaim     string       // "" reads "scope", then "scp"
	metadata       *ResourceMetadata
	metadataURL    string // the resource_metadata challenge parameter
	profile        bool   // WithAccessTokenProfile
	refuseIDTokens bool   // WithoutIDTokens
	anyAudience    bool   // WithoutAudienceCheck
	anyIssuer      bool   // WithoutIssuerCheck
	dpop           *dpopConfig
	observer       Observer     // WithObserver, joined with the logger's by New
	logger         *slog.Logger // WithLogger; nil: requests are not logged
	onErrorSet     bool         // WithErrorHandler: onError needs the headers set for it
	given          givenOptions // options given, for their conflicts; nil after New

	revoker            Revoker // WithRevocation
	revocationFailOpen bool

	cacheEntries int
	cache        *tokenCache // nil when disabled
	claimTypes   sync.Map    // reflect.Type → fieldNames, for Decode and ClaimsFrom
}

// Mode says what happens to requests without a valid token.
type Mode uint8

const (
	// Required: every request needs a valid token. The default.
	Required Mode = iota
	// CredentialsOptional: a request without a token passes on anonymous;
	// a present but bad token is refused.
	CredentialsOptional
	// AllowFailed: a request whose token is missing or bad passes on
	// anonymous; the handler finds the reason with ErrorFrom. Use it
	// where the handler decides (a page that shows more to signed-in
	// users), never as a way to silence failures.
	AllowFailed
)

// String returns the Mode's name, as Go spells it: "Required",
// "CredentialsOptional", "AllowFailed".
func (mode Mode) String() string {
	switch mode {
	case Required:
		return "Required"
	case CredentialsOptional:
		return "CredentialsOptional"
	case AllowFailed:
		return "AllowFailed"
	}
	return fmt.Sprintf("Mode(%d)", uint8(mode))
}

// New returns a Middleware that verifies tokens with the keys of keys. A bad
// configuration is an error, never a panic: it matches ErrConfig, and the
// more specific sentinel where there is one (ErrWeakKey, ErrInsecureURL
// ...). Call Close when done with it: a remote key source runs in the
// background.
func New(keys KeySource, opts ...Option) (*Middleware, error) {
	m, err := build(keys, opts)
	if err != nil {
		return nil, configError(err)
	}
	return m, nil
}

// build is New, with errors that need not match ErrConfig yet.
func build(keys KeySource, opts []Option) (*Middleware, error) {
	if keys == nil {
		return nil, errors.New("bearer: nil KeySource")
	}
	m := &Middleware{
		allow:   hmacAlgs | asymmetricAlgs,
		extract: authorizationHeader,
		leeway:  DefaultLeeway,
		clock:   time.Now,
		maxSize: DefaultMaxTokenSize,

		cacheEntries: DefaultTokenCacheEntries,
	}
	m.onError = m.WriteError
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(m); err != nil {
			return nil, err
		}
	}
	m.given = nil
	m.openObserver()
	m.required = splitRequired(m.requiredClaims)
	if err := m.checkRevocationConfig(); err != nil {
		return nil, err
	}
	if m.env.allow != 0 {
		m.allow = m.env.allow
	}
	store, err := keys.open(m.env)
	if err != nil {
		return nil, err
	}
	if bound := store.issuers(); bound != nil {
		if err := m.bindIssuers(bound); err != nil {
			store.close()
			return nil, err
		}
	}
	if err := m.checkProfile(); err != nil {
		store.close()
		return nil, err
	}
	if err := m.checkTrust(); err != nil {
		store.close()
		return nil, err
	}
	m.keys = store
	if m.cacheEntries > 0 {
		m.cache = newTokenCache(m.cacheEntries)
	}
	return m, nil
}

// checkTrust makes sure every accepted token names this service in its aud
// and a trusted issuer in its iss (RFC 8725 §3.9, §3.10), unless an option
// that names the risk waives the check. Without both, a token minted for
// another API, or by another tenant of a shared key set, would pass.
func (m *Middleware) checkTrust() error {
	if m.anyIssuer && len(m.issuers) > 0 {
		return fmt.Errorf("%w: WithoutIssuerCheck conflicts with the issuers set by WithIssuer, Discover or Issuers", ErrConfig)
	}
	if m.anyAudience && len(m.audiences) > 0 {
		return fmt.Errorf("%w: WithoutAudienceCheck conflicts with WithAudience", ErrConfig)
	}
	if len(m.issuers) == 0 && !m.anyIssuer {
		return fmt.Errorf("%w: no issuer to check: add WithIssuer with the exact iss of your tokens, or WithoutIssuerCheck to accept any issuer (RFC 8725 §3.10)", ErrConfig)
	}
	if len(m.audiences) > 0 || m.anyAudience {
		return nil
	}
	for _, iss := range m.issuers {
		if len(m.issuerAud[iss]) == 0 {
			return fmt.Errorf("%w: no audience to check for issuer %q: add WithAudience with this service's identifier (TrustedIssuer.Audience with Issuers), or WithoutAudienceCheck to accept any audience (RFC 8725 §3.9)", ErrConfig, iss)
		}
	}
	if len(m.issuers) == 0 {
		return fmt.Errorf("%w: no audience to check: add WithAudience with this service's identifier, or WithoutAudienceCheck to accept any audience (RFC 8725 §3.9)", ErrConfig)
	}
	return nil
}

// checkProfile makes sure that, under WithAccessTokenProfile, every token
// has its audience checked (RFC 9068 §4): WithAudience, or an Audience for
// each trusted issuer.
func (m *Middleware) checkProfile() error {
	if !m.profile {
		return nil
	}
	if m.anyAudience {
		return fmt.Errorf("%w: WithoutAudienceCheck conflicts with WithAccessTokenProfile, which requires the audience check (RFC 9068 §4)", ErrConfig)
	}
	if m.tokenType != "at+jwt" {
		return fmt.Errorf("%w: WithTokenType(%q) contradicts the at+jwt of WithAccessTokenProfile", ErrConfig, m.tokenType)
	}
	if m.expiryOptional {
		return fmt.Errorf("%w: WithExpiryOptional contradicts WithAccessTokenProfile, whose tokens must have exp (RFC 9068 §2.2)", ErrConfig)
	}
	if len(m.audiences) > 0 {
		return nil
	}
	for _, iss := range m.issuers {
		if len(m.issuerAud[iss]) == 0 {
			return fmt.Errorf("bearer: WithAccessTokenProfile needs an audience for issuer %q: WithAudience or TrustedIssuer.Audience (RFC 9068 §4)", iss)
		}
	}
	if len(m.issuers) == 0 {
		return errors.New("bearer: WithAccessTokenProfile needs WithAudience (RFC 9068 §4)")
	}
	return nil
}

// Handler returns next wrapped: requests with a valid token reach next with
// the token in their context; others get the error answer, or pass on
// anonymous as the Mode says. CORS preflights go to the handler of
// WithCORSPreflight, never to next.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.ServePreflight(w, r) {
			return
		}
		r, err := m.Admit(r)
		if err != nil {
			m.HandleError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Admit applies the middleware to r without writing anything: it returns
// the request to pass on (r itself when a skip rule matches; otherwise a
// copy whose context has the token, or is marked anonymous as the Mode
// allows) or the error to answer with. Handler and the framework adapters
// are built on it. A CORS preflight needs a token here as any request
// does: call ServePreflight first.
func (m *Middleware) Admit(r *http.Request) (*http.Request, error) {
	if m.skips(r) {
		return r, nil
	}
	t, cached, err := m.authenticate(r)
	ctx, e := m.admit(r.Context(), t, cached, err)
	if e != nil {
		return r, e
	}
	return r.WithContext(ctx), nil
}

// AdmitHeader is Admit for calls that are not an *http.Request, such as
// gRPC calls: values are the call's Authorization header values (gRPC
// metadata "authorization"), read by the rules of AuthorizationHeader
// whatever WithExtractor says. It returns the context to pass on, with the
// token or marked anonymous as the Mode allows, or the error to answer
// with. Skip rules, which look at HTTP requests, do not apply; nor do DPoP
// proofs, which sign an HTTP method and URL: under WithDPoP with Required
// set, every call is refused.
func (m *Middleware) AdmitHeader(ctx context.Context, values []string) (context.Context, error) {
	raw, err := bearerCredentials(values)
	var t *Token
	var cached bool
	switch {
	case err != nil:
	case m.dpop != nil && m.dpop.required:
		err = errDPoPRequired
	default:
		t, cached, err = m.verifyBearer(ctx, raw)
	}
	next, e := m.admit(ctx, t, cached, err)
	if e != nil {
		return nil, e
	}
	return next, nil
}

// admit turns the outcome of authentication into the context to pass on,
// or the error to answer with, as the Mode says.
func (m *Middleware) admit(ctx context.Context, t *Token, cached bool, err error) (context.Context, *Error) {
	if err == nil {
		if m.observer != nil {
			m.observer.TokenVerified(ctx, t, cached)
		}
		return NewContext(ctx, t), nil
	}
	e := errorFrom(copyError(err))
	noToken := errors.Is(e, ErrNoToken)
	if m.mode == AllowFailed || m.mode == CredentialsOptional && noToken {
		if m.observer != nil {
			if noToken {
				m.observer.Anonymous(ctx)
			} else {
				m.observer.TokenRejected(ctx, e)
			}
		}
		return context.WithValue(ctx, anonymousKey{}, &anonymous{m, e}), nil
	}
	if m.observer != nil {
		m.observer.TokenRejected(ctx, e)
	}
	return nil, e
}

// authenticate extracts the token from r and verifies it, and tells whether
// the verified-token cache answered. It writes nothing.
func (m *Middleware) authenticate(r *http.Request) (*Token, bool, error) {
	if m.dpop != nil {
		return m.authenticateDPoP(r)
	}
	raw, err := m.extract(r)
	if err != nil {
		return nil, false, errorFrom(err)
	}
	return m.verifyBearer(r.Context(), raw)
}

// Ready waits until the middleware can verify tokens: at once for static
// keys, until the first successful fetch for remote ones (every issuer's,
// for Issuers). While there are no keys it asks for a fetch, within the
// key-miss budget. When ctx ends first, or the middleware is closed, it
// returns an error wrapping ErrKeysUnavailable and the last fetch error; a
// configuration error found by a fetch (ErrIssuerMismatch) it returns at
// once. Call it in main to start serving with keys at hand, or to fail
// fast:
//
//	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
//	defer cancel()
//	if err := m.Ready(ctx); err != nil {
//		log.Fatal(err)
//	}
func (m *Middleware) Ready(ctx context.Context) error {
	return m.keys.ready(ctx, true)
}

// Check reports, without waiting, whether the middleware can verify tokens
// now: nil, or an error wrapping ErrKeysUnavailable and the last fetch
// error. Without keys it also asks for a fetch, within the key-miss budget,
// so that a readiness probe helps keys come back. It suits readiness probes
// and health-check libraries; ctx is not used.
func (m *Middleware) Check(ctx context.Context) error {
	return m.keys.ready(ctx, false)
}

// Refresh fetches the remote key sets now and waits for the outcome: nil,
// or the fetch's error (the keys at hand are kept). It is the operator's
// lever when a key must stop verifying before the next scheduled refresh:
// withdraw the key at the provider, then call Refresh on every instance
// (from an admin endpoint or a signal handler); tokens of the withdrawn key
// get 401 from then on, cached ones included. Refresh shares the key-miss
// budget (RemoteKeyMissCooldown): under a flood it may wait for the next
// allowed fetch, bounded by ctx. For Issuers it refreshes every issuer's
// keys; static keys need nothing.
func (m *Middleware) Refresh(ctx context.Context) error {
	return m.keys.refetch(ctx)
}

// Close stops the key source's background work and waits for it.
func (m *Middleware) Close() error {
	return m.keys.close()
}
