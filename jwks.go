package bearer

import (
	"context"
	"errors"
	"fmt"
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
// reports whether they are there, Middleware.Refresh fetches now (within
// the key-miss budget), and
// Close stops the background work. How the source refreshes, rotates,
// fails and bounds its fetches is in the package documentation, "Remote
// keys".
//
// One RemoteJWKS value used by several middlewares fetches for all of
// them: see KeySource.
func RemoteJWKS(url string, opts ...RemoteOption) KeySource {
	return &remoteSource{url: url, opts: slices.Clone(opts)}
}

type remoteSource struct {
	url      string // the JWKS URL, or for Discover the issuer
	discover bool
	opts     []RemoteOption
	shared   sharedStores // the stores its middlewares share (jwks_shared.go)
}

// start opens a store of its own for env.
func (s *remoteSource) start(env sourceEnv) (*remoteStore, error) {
	cfg, err := newRemoteConfig(s.opts)
	if err != nil {
		return nil, err
	}
	if env.allow != 0 && env.allow&asymmetricAlgs == 0 {
		return nil, errors.New("bearer: WithAlgorithms allows no asymmetric algorithm for remote keys")
	}
	u, err := checkRemoteURL(s.url, cfg.insecureHTTP)
	if err != nil {
		return nil, err
	}
	if s.discover && (u.RawQuery != "" || u.Fragment != "") {
		return nil, fmt.Errorf("bearer: issuer URL %q has a query or fragment", redact(s.url))
	}
	logger := env.logger // open's: every sharing middleware's, never nil
	st := &remoteStore{
		cfg:      cfg,
		fetch:    newFetcher(cfg),
		policy:   keyPolicy{allow: env.allow, symmetric: false},
		observer: env.observer,
		name:     redact(s.url),
		kick:     make(chan struct{}, 1),
		stopped:  make(chan struct{}),
	}
	st.fetch.warn = func(u string) {
		logger.Warn("bearer: fetching over plain http (RemoteInsecureHTTPForDevelopment): anyone on the network path can replace the keys; never in production", "url", redact(u))
	}
	if s.discover {
		st.issuer = s.url
		st.discoveryURL = discoveryURL(s.url)
	} else {
		st.jwksURL = s.url
	}
	st.log = fetchLog{logger: logger, observer: env.observer, url: st.name}
	st.snap.Store(&keySnapshot{next: make(chan struct{})})
	st.inflight = newRound(FetchInitial)
	st.inflight.seq, st.inflight.started = st.rounds.Add(1), time.Now()
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
	observer     Observer
	name         string // the configured URL, credentials redacted
	issuer       string // Discover: the issuer its tokens must name
	discoveryURL string

	snap   atomic.Pointer[keySnapshot]
	rounds atomic.Uint64 // fetches started, the seq of the latest

	mu        sync.Mutex
	inflight  *fetchRound // the fetch under way, if any
	wanted    *fetchRound // the next fetch, which a key miss, Ready or Refresh asked for
	missTAT   time.Time   // the key-miss budget, as a GCRA theoretical arrival time
	notBefore time.Time   // no wanted fetch before (a provider's Retry-After)
	waiters   int         // requests waiting for a fetch
	closed    bool

	kick      chan struct{} // tells run that a fetch is wanted
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
	checked     uint64       // the seq of the last successful fetch (200 or 304)
	fetched     time.Time    // when it ended
	freshUntil  time.Time
	usableUntil time.Time     // freshUntil plus the maximum staleness; run drops set then
	err         error         // why the last attempt failed; nil when it succeeded
	retryAt     time.Time     // the next scheduled attempt
	next        chan struct{} // closed when a newer snapshot replaces this one
}

// usable reports whether the snapshot has keys. It reads no clock: run
// publishes a snapshot without keys when they expire, so the request path
// pays for no time.Now.
func (s *keySnapshot) usable() bool { return s.set != nil }

// fetchRound is one attempt: requests wait for it, done closes when its
// result is published.
type fetchRound struct {
	done    chan struct{}
	trigger FetchTrigger
	kids    []string  // while wanted: the kids it is wanted for, unless too many
	always  bool      // wanted for more: many kids, or Ready or Refresh
	seq     uint64    // rounds when it started; 0 while wanted, not yet under way
	started time.Time // when it started
	err     error     // the outcome; set before done closes
}

func newRound(trigger FetchTrigger) *fetchRound {
	return &fetchRound{done: make(chan struct{}), trigger: trigger}
}

func (st *remoteStore) keys(ctx context.Context, q keyQuery) ([]*verifyKey, error) {
	s := st.snap.Load()
	if s.usable() {
		if ks, ok := s.set.exact(q); ok {
			return ks, nil
		}
	}
	return st.miss(ctx, q, s)
}

// miss handles a token whose key is not in s, the published snapshot. A
// kid is called unknown (401) only when a fetch that started after the
// request arrived did not bring it: before that the key may be one the
// provider has just published. So the request waits for such a fetch,
// wanted from run within the key-miss budget and bounded by the key wait,
// the request's context and the number of waiters; when it cannot, the
// answer is 503 with the time until a fetch can tell. Tokens without a kid
// wait for a fetch under way but never want one: with keys at hand, every
// key is theirs to try.
func (st *remoteStore) miss(ctx context.Context, q keyQuery, s *keySnapshot) ([]*verifyKey, error) {
	// Fetches are numbered, not timed: a clock may read the same for the
	// request and a fetch that started before it.
	w := &waiter{arrived: st.rounds.Load(), deadline: time.Now().Add(st.cfg.wait), kid: q.kid, want: q.hasKid}
	var timer *time.Timer
	waited := false
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		if w.admitted {
			st.mu.Lock()
			st.waiters--
			st.mu.Unlock()
		}
	}()
	for {
		if s.usable() {
			if ks, ok := s.set.exact(q); ok {
				if waited {
					st.missed(KeyMissFound)
				}
				return ks, nil
			}
			if s.checked > w.arrived { // a fetch that started after the request arrived has looked
				st.missed(KeyMissUnknown)
				if len(s.set.noKid) > 0 {
					return s.set.noKid, nil // keys without a kid may verify any token
				}
				return nil, errUnknownKey
			}
		}
		r, changed, retry := st.await(s, w)
		if changed {
			s = st.snap.Load()
			continue
		}
		if r == nil {
			return st.cannotLook(s, KeyMissRateLimited, retry)
		}
		if timer == nil {
			timer = time.NewTimer(time.Until(w.deadline))
		}
		select {
		case <-r.done:
			waited = true
			s = st.snap.Load()
			if r.err != nil && r.seq > w.arrived {
				// A fetch that started after the request failed: the
				// provider is in trouble; the next attempt is scheduled.
				return st.cannotLook(s, KeyMissUnavailable, st.retryIn(time.Now()))
			}
		case <-timer.C:
			return st.cannotLook(st.snap.Load(), KeyMissTimeout, st.retryIn(time.Now()))
		case <-ctx.Done():
			return st.cannotLook(st.snap.Load(), KeyMissTimeout, st.retryIn(time.Now()))
		}
	}
}

