// Package redisrevoke shares a bearer revocation list across the instances
// of a service through Redis: a token revoked on one instance is refused by
// all of them, within milliseconds.
//
//	revocations, err := redisrevoke.New(ctx, redis.NewClient(&redis.Options{Addr: "localhost:6379"}))
//	...
//	defer revocations.Close()
//	m, err := bearer.New(keys, bearer.WithIssuer(iss), bearer.WithAudience(aud),
//		bearer.WithRevocation(revocations))
//
// Each instance keeps the whole list in memory (a bearer.MemoryRevoker), so
// the check made on every request never waits for Redis. Changes go to Redis
// first, one key per entry that expires with the tokens it covers, and are
// published on a channel that every instance subscribes to. A new instance
// loads the current list before New returns.
//
// # When Redis is unreachable
//
// The subscription is watched (a PING when it has been quiet for a second).
// When it breaks, changes made elsewhere may be missed, so the list is
// out of date: after WithMaxStaleness (DefaultMaxStaleness) without Redis,
// Revoked answers tokens it does not know to be revoked with ErrStale, and
// the middleware applies its policy: 503 by default (fail closed), or
// acceptance with bearer.WithRevocationFailOpen. Tokens known to be revoked
// stay refused either way. Revoke, Unrevoke and List return Redis's error.
//
// Recovery needs no restart: the Revoker reconnects with backoff,
// subscribes again and then reloads the whole list, since messages
// published while it was away are lost to it. Only then is it up to date
// again.
//
// Redis 6.2 or newer is needed (SET PXAT). A Redis that restarts without
// persistence (RDB or AOF) loses the revocations it held. Redis Cluster is
// not supported; Sentinel is, through redis.NewFailoverClient.
package redisrevoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/redis/go-redis/v9"
)

// Defaults.
const (
	// DefaultPrefix starts the names of the keys and of the channel.
	DefaultPrefix = "bearer:revoked:"
	// DefaultMaxStaleness rides out a short loss of Redis (a failover, a
	// restart) without refusing every request, while bounding how long a
	// revocation made elsewhere can go unseen.
	DefaultMaxStaleness = 5 * time.Second
)

// ErrStale reports that Redis has been unreachable for longer than WithMaxStaleness, so
// the local list may lack revocations made on other instances.
var ErrStale = errors.New("redisrevoke: revocation list out of date: Redis unreachable")

var (
	errNoName    = errors.New("redisrevoke: a revocation names a token ID or a subject")
	errBothNames = errors.New("redisrevoke: a revocation names a token ID or a subject, not both")
)

// Revoker is a bearer.RevocationList shared through Redis. It is safe for
// concurrent use. Close stops its background work.
type Revoker struct {
	client   *redis.Client
	prefix   string
	channel  string
	maxStale time.Duration
	lifetime time.Duration
	leeway   time.Duration
	now      func() time.Time
	log      *slog.Logger

	view       atomic.Pointer[bearer.MemoryRevoker]
	staleSince atomic.Int64 // Unix ns of the last contact when Redis was lost; 0 when up to date

	synced   chan struct{} // closed on the first load
	done     chan struct{} // closed when run returns
	cancel   context.CancelFunc
	stopOnce sync.Once

	mu      sync.Mutex
	pubsub  *redis.PubSub // the current subscription; the run loop replaces it
	closed  bool
	lastErr error // why the last attempt failed, for New
}

// An Option configures New.
type Option func(*Revoker) error

// WithPrefix sets what the names of the keys and of the channel start with
// (default DefaultPrefix). Instances that share a list must share it;
// services that share a Redis must not.
func WithPrefix(prefix string) Option {
	return func(r *Revoker) error {
		if prefix == "" {
			return errors.New("redisrevoke: empty prefix")
		}
		r.prefix = prefix
		return nil
	}
}

