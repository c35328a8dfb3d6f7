package bearer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// RemoteJWKS verifies tokens with the keys of the JWKS document (RFC 7517
// §5) at url, fetched and kept fresh in the background. url must be https;
// plain http is accepted for loopback hosts only, for tests.
//
// New checks the configuration, starts the first fetch and returns without
// waiting for it; Middleware.Ready waits for the keys, Middleware.Check
// reports whether they are there. Requests never fetch in steady state:
// they read the current key set without locks. The source:
//
//   - refreshes ahead of expiry (at about 80% of the freshness the answer's
//     Cache-Control max-age or Expires asks for, clamped, else of
//     DefaultRefreshInterval), with conditional requests (ETag,
//     Last-Modified); after a failure it retries with exponential backoff
//     and jitter, honouring Retry-After;
//   - fetches at once when a token names a kid it does not know, so that a
//     newly published key verifies on its first request; all requests
//     waiting for a key share that fetch, and such fetches happen at most
//     once per cooldown (DefaultKeyMissCooldown), so a flood of made-up kids
//     is no flood of fetches. Tokens without a kid, and bad signatures under
//     a known kid, never cause a fetch;
//   - keeps serving the last good keys through any failure for up to
//     DefaultMaxStaleness past their freshness, then fails closed. A failed
//     fetch (any status but 200 or 304, an over-size, malformed or empty
//     set, a set with no usable key) never replaces good keys;
//   - keeps only public signature keys it can use (RSA of 2048 bits or
//     more, ECDSA P-256/384/521, Ed25519), honouring each key's use,
//     key_ops and alg; unusable keys are skipped one by one and reported,
//     symmetric keys and published private keys (disclosed: anyone could
//     sign with them) are always refused;
//   - follows at most three redirects, to the same host only and never from
//     https to http: keys come from the host the configuration names.
//
// A request that finds no keys (the first fetch has not succeeded, or the
// keys expired) waits for a fetch in flight for at most DefaultKeyWait, then
// fails with ErrKeysUnavailable: a 503 answer with Retry-After, since the
// token may be fine. Close stops the background work.
func RemoteJWKS(url string, opts ...RemoteOption) KeySource {
	return &remoteSource{url: url, opts: slices.Clone(opts)}
}

type remoteSource struct {
	url      string // the JWKS URL, or for Discover the issuer
	discover bool
	opts     []RemoteOption
}

func (s *remoteSource) open(env sourceEnv) (keyStore, error) {
	cfg, err := newRemoteConfig(s.opts)
	if err != nil {
		return nil, err
	}
	if env.allow != 0 && env.allow&asymmetricAlgs == 0 {
		return nil, errors.New("bearer: WithAlgorithms allows no asymmetric algorithm for remote keys")
	}
	u, err := checkURL(s.url)
	if err != nil {
		return nil, err
	}
	if s.discover && (u.RawQuery != "" || u.Fragment != "") {
		return nil, fmt.Errorf("bearer: issuer URL %q has a query or fragment", s.url)
	}
	logger := env.logger
	if logger == nil {
		logger = slog.Default()
	}
	st := &remoteStore{
		cfg:      cfg,
		fetch:    newFetcher(cfg),
		policy:   keyPolicy{allow: env.allow, symmetric: false},
		observer: env.observer,
		name:     s.url,
		kick:     make(chan struct{}, 1),
		stopped:  make(chan struct{}),
	}
	if s.discover {
		st.issuer = s.url
		st.discoveryURL = discoveryURL(s.url)
	} else {
		st.jwksURL = s.url
	}
	st.log = fetchLog{logger: logger, observer: env.observer, url: s.url}
	st.snap.Store(&keySnapshot{next: make(chan struct{})})
	st.inflight = &fetchRound{done: make(chan struct{}), trigger: FetchInitial}
	ctx, cancel := context.WithCancel(context.Background())
	st.cancel = cancel
	go st.run(ctx)
	return st, nil
}

// remoteStore is an opened RemoteJWKS or Discover. One goroutine, run,
// owns all fetching; requests read snap.
type remoteStore struct {
	cfg          *remoteConfig
	fetch        *fetcher
	policy       keyPolicy
	observer     KeyObserver
	name         string // the configured URL
	issuer       string // Discover: the issuer its tokens must name
	discoveryURL string

	snap atomic.Pointer[keySnapshot]

	mu        sync.Mutex
	inflight  *fetchRound // the fetch requests may wait for, if any
	lastMiss  time.Time   // when a key miss last started a fetch
	notBefore time.Time   // no key-miss fetch before (a Retry-After)
	closed    bool

	kick      chan struct{} // tells run that a key miss wants a fetch
	cancel    context.CancelFunc
	stopped   chan struct{}
	closeOnce sync.Once

	// Owned by run.
	log        fetchLog
	jwksURL    string
	validators http.Header // If-None-Match, If-Modified-Since
}