// waiter is a request looking for a key the published snapshot lacks.
type waiter struct {
	arrived  uint64    // rounds when it arrived: a fetch numbered above started after it
	deadline time.Time // the key wait
	kid      string
	want     bool // it may want a fetch (its token has a kid)
	admitted bool // it counts against maxKeyWaiters
}

// maxWantedKids bounds the kids a wanted fetch remembers; beyond them it
// is wanted in any case.
const maxWantedKids = 8

// add records that a token with kid wants the fetch.
func (r *fetchRound) add(kid string) {
	switch {
	case r.always || slices.Contains(r.kids, kid):
	case len(r.kids) == maxWantedKids:
		r.always, r.kids = true, nil
	default:
		r.kids = append(r.kids, kid)
	}
}

// needless reports whether the wanted fetch r is no longer needed: the
// keys of s, just fetched, hold every kid it was wanted for. Requests
// waiting for a first fetch want the next one too (the first started
// before them), and it would be wasted once their keys came.
func (r *fetchRound) needless(s *keySnapshot) bool {
	if r.always || !s.usable() {
		return false
	}
	for _, kid := range r.kids {
		if _, ok := s.set.byKid[kid]; !ok {
			return false
		}
	}
	return true
}

// cannotLook answers a request whose key could not be looked for: keys
// without a kid may still verify it; otherwise 503, the token may be fine.
func (st *remoteStore) cannotLook(s *keySnapshot, o KeyMissOutcome, retry time.Duration) ([]*verifyKey, error) {
	if !s.usable() && o == KeyMissRateLimited {
		o = KeyMissUnavailable
	}
	st.missed(o)
	if s.usable() && len(s.set.noKid) > 0 {
		return s.set.noKid, nil
	}
	return nil, st.unavailable(s, retry)
}

