package bearer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bearerauth/bearer/internal/strictjson"
)

// Introspection defaults.
const (
	// DefaultIntrospectionCacheTTL caps how long a positive answer of the
	// introspection endpoint is reused: a token revoked at the
	// authorization server passes for at most this long.
	DefaultIntrospectionCacheTTL = time.Minute
	// DefaultIntrospectionCacheEntries bounds the cache of positive answers.
	DefaultIntrospectionCacheEntries = 1024
	// DefaultIntrospectionTimeout bounds one call to the endpoint.
	DefaultIntrospectionTimeout = 5 * time.Second
	// DefaultIntrospectionMaxResponse bounds the endpoint's answer.
	DefaultIntrospectionMaxResponse = 64 << 10
	// DefaultIntrospectionConcurrency bounds the calls in flight at once,
	// so that a flood of made-up tokens, each of which needs a call, cannot
	// become a flood on the authorization server.
	DefaultIntrospectionConcurrency = 32
)

// Introspection errors.
var (
	// ErrInactive: the introspection endpoint said the token is not active
	// (RFC 7662 §2.2): unknown, expired, revoked, or not for this client.
	ErrInactive = errors.New("bearer: token not active")
	// ErrIntrospectionUnavailable: the introspection endpoint could not be
	// asked, or gave no usable answer; the token may be fine, so the
	// answer is 503 with Retry-After, never 401.
	ErrIntrospectionUnavailable = errors.New("bearer: token introspection unavailable")
)

var errInactive = invalidToken(ErrInactive, "token not active")

// introspectionRetryAfter is the Retry-After of a 503 when the endpoint
// named none: a failed call is retried per request, so a client may come
// back soon.
const introspectionRetryAfter = 2 * time.Second

func errIntrospection(cause error, retryAfter time.Duration) *Error {
	e := unavailable(fmt.Errorf("%w: %w", ErrIntrospectionUnavailable, cause), "token introspection unavailable")
	e.RetryAfter = max(retryAfter, introspectionRetryAfter)
	return e
}

// Introspection verifies opaque access tokens by asking the authorization
// server's introspection endpoint (RFC 7662), for servers that issue
// tokens a resource server cannot read (Hydra's default, Keycloak and
// most in-house servers on request):
//
//	m, err := bearer.New(bearer.Introspection("https://idp.example.com/oauth2/introspect",
//		bearer.ClientSecretBasic("orders-api", secret)),
//		bearer.WithIssuer("https://idp.example.com/"), bearer.WithAudience("orders-api"))
//
// Which tokens go there: a token that is not a JWS compact serialization
// (not three segments separated by two dots) is opaque, and only opaque
// tokens are introspected; a JWS is verified with keys. In Issuers, where
// an opaque token has no readable iss to select an issuer, opaque tokens go
// to the one issuer whose Keys are an Introspection source (New refuses
// two: a token would be disclosed to a server that did not issue it), and
// JWTs go by their iss as always.
//
// The answer must say "active": true. Its members are the token's
// claims: exp, nbf, iat, iss, aud, sub, jti, scope, cnf and the rest are
// read and checked as a JWT's are, so the issuer and audience checks,
// rules, Token accessors, revocation and DPoP (cnf.jkt) work unchanged.
// An answer without iss gets the issuer this source is bound to
// (IntrospectionDiscover, TrustedIssuer.Issuer, or the single WithIssuer);
// an answer naming another issuer is refused. An answer without exp fails
// unless WithExpiryOptional.
//
// Positive answers are cached (IntrospectionCache), never beyond exp nor
// longer than the TTL; failures are not cached; concurrent requests with
// the same token share one call. An endpoint that cannot be reached,
// times out (IntrospectionTimeout), answers with anything but 200, or
// with more than DefaultIntrospectionMaxResponse bytes or a malformed
// document, gets the request 503 with Retry-After (ErrIntrospectionUnavailable):
// "could not ask" is never "bad token". Redirects are not followed: the
// token would go to another place than the one configured.
//
// The endpoint must be https (http on loopback, for tests).
func Introspection(endpoint string, opts ...IntrospectionOption) KeySource {
	return &introspectionSource{endpoint: endpoint, opts: slices.Clone(opts)}
}

