package bearer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// FetchTrigger says why a remote source fetched.
type FetchTrigger uint8

// The reasons for a fetch.
const (
	FetchInitial   FetchTrigger = iota + 1 // the first fetch, started by New
	FetchScheduled                         // a refresh ahead of expiry, or a retry after a failure
	FetchKeyMiss                           // a token named a kid the cached set does not have
	FetchRequested                         // Middleware.Refresh, or Ready or Check while there are no keys
)

func (t FetchTrigger) String() string {
	switch t {
	case FetchInitial:
		return "initial"
	case FetchScheduled:
		return "scheduled"
	case FetchKeyMiss:
		return "key-miss"
	case FetchRequested:
		return "requested"
	}
	return fmt.Sprintf("FetchTrigger(%d)", uint8(t))
}

// FetchEvent describes one fetch of a remote document.
type FetchEvent struct {
	URL       string
	Discovery bool // the OIDC discovery document, not a JWKS: Keys is 0
	Trigger   FetchTrigger
	Status    int           // HTTP status; 0 when there was no answer
	Duration  time.Duration // from request to parsed body
	Keys      int           // usable keys of a JWKS answer (after 304: those kept)
	Skipped   []SkippedKey  // keys of the set that were not kept, and why
	Err       error         // nil on success (200 with usable keys, or 304)
}

// SkippedKey is a key of a fetched set that cannot verify signatures here:
// an unknown kty, an encryption key, a symmetric or weak key, a key whose
// alg WithAlgorithms does not allow.
type SkippedKey struct {
	KeyID  string
	Reason error
}

// KeyMissOutcome is what came of a token whose key was not cached.
type KeyMissOutcome uint8

// The outcomes of a key miss.
const (
	KeyMissFound       KeyMissOutcome = iota + 1 // a fetch brought the key
	KeyMissUnknown                               // a set fetched after the token arrived lacks it: 401
	KeyMissRateLimited                           // no fetch within the key wait (budget, Retry-After, waiters): 503
	KeyMissTimeout                               // the fetch took longer than the key wait, or the request's context ended: 503
	KeyMissUnavailable                           // no keys could be had: 503
)

func (o KeyMissOutcome) String() string {
	switch o {
	case KeyMissFound:
		return "found"
	case KeyMissUnknown:
		return "unknown"
	case KeyMissRateLimited:
		return "rate-limited"
	case KeyMissTimeout:
		return "timeout"
	case KeyMissUnavailable:
		return "unavailable"
	}
	return fmt.Sprintf("KeyMissOutcome(%d)", uint8(o))
}

// KeyMissEvent describes a key miss. The kid itself is left out: it comes
// from an unverified token, and an attacker chooses it.
type KeyMissEvent struct {
	URL     string
	Outcome KeyMissOutcome
}

// StaleEvent describes keys served, or dropped, after failed refreshes.
type StaleEvent struct {
	URL   string
	Age   time.Duration // since the keys were last fetched or confirmed (304)
	Err   error         // the last fetch error
	Until time.Time     // when the keys expire (KeysStale) or expired (KeysExpired)
}

// failureLogEvery bounds the warnings of a failing source: the first
// failure is logged at once, later ones at most this often.
const failureLogEvery = 10 * time.Minute

// fetchLog reports a source's fetches to the observer and the logger, with
// warnings rate-limited. Only the source's own goroutine uses it.
type fetchLog struct {
	logger   *slog.Logger
	observer Observer
	url      string // the configured URL, for log lines

	// The document fetched last: failures are reported with the URL that
	// failed, the JWKS's or the discovery document's, and the issuer's
	// beside it when it is another.
	lastURL       string
	lastDiscovery bool

	failures int       // consecutive failed attempts
	since    time.Time // first failure of the run
	lastWarn time.Time
	expired  bool // KeysExpired reported for the current outage
}