// keySnapshot is the state requests see. It is immutable once published.
type keySnapshot struct {
	set         *staticStore // nil: no keys
	fetched     time.Time    // the last 200 or 304
	freshUntil  time.Time
	usableUntil time.Time     // freshUntil plus the maximum staleness; run drops set then
	err         error         // why the last attempt failed; nil when it succeeded
	retryAt     time.Time     // the next attempt
	next        chan struct{} // closed when a newer snapshot replaces this one
}

// usable reports whether the snapshot has keys. It reads no clock: run
// publishes a snapshot without keys when they expire, so the request path
// pays for no time.Now.
func (s *keySnapshot) usable() bool { return s.set != nil }

// fetchRound is one attempt requests wait for; done closes when its result
// is published.
type fetchRound struct {
	done    chan struct{}
	trigger FetchTrigger
}

func (st *remoteStore) keys(ctx context.Context, q keyQuery) ([]*verifyKey, error) {
	for {
		s := st.snap.Load()
		if s.usable() {
			if ks, ok := s.set.exact(q); ok {
				return ks, nil
			}
		}
		if r, current := st.join(s, q.hasKid); current {
			return st.miss(ctx, q, r)
		}
		// A fetch published new keys since s was read: look again.
	}
}

// miss handles a token whose key is not at hand: it waits for r, the fetch
// in flight (if any), bounded by the key wait and the request's context,
// then looks again. The fetch itself belongs to run, not to this request.
func (st *remoteStore) miss(ctx context.Context, q keyQuery, r *fetchRound) ([]*verifyKey, error) {
	if r != nil {
		timer := time.NewTimer(st.cfg.wait)
		defer timer.Stop()
		select {
		case <-r.done:
		case <-timer.C:
			return nil, st.gaveUp()
		case <-ctx.Done():
			return nil, st.gaveUp()
		}
	}
	s, now := st.snap.Load(), time.Now()
	if !s.usable() {
		st.missed(KeyMissUnavailable)
		return nil, st.unavailable(s, now)
	}
	if ks, ok := s.set.exact(q); ok {
		st.missed(KeyMissFound)
		return ks, nil
	}
	switch {
	case r == nil:
		st.missed(KeyMissRateLimited)
	case s.err != nil:
		st.missed(KeyMissUnavailable)
	default:
		st.missed(KeyMissUnknown)
	}
	if len(s.set.noKid) > 0 {
		return s.set.noKid, nil // keys without a kid may verify any token
	}
	if s.err != nil {
		return nil, st.unavailable(s, now) // the set may be out of date: the token may be fine
	}
	return nil, errUnknownKey
}

// gaveUp is the answer to a request that stopped waiting for a fetch.
func (st *remoteStore) gaveUp() error {
	st.missed(KeyMissTimeout)
	return st.unavailable(st.snap.Load(), time.Now())
}

// join returns the fetch in flight or, when start is set and the cooldown
// and any Retry-After allow, a new key-miss fetch; nil when there is none
// to wait for. current is false when seen is no longer the published
// snapshot: the caller must look at the new one first. Snapshots are
// published under mu, so a fetch in flight here has not published yet.
func (st *remoteStore) join(seen *keySnapshot, start bool) (r *fetchRound, current bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.snap.Load() != seen {
		return nil, false
	}
	if st.inflight != nil {
		return st.inflight, true
	}
	if !start || st.closed {
		return nil, true
	}
	now := time.Now()
	if !st.lastMiss.IsZero() && now.Sub(st.lastMiss) < st.cfg.cooldown || now.Before(st.notBefore) {
		return nil, true
	}
	st.lastMiss = now
	st.inflight = &fetchRound{done: make(chan struct{}), trigger: FetchKeyMiss}
	select {
	case st.kick <- struct{}{}:
	default:
	}
	return st.inflight, true
}

func (st *remoteStore) missed(o KeyMissOutcome) {
	if st.observer != nil {
		st.observer.KeyMiss(KeyMissEvent{URL: st.name, Outcome: o})
	}
}

// unavailable is the 503 answer, with Retry-After until the next attempt
// and the last fetch error as the cause (for logs, never for clients).
func (st *remoteStore) unavailable(s *keySnapshot, now time.Time) *Error {
	e := *errKeysUnavailable
	if s.err != nil {
		e.Err = fmt.Errorf("%w: %w", ErrKeysUnavailable, s.err)
	}
	if s.retryAt.After(now) {
		e.RetryAfter = s.retryAt.Sub(now)
	}
	return &e
}