// IntrospectionDiscover is Introspection with the endpoint read from
// issuerURL's metadata: its /.well-known/openid-configuration, whose
// issuer must be exactly issuerURL and whose introspection_endpoint is
// used (OpenID Connect Discovery 1.0; a server that publishes only RFC 8414
// metadata at /.well-known/oauth-authorization-server is not read: use
// Introspection with its endpoint). It binds the issuer, as Discover does: WithIssuer is
// not needed. The document is read on the first opaque token, and read
// again on the next one while it could not be had.
func IntrospectionDiscover(issuerURL string, opts ...IntrospectionOption) KeySource {
	return &introspectionSource{issuer: issuerURL, discover: true, opts: slices.Clone(opts)}
}

// An IntrospectionOption configures Introspection.
type IntrospectionOption func(*introspectionConfig) error

type introspectionConfig struct {
	auth        clientAuth
	client      *http.Client
	timeout     time.Duration
	ttl         time.Duration
	entries     int
	maxSize     int64
	concurrency int
	jwtKeys     KeySource // RFC 9701 responses, and this issuer's JWTs
}

// IntrospectionHTTPClient sets the client that calls the endpoint; its
// redirect policy is replaced (no redirects) and its Timeout by
// IntrospectionTimeout.
func IntrospectionHTTPClient(c *http.Client) IntrospectionOption {
	return func(cfg *introspectionConfig) error {
		if c == nil {
			return errNilOption("http.Client")
		}
		cfg.client = c
		return nil
	}
}

// IntrospectionTimeout bounds each call to the endpoint (default
// DefaultIntrospectionTimeout).
func IntrospectionTimeout(d time.Duration) IntrospectionOption {
	return func(cfg *introspectionConfig) error {
		if d <= 0 {
			return fmt.Errorf("bearer: IntrospectionTimeout %v is not positive", d)
		}
		cfg.timeout = d
		return nil
	}
}

// IntrospectionCache sets how many positive answers are kept and how long
// each may be reused at most (it is never reused beyond the token's exp).
// entries 0 turns the cache off: every request asks the endpoint.
func IntrospectionCache(entries int, ttl time.Duration) IntrospectionOption {
	return func(cfg *introspectionConfig) error {
		if entries < 0 || ttl < 0 || entries > 0 && ttl == 0 {
			return fmt.Errorf("bearer: IntrospectionCache(%d, %v): entries and TTL must be positive, or entries 0", entries, ttl)
		}
		cfg.entries, cfg.ttl = entries, ttl
		return nil
	}
}

// IntrospectionConcurrency bounds the calls in flight to the endpoint
// (default DefaultIntrospectionConcurrency); a request that finds them
// all busy waits for one within its IntrospectionTimeout, then gets 503.
func IntrospectionConcurrency(n int) IntrospectionOption {
	return func(cfg *introspectionConfig) error {
		if n <= 0 {
			return fmt.Errorf("bearer: IntrospectionConcurrency %d is not positive", n)
		}
		cfg.concurrency = n
		return nil
	}
}

// IntrospectionJWTResponse asks for signed answers (RFC 9701,
// application/token-introspection+jwt) and verifies them with keys, the
// authorization server's keys (RemoteJWKS of its jwks_uri): the answer's
// typ must be token-introspection+jwt, its iss the issuer, its aud the
// client id of the client authentication. An answer that is not such a
// JWT gets 503: the option is for servers that offer signed answers. The
// same keys verify that issuer's JWT access tokens, so one issuer serves
// both kinds of token.
func IntrospectionJWTResponse(keys KeySource) IntrospectionOption {
	return func(cfg *introspectionConfig) error {
		if keys == nil {
			return errNilOption("KeySource")
		}
		if _, ok := keys.(*introspectionSource); ok {
			return errors.New("bearer: IntrospectionJWTResponse needs keys, not another Introspection")
		}
		cfg.jwtKeys = keys
		return nil
	}
}

type introspectionSource struct {
	endpoint string
	issuer   string
	discover bool
	opts     []IntrospectionOption
}