// await returns the fetch w may wait for: the one under way, or the one
// wanted next (wanting it first when w may and no fetch under way started
// after it arrived). It returns nil, with how long until a fetch could
// tell, when there is none, when the wanted one cannot start before w's
// deadline, or when maxKeyWaiters requests wait already. changed is set
// when seen is no longer the published snapshot: the caller must look at
// the new one first. Snapshots are published under mu, so a fetch under
// way here has not published yet.
func (st *remoteStore) await(seen *keySnapshot, w *waiter) (r *fetchRound, changed bool, retry time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.snap.Load() != seen {
		return nil, true, 0
	}
	now := time.Now()
	if st.closed {
		return nil, false, st.retryLocked(now)
	}
	if w.want && (st.inflight == nil || st.inflight.seq <= w.arrived) {
		st.want(FetchKeyMiss).add(w.kid)
	}
	start := now
	r = st.inflight
	if r == nil {
		r = st.wanted
		start = st.startAt(now)
	}
	if r == nil || !start.Before(w.deadline) || !w.admitted && st.waiters >= maxKeyWaiters {
		return nil, false, st.retryLocked(now)
	}
	if !w.admitted {
		st.waiters++
		w.admitted = true
	}
	return r, false, 0
}

// want asks run for a fetch, unless one is wanted already, and returns
// it. Call with mu held.
func (st *remoteStore) want(trigger FetchTrigger) *fetchRound {
	if st.wanted == nil {
		st.wanted = newRound(trigger)
		select {
		case st.kick <- struct{}{}:
		default:
		}
	}
	return st.wanted
}

// startAt is when a wanted fetch may start: when the key-miss budget has
// room and the provider's Retry-After allows. Call with mu held.
func (st *remoteStore) startAt(now time.Time) time.Time {
	at := st.missTAT.Add(-(keyMissBurst - 1) * st.cfg.cooldown)
	return latest(now, at, st.notBefore)
}

// spend takes one fetch from the key-miss budget: bursts of keyMissBurst,
// refilled at one per cooldown (GCRA). Call with mu held.
func (st *remoteStore) spend(now time.Time) {
	st.missTAT = latest(st.missTAT, now).Add(st.cfg.cooldown)
}

func latest(t time.Time, ts ...time.Time) time.Time {
	for _, u := range ts {
		if u.After(t) {
			t = u
		}
	}
	return t
}

// retryIn is how long until a fetch could tell what a request wants to
// know: the fetch under way, the wanted one, or the next scheduled one.
func (st *remoteStore) retryIn(now time.Time) time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.retryLocked(now)
}