func (st *remoteStore) ready(ctx context.Context, wait bool) error {
	for {
		s := st.snap.Load()
		if s.usable() {
			return nil
		}
		if !wait {
			return st.unavailable(s, time.Now())
		}
		select {
		case <-s.next:
		case <-st.stopped:
			return fmt.Errorf("bearer: middleware closed: %w", st.unavailable(st.snap.Load(), time.Now()))
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", st.unavailable(st.snap.Load(), time.Now()), ctx.Err())
		}
	}
}

func (st *remoteStore) issuers() map[string][]string {
	if st.issuer == "" {
		return nil
	}
	return map[string][]string{st.issuer: nil}
}

func (st *remoteStore) close() error {
	st.closeOnce.Do(func() {
		st.cancel()
		<-st.stopped
		st.fetch.close()
	})
	return nil
}

// run is the owner goroutine: it fetches now, then whenever the schedule
// or a key miss says so, and drops keys that expire before the next
// attempt, until Close.
func (st *remoteStore) run(ctx context.Context) {
	defer close(st.stopped)
	defer st.shut()
	next := st.attempt(ctx)
	for ctx.Err() == nil {
		wake, expiring := next, false
		if s := st.snap.Load(); s.set != nil && !s.usableUntil.After(next) {
			wake, expiring = s.usableUntil, true
		}
		switch st.sleep(ctx, wake) {
		case wokeDone:
			return
		case wokeTimer:
			if expiring {
				st.expire()
				continue
			}
		}
		next = st.attempt(ctx)
	}
}

// Why sleep returned.
const (
	wokeDone  = iota // ctx ended
	wokeTimer        // the time came
	wokeKick         // a key miss wants a fetch
)

// sleep waits until next, or until a key miss asks for a fetch.
func (st *remoteStore) sleep(ctx context.Context, next time.Time) int {
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return wokeDone
		case <-timer.C:
			return wokeTimer
		case <-st.kick:
			st.mu.Lock()
			pending := st.inflight != nil
			st.mu.Unlock()
			if pending {
				return wokeKick
			}
		}
	}
}

// expire drops keys that outlived the maximum staleness: the source fails
// closed until a fetch succeeds.
func (st *remoteStore) expire() {
	old := st.snap.Load()
	s := *old
	s.set, s.next = nil, make(chan struct{})
	st.validators = nil // the next fetch must bring a whole set
	st.publish(old, &s, nil)
	st.log.expire(old.err, time.Since(old.fetched), old.usableUntil)
}

// shut releases requests waiting on a fetch that will not happen.
func (st *remoteStore) shut() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	if st.inflight != nil {
		close(st.inflight.done)
		st.inflight = nil
	}
}

// attempt fetches once, publishes the outcome and wakes the requests that
// waited for it. It returns when to fetch next.
func (st *remoteStore) attempt(ctx context.Context) time.Time {
	st.mu.Lock()
	r := st.inflight
	if r == nil {
		r = &fetchRound{done: make(chan struct{}), trigger: FetchScheduled}
		st.inflight = r
	}
	st.mu.Unlock()

	old := st.snap.Load()
	s, notBefore := st.refresh(ctx, r.trigger, old)
	if s == nil {
		return time.Time{} // closing; shut releases the waiters
	}
	st.mu.Lock()
	st.notBefore = notBefore
	st.mu.Unlock()
	st.publish(old, s, r)
	return s.retryAt
}

// publish replaces old by s and wakes whoever waits: for any new snapshot
// (Ready), for the round r (requests). Snapshots are stored under mu, with
// the round cleared, so that join sees both change at once.
func (st *remoteStore) publish(old, s *keySnapshot, r *fetchRound) {
	st.mu.Lock()
	st.snap.Store(s)
	if r != nil {
		st.inflight = nil
	}
	st.mu.Unlock()
	close(old.next)
	if r != nil {
		close(r.done)
	}
}

