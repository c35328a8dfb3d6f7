package bearer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// KeyObserver is the part of an Observer that hears what the remote key
// sources (RemoteJWKS, Discover) do, for metrics and alerts. Methods are called
// synchronously, from a source's own goroutine or, for KeyMiss, from the
// request's: they must be quick and safe for concurrent use. The core
// depends on no metrics library; an implementation maps events to its own.
type KeyObserver interface {
	// KeysFetched reports each fetch, successful or not: of the JWKS
	// document and, for Discover, of the discovery document.
	KeysFetched(FetchEvent)
	// KeyMiss reports a token whose kid was not in the cached set (or a
	// token that arrived while there were no keys), and what came of it.
	KeyMiss(KeyMissEvent)
	// KeysStale reports a failed refresh after which the last good keys,
	// past their freshness, are still served.
	KeysStale(StaleEvent)
	// KeysExpired reports that the last good keys outlived the maximum
	// staleness and were dropped: tokens get 503 until a fetch succeeds.
	KeysExpired(StaleEvent)
}

// FetchTrigger says why a remote source fetched.
type FetchTrigger uint8

// The reasons for a fetch.
const (
	FetchInitial   FetchTrigger = iota + 1 // the first fetch, started by New
	FetchScheduled                         // a refresh ahead of expiry, or a retry after a failure
	FetchKeyMiss                           // a token named a kid the cached set does not have
)

func (t FetchTrigger) String() string {
	switch t {
	case FetchInitial:
		return "initial"
	case FetchScheduled:
		return "scheduled"
	case FetchKeyMiss:
		return "key-miss"
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
	KeyMissUnknown                               // the freshly fetched set lacks it: 401
	KeyMissRateLimited                           // no fetch allowed within the cooldown: 401 (503 while fetches fail)
	KeyMissTimeout                               // the fetch took longer than the key wait: 503
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
	observer KeyObserver
	url      string // the configured URL, for log lines

	failures int       // consecutive failed attempts
	since    time.Time // first failure of the run
	lastWarn time.Time
	expired  bool // KeysExpired reported for the current outage
}

func (l *fetchLog) fetched(e FetchEvent) {
	if l.observer != nil {
		l.observer.KeysFetched(e)
	}
	if e.Err == nil && len(e.Skipped) > 0 && e.Status == 200 {
		for _, s := range e.Skipped {
			l.logger.Debug("bearer: key skipped", "url", e.URL, "kid", s.KeyID, "reason", s.Reason)
		}
	}
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
	attrs := []any{"url", l.url, "err", err, "failures", l.failures}
	if kept != nil {
		attrs = append(attrs, "keeping_keys", true, "stale", stale,
			"keys_age", now.Sub(kept.fetched).Round(time.Second), "keys_expire", kept.usableUntil)
	} else {
		attrs = append(attrs, "keeping_keys", false)
	}
	l.logger.Warn("bearer: key set fetch failed", attrs...)
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
	l.logger.Error("bearer: cached keys expired; refusing tokens until a fetch succeeds", "url", l.url, "err", err)
}

// recovered records a successful attempt.
func (l *fetchLog) recovered(now time.Time) {
	if l.failures > 0 {
		l.logger.Info("bearer: key set fetch recovered", "url", l.url, "failures", l.failures, "outage", now.Sub(l.since).Round(time.Second))
	}
	l.failures = 0
	l.expired = false
}

// WithLogger sets where remote key sources log: warnings when fetches
// fail (the first at once, then at most one every ten minutes), info when they
// recover, an error when cached keys expire, skipped keys at debug level.
// The default is slog.Default(); a logger with slog.DiscardHandler silences
// them.
func WithLogger(l *slog.Logger) Option {
	return func(m *Middleware) error {
		if l == nil {
			return errors.New("bearer: nil logger")
		}
		m.env.logger = l
		return nil
	}
}

// Observer is told what the middleware does, for metrics, logs and alerts:
// each token verified or rejected, and what the remote key sources do (the
// KeyObserver methods). WithObserver sets one; without one nothing is
// called and nothing is paid. Methods are called synchronously, on the
// request's goroutine or a key source's: they must be quick, safe for
// concurrent use, and keep nothing of a *Token past the call.
//
// Embed NopObserver to implement only some methods, and to keep compiling
// when this interface gains one. LogObserver logs with log/slog;
// github.com/bearerauth/bearer/otelbearer records OpenTelemetry metrics.
type Observer interface {
	// TokenVerified reports a request whose token passed every check;
	// cached says whether the verified-token cache answered.
	TokenVerified(ctx context.Context, t *Token, cached bool)
	// TokenRejected reports a request that failed authentication, with
	// the answer it got, or would have got had the Mode not let it pass.
	TokenRejected(ctx context.Context, e *Error)
	KeyObserver
}

// NopObserver does nothing. Embed it in an Observer of your own.
type NopObserver struct{}

// TokenVerified does nothing.
func (NopObserver) TokenVerified(context.Context, *Token, bool) {}

// TokenRejected does nothing.
func (NopObserver) TokenRejected(context.Context, *Error) {}

// KeysFetched does nothing.
func (NopObserver) KeysFetched(FetchEvent) {}

// KeyMiss does nothing.
func (NopObserver) KeyMiss(KeyMissEvent) {}

// KeysStale does nothing.
func (NopObserver) KeysStale(StaleEvent) {}

// KeysExpired does nothing.
func (NopObserver) KeysExpired(StaleEvent) {}

// WithObserver sets the Observer of the middleware and of its key sources.
func WithObserver(o Observer) Option {
	return func(m *Middleware) error {
		if o == nil {
			return errors.New("bearer: nil Observer")
		}
		m.observer = o
		m.env.observer = o
		return nil
	}
}

// LogObserver returns an Observer that logs to l: rejected tokens at Info,
// with the answer's code and description and the cause (never the token),
// verified tokens and key source events at Debug. Failing and recovering
// key fetches are logged in any case, through WithLogger, so that this
// observer does not repeat them as warnings.
func LogObserver(l *slog.Logger) Observer { return logObserver{l} }

type logObserver struct{ l *slog.Logger }

func (o logObserver) TokenVerified(ctx context.Context, t *Token, cached bool) {
	o.l.DebugContext(ctx, "bearer: token verified", "iss", t.iss, "sub", t.sub, "cached", cached)
}

func (o logObserver) TokenRejected(ctx context.Context, e *Error) {
	o.l.InfoContext(ctx, "bearer: token rejected", "status", e.Status, "error", e.Code, "description", e.Description, "cause", e.Err)
}

func (o logObserver) KeysFetched(e FetchEvent) {
	o.l.Debug("bearer: key set fetched", "url", e.URL, "trigger", e.Trigger.String(), "status", e.Status,
		"duration", e.Duration, "keys", e.Keys, "skipped", len(e.Skipped), "err", e.Err)
}

func (o logObserver) KeyMiss(e KeyMissEvent) {
	o.l.Debug("bearer: unknown key id", "url", e.URL, "outcome", e.Outcome.String())
}

func (o logObserver) KeysStale(e StaleEvent) {
	o.l.Debug("bearer: serving stale keys", "url", e.URL, "age", e.Age, "until", e.Until, "err", e.Err)
}

func (o logObserver) KeysExpired(e StaleEvent) {
	o.l.Debug("bearer: keys expired", "url", e.URL, "age", e.Age, "err", e.Err)
}