func (s *introspectionSource) open(env sourceEnv) (keyStore, error) {
	cfg := introspectionConfig{
		timeout:     DefaultIntrospectionTimeout,
		ttl:         DefaultIntrospectionCacheTTL,
		entries:     DefaultIntrospectionCacheEntries,
		maxSize:     DefaultIntrospectionMaxResponse,
		concurrency: DefaultIntrospectionConcurrency,
	}
	for _, opt := range s.opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if s.discover {
		if _, err := checkURL(s.issuer); err != nil {
			return nil, err
		}
	} else if _, err := checkURL(s.endpoint); err != nil {
		return nil, err
	}
	if cfg.jwtKeys != nil && cfg.auth == nil {
		return nil, errors.New("bearer: IntrospectionJWTResponse needs a client authentication: the answer's aud is the client id")
	}
	st := &introspectionStore{
		cfg:      cfg,
		endpoint: s.endpoint,
		issuer:   s.issuer,
		discover: s.discover,
		slots:    make(chan struct{}, cfg.concurrency),
		cache:    make(map[[32]byte]*introspected),
		calls:    make(map[[32]byte]*introspectionCall),
	}
	var client http.Client
	if cfg.client != nil {
		client = *cfg.client
	} else {
		st.own = ownTransport()
		client.Transport = st.own
	}
	client.Timeout = 0 // the per-call context decides
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	st.client = &client
	if cfg.jwtKeys != nil {
		keys, err := cfg.jwtKeys.open(env)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("bearer: IntrospectionJWTResponse keys: %w", err)
		}
		st.keyStore = keys
	}
	return st, nil
}

// introspectionStore is an opened Introspection.
type introspectionStore struct {
	cfg      introspectionConfig
	client   *http.Client
	own      *http.Transport // closed by close; nil for a user's client
	keyStore keyStore        // IntrospectionJWTResponse's keys, or nil
	slots    chan struct{}   // the calls in flight

	mu        sync.Mutex
	endpoint  string // "" until discovered
	issuer    string // the issuer this source is bound to, or ""
	discover  bool
	cache     map[[32]byte]*introspected
	calls     map[[32]byte]*introspectionCall
	discovery *introspectionCall // the discovery in flight
}

// introspected is a cached positive answer.
type introspected struct {
	token *Token
	until time.Time
}

// introspectionCall is a call in flight, which requests with the same
// token wait for.
type introspectionCall struct {
	done  chan struct{}
	token *Token
	err   error
}

// opaqueTokens is what a key store that verifies opaque tokens offers
// (Introspection, and Issuers with one).
type opaqueTokens interface {
	introspection() *introspectionStore
}

func (st *introspectionStore) introspection() *introspectionStore { return st }

func (st *introspectionStore) keys(ctx context.Context, q keyQuery) ([]*verifyKey, error) {
	if st.keyStore == nil {
		return nil, errUnknownKey
	}
	return st.keyStore.keys(ctx, q)
}

func (st *introspectionStore) ready(ctx context.Context, wait bool) error {
	if st.keyStore == nil {
		return nil
	}
	return st.keyStore.ready(ctx, wait)
}

func (st *introspectionStore) refetch(ctx context.Context) error {
	if st.keyStore == nil {
		return nil
	}
	return st.keyStore.refetch(ctx)
}

func (st *introspectionStore) issuers() map[string][]string {
	if st.discover {
		return map[string][]string{st.issuer: nil}
	}
	return nil
}

func (st *introspectionStore) close() error {
	if st.own != nil {
		st.own.CloseIdleConnections()
	}
	if st.keyStore != nil {
		return st.keyStore.close()
	}
	return nil
}

// bindIssuer sets the issuer that answers without iss belong to (Issuers).
func (st *introspectionStore) bindIssuer(iss string) {
	st.mu.Lock()
	st.issuer = iss
	st.mu.Unlock()
}

// isCompactJWS reports whether raw has the form of a JWS compact
// serialization, three segments: anything else is an opaque token.
func isCompactJWS(raw string) bool { return strings.Count(raw, ".") == 2 }