// WithMaxStaleness sets how long Redis may be unreachable before Revoked
// fails (see the package documentation); 0 fails as soon as the loss is
// seen. The default is DefaultMaxStaleness.
func WithMaxStaleness(d time.Duration) Option {
	return func(r *Revoker) error {
		if d < 0 {
			return errors.New("redisrevoke: negative max staleness")
		}
		r.maxStale = d
		return nil
	}
}

// WithMaxTokenLifetime is bearer.MaxTokenLifetime: how long a revocation by
// subject lasts after its cut-off (default bearer.DefaultMaxTokenLifetime).
// Give every instance the same.
func WithMaxTokenLifetime(d time.Duration) Option {
	return func(r *Revoker) error {
		r.lifetime = d
		return nil
	}
}

// WithLeeway is bearer.RevokerLeeway: how long entries are kept past the
// expiry of their tokens (default bearer.DefaultLeeway); at least the
// middleware's WithLeeway.
func WithLeeway(d time.Duration) Option {
	return func(r *Revoker) error {
		r.leeway = d
		return nil
	}
}

// WithClock sets the source of the current time, for tests.
func WithClock(now func() time.Time) Option {
	return func(r *Revoker) error {
		if now == nil {
			return errors.New("redisrevoke: nil clock")
		}
		r.now = now
		return nil
	}
}

// WithLogger sets where the loss and the return of Redis are reported
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(r *Revoker) error {
		if l == nil {
			return errors.New("redisrevoke: nil logger")
		}
		r.log = l
		return nil
	}
}

// New returns a Revoker that shares its list through client, once it has
// subscribed to changes and loaded the current list. It fails if that
// cannot be done before ctx ends. client stays the caller's: Close does not
// close it.
func New(ctx context.Context, client *redis.Client, opts ...Option) (*Revoker, error) {
	if client == nil {
		return nil, errors.New("redisrevoke: nil client")
	}
	r := &Revoker{
		client:   client,
		prefix:   DefaultPrefix,
		maxStale: DefaultMaxStaleness,
		lifetime: bearer.DefaultMaxTokenLifetime,
		leeway:   bearer.DefaultLeeway,
		now:      time.Now,
		log:      slog.Default(),
		synced:   make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(r); err != nil {
			return nil, err
		}
	}
	r.channel = r.prefix + "events"
	view, err := r.newView() // checks lifetime and leeway
	if err != nil {
		return nil, err
	}
	r.view.Store(view)
	r.staleSince.Store(r.now().UnixNano())

	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(runCtx)
	select {
	case <-r.synced:
		return r, nil
	case <-ctx.Done():
		r.Close()
		r.mu.Lock()
		err := r.lastErr
		r.mu.Unlock()
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("redisrevoke: loading the revocation list: %w", err)
	}
}

func (r *Revoker) newView() (*bearer.MemoryRevoker, error) {
	return bearer.NewMemoryRevoker(
		bearer.MaxTokenLifetime(r.lifetime),
		bearer.RevokerLeeway(r.leeway),
		bearer.RevokerClock(r.now))
}

// Close stops the Revoker's background work and waits for it. The list is
// no longer kept current: Revoked then answers as when Redis is lost.
func (r *Revoker) Close() error {
	r.stopOnce.Do(func() {
		r.staleSince.CompareAndSwap(0, r.now().UnixNano())
		r.cancel()
		r.mu.Lock()
		r.closed = true
		if r.pubsub != nil {
			r.pubsub.Close() // unblocks the run loop's read
		}
		r.mu.Unlock()
		<-r.done
	})
	return nil
}

// Revoked reports whether t is revoked, from memory. When Redis has been
// unreachable for longer than WithMaxStaleness, a token not known to be
// revoked gets ErrStale.
func (r *Revoker) Revoked(ctx context.Context, t *bearer.Token) (bool, error) {
	if revoked, _ := r.view.Load().Revoked(ctx, t); revoked {
		return true, nil
	}
	if since := r.staleSince.Load(); since != 0 && r.now().Sub(time.Unix(0, since)) >= r.maxStale {
		return false, ErrStale
	}
	return false, nil
}