func (l *fetchLog) fetched(e FetchEvent) {
	if l.observer != nil {
		l.observer.KeysFetched(e)
	}
	l.lastURL, l.lastDiscovery = e.URL, e.Discovery
	if e.Err != nil {
		return // failed reports it, rate-limited
	}
	switch {
	case e.Discovery:
		l.logger.Debug("bearer: discovery document fetched", l.where("trigger", e.Trigger.String(),
			"status", e.Status, "duration", e.Duration)...)
	case e.Status == 200:
		l.logger.Debug("bearer: key set fetched", l.where("trigger", e.Trigger.String(),
			"status", e.Status, "duration", e.Duration, "keys", e.Keys, "skipped", len(e.Skipped))...)
		for _, s := range e.Skipped {
			l.logger.Debug("bearer: key skipped", l.where("kid", s.KeyID, "reason", s.Reason)...)
		}
	default:
		l.logger.Debug("bearer: key set unchanged", l.where("trigger", e.Trigger.String(),
			"status", e.Status, "duration", e.Duration, "keys", e.Keys)...)
	}
}

// where returns the attributes that say which document a line is about,
// then attrs: url, the document fetched last, and issuer, the configured
// URL of a Discover source, whose documents have other URLs.
func (l *fetchLog) where(attrs ...any) []any {
	url := l.lastURL
	if url == "" {
		url = l.url
	}
	w := []any{"url", url}
	if url != l.url {
		w = append(w, "issuer", l.url)
	}
	return append(w, attrs...)
}

// failed records a failed attempt. kept is the snapshot whose keys are
// still served, or nil when there are none.
func (l *fetchLog) failed(now time.Time, err error, kept *keySnapshot) {
	l.failures++
	if l.failures == 1 {
		l.since = now
	}
	stale := kept != nil && !now.Before(kept.freshUntil)
	if stale && l.observer != nil {
		l.observer.KeysStale(StaleEvent{URL: l.url, Age: now.Sub(kept.fetched), Err: err, Until: kept.usableUntil})
	}
	if l.failures > 1 && now.Sub(l.lastWarn) < failureLogEvery {
		return
	}
	l.lastWarn = now
	attrs := l.where("err", err, "failures", l.failures)
	if kept != nil {
		attrs = append(attrs, "keeping_keys", true, "stale", stale,
			"keys_age", now.Sub(kept.fetched).Round(time.Second), "keys_expire", kept.usableUntil)
	} else {
		attrs = append(attrs, "keeping_keys", false)
	}
	msg := "bearer: key set fetch failed"
	if l.lastDiscovery {
		msg = "bearer: discovery document fetch failed"
	}
	l.logger.Warn(msg, attrs...)
}

// expire reports, once per outage, that the last good keys were dropped.
func (l *fetchLog) expire(err error, age time.Duration, until time.Time) {
	if l.expired {
		return
	}
	l.expired = true
	if l.observer != nil {
		l.observer.KeysExpired(StaleEvent{URL: l.url, Age: age, Err: err, Until: until})
	}
	l.logger.Error("bearer: cached keys expired; refusing tokens until a fetch succeeds", l.where("err", err)...)
}

// recovered records a successful attempt.
func (l *fetchLog) recovered(now time.Time) {
	if l.failures > 0 {
		l.logger.Info("bearer: key set fetch recovered", l.where("failures", l.failures, "outage", now.Sub(l.since).Round(time.Second))...)
	}
	l.failures = 0
	l.expired = false
}

// WithLogger sets where the middleware logs, and makes it log everything
// it does: rejected tokens and refused requests (Require, Authorize) at
// Info, with the cause that says what was expected and what arrived (never
// the token); verified tokens, requests let through without a token, key
// fetches, skipped keys and unknown kids at Debug; failing key fetches at
// Warn (the first at once, then at most one every ten minutes), their
// recovery at Info, expired keys at Error.
//
// Without WithLogger, only the key sources log, to slog.Default(): their
// failures, recoveries and expiries (and, at Debug, their fetches); requests
// are not logged, and cost nothing to log. A logger with slog.DiscardHandler
// silences everything. WithObserver is for metrics and alerts: an Observer
// hears the same events, whether or not there is a logger.
func WithLogger(l *slog.Logger) Option {
	return func(m *Middleware) error {
		if l == nil {
			return errors.New("bearer: WithLogger(nil): pass a *slog.Logger; one with slog.DiscardHandler silences the logs")
		}
		if err := m.given.once("WithLogger", fmt.Sprintf("%p", l)); err != nil {
			return err
		}
		m.logger = l
		m.env.logger = l
		return nil
	}
}