// verifyOpaque verifies the opaque token raw with the introspection
// endpoint of st: the answer, cached or fresh, then the checks every token
// gets.
func (m *Middleware) verifyOpaque(ctx context.Context, st *introspectionStore, raw string) (*Token, bool, error) {
	t, cached, err := st.introspect(ctx, m, raw)
	if err != nil {
		return nil, false, err
	}
	if len(m.issuers) > 0 && !slices.Contains(m.issuers, t.iss) {
		return nil, false, errIssuer
	}
	if err := m.validate(ctx, t); err != nil {
		return nil, false, err
	}
	return t, cached, nil
}

// introspect returns the token of raw's positive answer, from the cache or
// from one call shared by the requests that want it at once.
func (st *introspectionStore) introspect(ctx context.Context, m *Middleware, raw string) (*Token, bool, error) {
	key := sha256.Sum256([]byte(raw))
	now := time.Now()
	st.mu.Lock()
	if e, ok := st.cache[key]; ok {
		if now.Before(e.until) {
			st.mu.Unlock()
			return e.token, true, nil
		}
		delete(st.cache, key)
	}
	c, inFlight := st.calls[key]
	if !inFlight {
		c = &introspectionCall{done: make(chan struct{})}
		st.calls[key] = c
	}
	st.mu.Unlock()
	if inFlight {
		select {
		case <-c.done:
			return c.token, false, c.err
		case <-ctx.Done():
			return nil, false, errIntrospection(ctx.Err(), 0)
		}
	}
	// The call outlives a leader whose client left, within the timeout:
	// the requests waiting for it need its answer.
	c.token, c.err = st.call(context.WithoutCancel(ctx), m, raw)
	st.mu.Lock()
	delete(st.calls, key)
	if c.err == nil {
		st.remember(key, c.token, now)
	}
	st.mu.Unlock()
	close(c.done)
	return c.token, false, c.err
}

// remember caches a positive answer until its exp, or the TTL if that is
// sooner. A full cache first drops what has lapsed, then any one entry.
func (st *introspectionStore) remember(key [32]byte, t *Token, now time.Time) {
	if st.cfg.entries == 0 || len(t.raw) > maxCachedTokenSize || len(t.payload) > maxCachedTokenSize {
		return
	}
	until := now.Add(st.cfg.ttl)
	if !t.exp.IsZero() && t.exp.Before(until) {
		until = t.exp
	}
	if !now.Before(until) {
		return
	}
	if len(st.cache) >= st.cfg.entries {
		for k, e := range st.cache {
			if !now.Before(e.until) {
				delete(st.cache, k)
			}
		}
		for k := range st.cache {
			if len(st.cache) < st.cfg.entries {
				break
			}
			delete(st.cache, k)
		}
	}
	st.cache[key] = &introspected{token: t, until: until}
}

// call asks the endpoint about raw, within the timeout and a free slot.
func (st *introspectionStore) call(ctx context.Context, m *Middleware, raw string) (*Token, error) {
	ctx, cancel := context.WithTimeout(ctx, st.cfg.timeout)
	defer cancel()
	select {
	case st.slots <- struct{}{}:
		defer func() { <-st.slots }()
	case <-ctx.Done():
		return nil, errIntrospection(errors.New("every call slot busy"), 0)
	}
	endpoint, issuer, err := st.where(ctx)
	if err != nil {
		return nil, errIntrospection(err, 0)
	}
	if issuer == "" && len(m.issuers) == 1 {
		issuer = m.issuers[0] // the one issuer WithIssuer trusts
	}
	body, err := st.post(ctx, endpoint, issuer, raw)
	if err != nil {
		return nil, err
	}
	if st.keyStore != nil {
		if body, err = st.openJWTResponse(ctx, body, issuer); err != nil {
			return nil, errIntrospection(err, 0)
		}
	}
	return st.token(m, raw, body, issuer)
}

// token builds the token of an answer.
func (st *introspectionStore) token(m *Middleware, raw, body, issuer string) (*Token, error) {
	t := &Token{m: m}
	t.raw, t.header, t.payload = raw, "{}", body
	if err := t.readClaims(m.scopeClaim); err != nil {
		return nil, errIntrospection(errors.New("malformed answer"), 0)
	}
	if active, _ := strictjson.Find(body, "active"); active != "true" {
		return nil, errInactive
	}
	switch {
	case t.iss == "" && issuer != "":
		t.iss = issuer
	case t.iss != "" && issuer != "" && t.iss != issuer:
		return nil, errIssuer // an endpoint vouching for another issuer's token
	}
	return t, nil
}