// RevokeToken revokes t by its iss, jti and exp, on every instance. A token
// without jti or exp cannot be revoked by ID (bearer.ErrNotRevocable).
func (r *Revoker) RevokeToken(ctx context.Context, t *bearer.Token) error {
	if t == nil {
		return errors.New("redisrevoke: nil token")
	}
	return r.RevokeID(ctx, t.Issuer(), t.ID(), t.Expiry())
}

// RevokeID revokes the token with jti id from issuer until expiry, its exp.
func (r *Revoker) RevokeID(ctx context.Context, issuer, id string, expiry time.Time) error {
	if err := bearer.CheckRevocation(bearer.Revocation{Issuer: issuer, TokenID: id, Expires: expiry}); err != nil {
		return err
	}
	return r.put(ctx, name(kindID, issuer, id), expiry, expiry)
}

// RevokeSubject revokes every token of subject from issuer issued before
// before, until before plus WithMaxTokenLifetime.
func (r *Revoker) RevokeSubject(ctx context.Context, issuer, subject string, before time.Time) error {
	if err := bearer.CheckRevocation(bearer.Revocation{Issuer: issuer, Subject: subject, Before: before}); err != nil {
		return err
	}
	return r.put(ctx, name(kindSubject, issuer, subject), before, before.Add(r.lifetime))
}

// put stores the entry called name with the time at, kept until expires
// plus the leeway, publishes it, and applies it here at once rather than
// when this instance's own message comes back.
func (r *Revoker) put(ctx context.Context, name string, at, expires time.Time) error {
	lapses := expires.Add(r.leeway)
	if !r.now().Before(lapses) {
		return nil // every token it would cover has expired
	}
	value := strconv.FormatInt(micros(at), 10)
	expiresMs := (micros(lapses) + 999) / 1000
	err := revokeScript.Run(ctx, r.client, []string{r.prefix + name},
		value, expiresMs, r.channel, "+"+value+" "+name).Err()
	if err != nil {
		return fmt.Errorf("redisrevoke: revoke: %w", err)
	}
	add(ctx, r.view.Load(), name, value)
	return nil
}

// Unrevoke removes the entry rev names, on every instance.
func (r *Revoker) Unrevoke(ctx context.Context, rev bearer.Revocation) error {
	name, err := nameOf(rev)
	if err != nil {
		return err
	}
	_, err = r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.prefix+name)
		p.Publish(ctx, r.channel, "-"+name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisrevoke: unrevoke: %w", err)
	}
	remove(ctx, r.view.Load(), name)
	return nil
}

// List returns the entries held in Redis.
func (r *Revoker) List(ctx context.Context) ([]bearer.Revocation, error) {
	view, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	return view.List(ctx)
}

// load reads the entries held in Redis into a new list.
func (r *Revoker) load(ctx context.Context) (*bearer.MemoryRevoker, error) {
	view, err := r.newView()
	if err != nil {
		return nil, err
	}
	match := escapeGlob(r.prefix) + "*"
	var cursor uint64
	for {
		var keys []string
		keys, cursor, err = r.client.Scan(ctx, cursor, match, 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("redisrevoke: list: %w", err)
		}
		if len(keys) > 0 {
			values, err := r.client.MGet(ctx, keys...).Result()
			if err != nil {
				return nil, fmt.Errorf("redisrevoke: list: %w", err)
			}
			for i, v := range values {
				if s, ok := v.(string); ok { // nil: expired since the SCAN
					add(ctx, view, keys[i][len(r.prefix):], s)
				}
			}
		}
		if cursor == 0 {
			return view, nil
		}
	}
}

// escapeGlob quotes the characters a SCAN MATCH pattern gives a meaning.
func escapeGlob(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}