// Observer is told what the middleware does, for metrics, logs and alerts:
// how each request was authenticated, each request a rule refused, and
// what the remote key sources do (the Keys methods and KeyMiss). WithObserver
// sets one; without one nothing is called and nothing is paid. Methods are
// called synchronously, on the request's goroutine or a key source's: they
// must be quick, safe for concurrent use, and keep nothing of a *Token past
// the call.
//
// Each request the middleware does not skip reaches exactly one of
// TokenVerified, TokenRejected and Anonymous, when the middleware admits or
// refuses it. A request it admitted and a rule then refused (Require,
// RequireScopes, Authorize, the adapters' scope checks) also reaches
// AccessDenied: authentication and authorization are counted apart, so
// that the sum of the first three is the number of requests, and
// AccessDenied counts refusals among them.
//
// The *Error of TokenRejected and AccessDenied has two readers: its Code
// and Description are what the client got; its cause (Err, and so
// Error()) says what was expected and what arrived, for logs and traces.
// Neither has the token, a signature or key material in it. Use the
// cause's text in logs and spans, not as a metric attribute: it is not
// from a bounded set.
//
// Embed NopObserver to implement only some methods, and to keep compiling
// when this interface gains one. WithLogger logs the same events with
// log/slog; github.com/bearerauth/bearer/otelbearer records OpenTelemetry
// metrics.
type Observer interface {
	// TokenVerified reports a request whose token passed every check;
	// cached says whether the verified-token cache answered.
	TokenVerified(ctx context.Context, t *Token, cached bool)
	// TokenRejected reports a request that failed authentication, with
	// the answer it got, or would have got had the Mode not let it pass.
	// A request without a token is reported here when it was refused
	// (Required), and to Anonymous when the Mode let it through.
	TokenRejected(ctx context.Context, e *Error)
	// Anonymous reports a request without a token that the Mode
	// (CredentialsOptional, AllowFailed) let through.
	Anonymous(ctx context.Context)
	// AccessDenied reports a request that a rule refused after the
	// middleware admitted it: 403 insufficient_scope for a token that
	// lacks a scope or fails a rule, 401 for a request the Mode let
	// through without a token. t is nil when there is no token.
	AccessDenied(ctx context.Context, t *Token, e *Error)
	// KeysFetched reports each fetch of a remote key source (RemoteJWKS,
	// Discover), successful or not: of the JWKS document and, for
	// Discover, of the discovery document.
	KeysFetched(FetchEvent)
	// KeyMiss reports a token whose kid was not in the cached set (or a
	// token that arrived while there were no keys), and what came of it.
	// It is called on the request's goroutine; the other key events on
	// the source's own.
	KeyMiss(KeyMissEvent)
	// KeysStale reports a failed refresh after which the last good keys,
	// past their freshness, are still served.
	KeysStale(StaleEvent)
	// KeysExpired reports that the last good keys outlived the maximum
	// staleness and were dropped: tokens get 503 until a fetch succeeds.
	KeysExpired(StaleEvent)
}

// NopObserver does nothing. Embed it in an Observer of your own.
type NopObserver struct{}

// TokenVerified does nothing.
func (NopObserver) TokenVerified(context.Context, *Token, bool) {}

// TokenRejected does nothing.
func (NopObserver) TokenRejected(context.Context, *Error) {}

// Anonymous does nothing.
func (NopObserver) Anonymous(context.Context) {}

// AccessDenied does nothing.
func (NopObserver) AccessDenied(context.Context, *Token, *Error) {}

// KeysFetched does nothing.
func (NopObserver) KeysFetched(FetchEvent) {}

// KeyMiss does nothing.
func (NopObserver) KeyMiss(KeyMissEvent) {}

// KeysStale does nothing.
func (NopObserver) KeysStale(StaleEvent) {}