// post sends the introspection request (RFC 7662 §2.1) and returns the
// answer's body.
func (st *introspectionStore) post(ctx context.Context, endpoint, issuer, raw string) (string, error) {
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return "", errIntrospection(err, 0)
	}
	if st.cfg.auth != nil {
		aud := issuer
		if aud == "" {
			aud = endpoint
		}
		if err := st.cfg.auth.authenticate(req, form, aud); err != nil {
			return "", errIntrospection(err, 0)
		}
	}
	encoded := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(encoded))
	req.ContentLength = int64(len(encoded))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if st.keyStore != nil {
		req.Header.Set("Accept", jwtIntrospectionType)
	} else {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := st.client.Do(req)
	if err != nil {
		return "", errIntrospection(fmt.Errorf("%s: %w", redact(endpoint), redactError(err)), 0)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return "", errIntrospection(fmt.Errorf("%s: status %d", redact(endpoint), resp.StatusCode),
			parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, st.cfg.maxSize+1))
	if err != nil {
		return "", errIntrospection(fmt.Errorf("%s: reading the answer: %w", redact(endpoint), err), 0)
	}
	if int64(len(b)) > st.cfg.maxSize {
		return "", errIntrospection(fmt.Errorf("%s: answer larger than %d bytes", redact(endpoint), st.cfg.maxSize), 0)
	}
	return string(b), nil
}

// where returns the endpoint and the issuer, reading the issuer's
// metadata first for IntrospectionDiscover; one read at a time, and none
// once it succeeded.
func (st *introspectionStore) where(ctx context.Context) (endpoint, issuer string, err error) {
	st.mu.Lock()
	if st.endpoint != "" {
		endpoint, issuer = st.endpoint, st.issuer
		st.mu.Unlock()
		return endpoint, issuer, nil
	}
	c := st.discovery
	leader := c == nil
	if leader {
		c = &introspectionCall{done: make(chan struct{})}
		st.discovery = c
	}
	st.mu.Unlock()
	if !leader {
		select {
		case <-c.done:
			if c.err != nil {
				return "", "", c.err
			}
			return st.where(ctx)
		case <-ctx.Done():
			return "", "", ctx.Err()
		}
	}
	endpoint, c.err = st.discoverEndpoint(ctx)
	st.mu.Lock()
	st.discovery = nil
	if c.err == nil {
		st.endpoint = endpoint
	}
	issuer = st.issuer
	st.mu.Unlock()
	close(c.done)
	return endpoint, issuer, c.err
}

// discoverEndpoint reads introspection_endpoint from the issuer's metadata.
func (st *introspectionStore) discoverEndpoint(ctx context.Context) (string, error) {
	u := discoveryURL(st.issuer)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := st.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrFetch, redactError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: %s: status %d", ErrFetch, redact(u), resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, st.cfg.maxSize+1))
	if err != nil || int64(len(b)) > st.cfg.maxSize {
		return "", fmt.Errorf("%w: %s: unreadable or over-size document", ErrFetch, redact(u))
	}
	meta, ok := readDiscovery(string(b))
	if !ok {
		return "", fmt.Errorf("%w: malformed metadata (not a JSON object, a member named twice, or a member not a string)", ErrFetch)
	}
	if meta.Issuer != st.issuer {
		return "", fmt.Errorf("%w: %q, not %q", ErrIssuerMismatch, redact(meta.Issuer), redact(st.issuer))
	}
	if meta.IntrospectionEndpoint == "" {
		return "", fmt.Errorf("%w: metadata has no introspection_endpoint", ErrFetch)
	}
	e, err := checkURL(meta.IntrospectionEndpoint)
	if err != nil {
		return "", err
	}
	if iu, _ := checkURL(st.issuer); e.Scheme != "https" && iu.Scheme == "https" {
		return "", fmt.Errorf("%w: introspection_endpoint %s", ErrInsecureURL, e.Redacted())
	}
	return meta.IntrospectionEndpoint, nil
}