func (st *remoteStore) retryLocked(now time.Time) time.Duration {
	switch {
	case st.inflight != nil:
		// The fetch under way ends within the timeout; for Discover's first
		// round the key set's fetch may follow, and the Retry-After it
		// then gives is the floor of one second.
		return st.inflight.started.Add(st.cfg.fetchTimeout).Sub(now)
	case st.wanted != nil:
		return st.startAt(now).Sub(now)
	}
	return st.snap.Load().retryAt.Sub(now)
}

func (st *remoteStore) missed(o KeyMissOutcome) {
	if st.observer != nil {
		st.observer.KeyMiss(KeyMissEvent{URL: st.name, Outcome: o})
	}
}

// unavailable is the 503 answer, with the Retry-After retry (bounded by
// maxRetryAfter) and the last fetch error as the cause (for logs, never
// for clients).
func (st *remoteStore) unavailable(s *keySnapshot, retry time.Duration) *Error {
	e := *errKeysUnavailable
	if s.err != nil {
		e.Err = fmt.Errorf("%w: %w", ErrKeysUnavailable, s.err)
	}
	e.RetryAfter = min(max(retry, 0), maxRetryAfter)
	return &e
}

// ready reports whether there are keys; with wait it waits for them until
// ctx ends. Without keys it wants a fetch (within the key-miss budget), so
// that a readiness probe brings keys as soon as the provider is back. A
// configuration error (the discovery document names another issuer) is
// reported at once: waiting would not mend it.
func (st *remoteStore) ready(ctx context.Context, wait bool) error {
	prompted := false
	for {
		s := st.snap.Load()
		if s.usable() {
			return nil
		}
		if errors.Is(s.err, ErrIssuerMismatch) {
			return st.unavailable(s, st.retryIn(time.Now()))
		}
		if !prompted {
			prompted = true
			st.mu.Lock()
			if !st.closed && st.inflight == nil {
				st.want(FetchRequested).always = true
			}
			st.mu.Unlock()
		}
		if !wait {
			return st.unavailable(s, st.retryIn(time.Now()))
		}
		select {
		case <-s.next:
		case <-st.stopped:
			return fmt.Errorf("bearer: middleware closed: %w", st.unavailable(st.snap.Load(), 0))
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", st.unavailable(st.snap.Load(), st.retryIn(time.Now())), ctx.Err())
		}
	}
}

// refetch fetches now, or as soon as the key-miss budget allows, and
// returns that fetch's error: the fetch starts after the call, so what it
// brings is what the provider publishes now.
func (st *remoteStore) refetch(ctx context.Context) error {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return errClosed
	}
	r := st.want(FetchRequested)
	r.always = true
	st.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return fmt.Errorf("bearer: refresh of %s: %w", st.name, ctx.Err())
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
// says so or a fetch is wanted (within the key-miss budget), and drops keys
// that expire before the next attempt, until Close.
func (st *remoteStore) run(ctx context.Context) {
	defer close(st.stopped)
	defer st.shut()
	next := st.attempt(ctx, FetchInitial, false)
	for ctx.Err() == nil {
		wake, why := next, wokeTimer
		if s := st.snap.Load(); s.set != nil && !s.usableUntil.After(wake) {
			wake, why = s.usableUntil, wokeExpiry
		}
		st.mu.Lock()
		if st.wanted != nil {
			if at := st.startAt(time.Now()); at.Before(wake) {
				wake, why = at, wokeWanted
			}
		}
		st.mu.Unlock()
		switch st.sleep(ctx, wake) {
		case wokeDone:
			return
		case wokeKick:
			continue // a fetch is wanted: when may it start?
		}
		switch why {
		case wokeExpiry:
			st.expire()
		case wokeWanted:
			next = st.attempt(ctx, FetchScheduled, true)
		default:
			next = st.attempt(ctx, FetchScheduled, false)
		}
	}
}

// Why sleep returned, and why run woke.
const (
	wokeDone   = iota // ctx ended
	wokeTimer         // the time came: a scheduled fetch
	wokeKick          // a fetch is wanted
	wokeExpiry        // the keys outlived the maximum staleness
	wokeWanted        // a wanted fetch may start
)