// KeysExpired does nothing.
func (NopObserver) KeysExpired(StaleEvent) {}

// WithObserver sets the Observer of the middleware and of its key sources.
// It may be given once; an Observer that must feed several others calls
// them itself.
func WithObserver(o Observer) Option {
	return func(m *Middleware) error {
		if o == nil {
			return errors.New("bearer: WithObserver(nil): pass an Observer, or leave the option out")
		}
		if err := m.given.once("WithObserver", ""); err != nil {
			return err
		}
		m.observer = o
		return nil
	}
}

// openObserver joins, once New has read the options, the logger of
// WithLogger and the Observer of WithObserver into the one Observer the
// middleware and its key sources call.
func (m *Middleware) openObserver() {
	if m.logger != nil {
		lo := logObserver{m.logger}
		if m.observer == nil {
			m.observer = lo
		} else {
			m.observer = observerPair{lo, m.observer}
		}
	}
	if m.observer != nil {
		m.env.observer = m.observer
	}
}

// observerPair tells two observers, in order.
type observerPair [2]Observer

func (p observerPair) TokenVerified(ctx context.Context, t *Token, cached bool) {
	p[0].TokenVerified(ctx, t, cached)
	p[1].TokenVerified(ctx, t, cached)
}

func (p observerPair) TokenRejected(ctx context.Context, e *Error) {
	p[0].TokenRejected(ctx, e)
	p[1].TokenRejected(ctx, e)
}

func (p observerPair) Anonymous(ctx context.Context) {
	p[0].Anonymous(ctx)
	p[1].Anonymous(ctx)
}

func (p observerPair) AccessDenied(ctx context.Context, t *Token, e *Error) {
	p[0].AccessDenied(ctx, t, e)
	p[1].AccessDenied(ctx, t, e)
}

func (p observerPair) KeysFetched(e FetchEvent) {
	p[0].KeysFetched(e)
	p[1].KeysFetched(e)
}

func (p observerPair) KeyMiss(e KeyMissEvent) {
	p[0].KeyMiss(e)
	p[1].KeyMiss(e)
}

func (p observerPair) KeysStale(e StaleEvent) {
	p[0].KeysStale(e)
	p[1].KeysStale(e)
}

func (p observerPair) KeysExpired(e StaleEvent) {
	p[0].KeysExpired(e)
	p[1].KeysExpired(e)
}

// logObserver logs the requests' events for WithLogger. The key sources'
// fetches, failures and expiries are logged by their fetchLog, with the
// same logger; key misses, which only the Observer hears, are logged here.
type logObserver struct{ l *slog.Logger }

func (o logObserver) TokenVerified(ctx context.Context, t *Token, cached bool) {
	if o.l.Enabled(ctx, slog.LevelDebug) { // no arguments built for nothing on the hot path
		o.l.DebugContext(ctx, "bearer: token verified", "iss", t.iss, "sub", t.sub, "cached", cached)
	}
}

func (o logObserver) TokenRejected(ctx context.Context, e *Error) {
	o.l.InfoContext(ctx, "bearer: token rejected", "status", e.Status, "error", e.Code, "description", e.Description, "cause", e.Err)
}

func (o logObserver) Anonymous(ctx context.Context) {
	o.l.DebugContext(ctx, "bearer: request without token let through")
}

func (o logObserver) AccessDenied(ctx context.Context, t *Token, e *Error) {
	attrs := []any{"status", e.Status, "error", e.Code, "description", e.Description}
	if e.Scope != "" {
		attrs = append(attrs, "scope", e.Scope)
	}
	if t != nil {
		attrs = append(attrs, "iss", t.iss, "sub", t.sub)
	}
	o.l.InfoContext(ctx, "bearer: access denied", append(attrs, "cause", e.Err)...)
}

func (o logObserver) KeysFetched(FetchEvent) {}

func (o logObserver) KeyMiss(e KeyMissEvent) {
	o.l.Debug("bearer: unknown key id", "url", e.URL, "outcome", e.Outcome.String())
}

func (o logObserver) KeysStale(StaleEvent) {}

func (o logObserver) KeysExpired(StaleEvent) {}