// refresh fetches and builds the next snapshot from old, or returns nil
// when ctx ended. notBefore is a Retry-After's bound on key-miss fetches.
func (st *remoteStore) refresh(ctx context.Context, trigger FetchTrigger, old *keySnapshot) (s *keySnapshot, notBefore time.Time) {
	keys, a, err := st.fetchKeys(ctx, trigger, old)
	if ctx.Err() != nil {
		return nil, time.Time{}
	}
	now := time.Now()
	s = &keySnapshot{
		set:         old.set,
		fetched:     old.fetched,
		freshUntil:  old.freshUntil,
		usableUntil: old.usableUntil,
		next:        make(chan struct{}),
	}
	if err == nil {
		if keys != nil {
			s.set = newStaticStore(reuseKeys(old.set, keys))
		}
		fresh := st.cfg.freshness(a.header, now)
		s.fetched, s.freshUntil = now, now.Add(fresh)
		s.usableUntil = s.freshUntil.Add(st.cfg.maxStale)
		s.retryAt = refreshAt(now, fresh)
		st.log.recovered(now)
		return s, time.Time{}
	}
	s.err = err
	switch {
	case old.set == nil:
		st.log.failed(now, err, nil)
	case !now.Before(old.usableUntil):
		s.set = nil
		st.validators = nil
		st.log.failed(now, err, nil)
		st.log.expire(err, now.Sub(old.fetched), old.usableUntil)
	default:
		st.log.failed(now, err, old)
	}
	s.retryAt = now.Add(st.cfg.backoff(st.log.failures, a.retryAfter))
	if a.retryAfter > 0 {
		notBefore = now.Add(min(a.retryAfter, st.cfg.maxBackoff))
	}
	return s, notBefore
}

// fetchKeys discovers the JWKS URL if need be, then fetches the set. It
// returns the keys of a 200, nil keys for a 304, or an error.
func (st *remoteStore) fetchKeys(ctx context.Context, trigger FetchTrigger, old *keySnapshot) ([]*verifyKey, answer, error) {
	if st.jwksURL == "" {
		if a, err := st.discover(ctx, trigger); err != nil {
			return nil, a, err
		}
	}
	var conditional http.Header
	if old.set != nil {
		conditional = st.validators
	}
	start := time.Now()
	a, err := st.fetch.get(ctx, st.jwksURL, conditional)
	e := FetchEvent{URL: st.jwksURL, Trigger: trigger, Status: a.status}
	var keys []*verifyKey
	switch {
	case err != nil:
	case a.status == 200:
		var raw int
		keys, e.Skipped, raw, err = st.parse(a.body)
		if err == nil {
			st.validators = validatorsOf(a.header)
		} else {
			err = fmt.Errorf("%w: %s: %w (%d keys in the set)", ErrFetch, st.jwksURL, err, raw)
		}
		e.Keys = len(keys)
	default: // 304: the keys we have are still good
		e.Keys = len(old.set.all)
		if v := validatorsOf(a.header); v != nil {
			st.validators = v
		}
	}
	if ctx.Err() != nil {
		return nil, a, ctx.Err()
	}
	e.Duration, e.Err = time.Since(start), err
	st.log.fetched(e)
	return keys, a, err
}

func (st *remoteStore) parse(body []byte) ([]*verifyKey, []SkippedKey, int, error) {
	raw, err := splitKeySet(body)
	if err != nil {
		return nil, nil, 0, err
	}
	keys, skipped := parseKeys(raw, st.policy)
	var sk []SkippedKey
	for _, s := range skipped {
		sk = append(sk, SkippedKey{KeyID: s.kid, Reason: s.reason})
	}
	if len(keys) == 0 {
		return nil, sk, len(raw), ErrNoUsableKey
	}
	return keys, sk, len(raw), nil
}

// validatorsOf returns the conditional request headers for an answer's
// ETag and Last-Modified, or nil.
func validatorsOf(h http.Header) http.Header {
	v := http.Header{}
	if etag := h.Get("ETag"); etag != "" {
		v.Set("If-None-Match", etag)
	}
	if lm := h.Get("Last-Modified"); lm != "" {
		v.Set("If-Modified-Since", lm)
	}
	if len(v) == 0 {
		return nil
	}
	return v
}

// reuseKeys replaces each new key that is already in old (same kid, same
// material, same algorithms) by the old *verifyKey, so that whatever is
// keyed by the key pointer (a cache of verified tokens) survives a refresh
// that did not change that key.
func reuseKeys(old *staticStore, keys []*verifyKey) []*verifyKey {
	if old == nil {
		return keys
	}
	for i, k := range keys {
		candidates := old.noKid
		if k.kid != "" {
			candidates = old.byKid[k.kid]
		}
		for _, o := range candidates {
			if o.sameAs(k) {
				keys[i] = o
				break
			}
		}
	}
	return keys
}

// sameAs reports whether k and o are the same public key under the same
// kid, for the same algorithms.
func (k *verifyKey) sameAs(o *verifyKey) bool {
	if k.kid != o.kid || k.algs != o.algs {
		return false
	}
	switch {
	case k.rsa != nil:
		return o.rsa != nil && k.rsa.Equal(o.rsa)
	case k.ecdsa != nil:
		return o.ecdsa != nil && k.ecdsa.Equal(o.ecdsa)
	case k.ed25519 != nil:
		return o.ed25519 != nil && k.ed25519.Equal(o.ed25519)
	}
	return false // secrets never come from a remote set
}