// sleep waits until next, or until a fetch is wanted.
func (st *remoteStore) sleep(ctx context.Context, next time.Time) int {
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return wokeDone
	case <-timer.C:
		return wokeTimer
	case <-st.kick:
		return wokeKick
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

// errClosed is the outcome of a fetch that Close cancelled.
var errClosed = errors.New("bearer: key source closed")

// shut releases requests waiting on fetches that will not happen.
func (st *remoteStore) shut() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	for _, r := range []*fetchRound{st.inflight, st.wanted} {
		if r != nil {
			r.err = errClosed
			close(r.done)
		}
	}
	st.inflight, st.wanted = nil, nil
}

// attempt fetches once, publishes the outcome and wakes the requests that
// waited for it. The wanted fetch, if any, goes along (any fetch that
// starts now tells what it wants to know); spend says it is the reason for
// this one, which then counts against the key-miss budget. It returns when
// to fetch next.
func (st *remoteStore) attempt(ctx context.Context, trigger FetchTrigger, spend bool) time.Time {
	st.mu.Lock()
	r := st.inflight // the first fetch is under way since open
	if r == nil {
		now := time.Now()
		r, st.wanted = st.wanted, nil
		switch {
		case r == nil:
			r = newRound(trigger)
		case spend:
			st.spend(now)
		default:
			r.trigger = trigger
		}
		r.seq, r.started = st.rounds.Add(1), now
		st.inflight = r
	}
	st.mu.Unlock()

	old := st.snap.Load()
	s, notBefore := st.refresh(ctx, r, old)
	if s == nil {
		return time.Time{} // closing; shut releases the waiters
	}
	st.mu.Lock()
	st.notBefore = notBefore
	st.mu.Unlock()
	r.err = s.err
	st.publish(old, s, r)
	return s.retryAt
}

// publish replaces old by s and wakes whoever waits: for any new snapshot
// (Ready), for the round r (requests). Snapshots are stored under mu, with
// the round cleared, so that await sees both change at once.
func (st *remoteStore) publish(old, s *keySnapshot, r *fetchRound) {
	st.mu.Lock()
	st.snap.Store(s)
	if r != nil {
		st.inflight = nil
	}
	if w := st.wanted; w != nil && w.needless(s) {
		st.wanted = nil
		defer close(w.done) // wakes those who wait for it, to look again
	}
	st.mu.Unlock()
	close(old.next)
	if r != nil {
		close(r.done)
	}
}

// refresh fetches for the round r and builds the next snapshot from old,
// or returns nil when ctx ended. notBefore is a Retry-After's bound on
// wanted fetches.
func (st *remoteStore) refresh(ctx context.Context, r *fetchRound, old *keySnapshot) (s *keySnapshot, notBefore time.Time) {
	keys, a, err := st.fetchKeys(ctx, r.trigger, old)
	if ctx.Err() != nil {
		return nil, time.Time{}
	}
	now := time.Now()
	s = &keySnapshot{
		set:         old.set,
		checked:     old.checked,
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
		s.checked, s.fetched, s.freshUntil = r.seq, now, now.Add(fresh)
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
	// Without keys nothing verifies: retry on a short cap, unless the
	// configuration is wrong, which a retry does not mend.
	urgent := s.set == nil && !errors.Is(err, ErrIssuerMismatch)
	s.retryAt = now.Add(st.cfg.backoff(st.log.failures, a.retryAfter, urgent))
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
	shown := redact(st.jwksURL)
	e := FetchEvent{URL: shown, Trigger: trigger, Status: a.status}
	var keys []*verifyKey
	switch {
	case err != nil:
	case a.status == 200:
		var raw int
		keys, e.Skipped, raw, err = st.parse(a.body)
		if err == nil {
			st.validators = validatorsOf(a.header)
		} else {
			err = failedAt(ErrFetch, shown, fmt.Errorf("%w (%d keys in the set)", err, raw))
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
