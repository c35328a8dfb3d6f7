// Package redisrevoke shares a bearer revocation list across the instances
// of a service through Redis: a token revoked on one instance is refused by
// all of them, within milliseconds (well under one on loopback;
// TestSharedAcrossInstances holds the median to 50 ms).
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
// stay refused either way. RevokeToken, RevokeID, RevokeSubject and
// Unrevoke return Redis's error.
//
// Recovery needs no restart: the Revoker reconnects with backoff,
// subscribes again and then reloads the whole list, since messages
// published while it was away are lost to it. Only then is it up to date
// again.
//
// # Nothing lost while any instance remembers
//
// Revocations only grow until their tokens expire, so the union of what
// Redis and the instances hold is always right. Each time an instance loads
// the list (after every reconnection, and once a minute besides), it puts
// back into Redis, and keeps, every entry it holds that Redis lacks: a Redis
// that came back empty (no persistence, a snapshot older than the last
// changes, a failover to a replica that had not received them, a flush)
// gets its revocations back from the instances, and a revocation is lost
// only if Redis and every instance lose it at once. Unrevoke leaves a
// tombstone until the entry would have expired, so that an entry removed
// on purpose is not put back.
//
// # Topologies
//
// New takes a *redis.Client (one node, or Sentinel through
// redis.NewFailoverClient) or a *redis.ClusterClient (Redis Cluster). The
// key names carry the prefix as a hash tag, so that on a cluster the list
// lives in one hash slot: a change and its message are one script on one
// master, the message goes out by sharded pub/sub (SPUBLISH) to the
// instances subscribed to that master, and the list loads from that master.
// When the master fails over, the instances lose their subscription,
// resubscribe on the promoted replica, reload, and put back what the
// replica had not received.
//
// Redis 6.2 or newer is needed (SET PXAT); 7.0 on a cluster (sharded
// pub/sub).
package redisrevoke

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
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
	errNoName       = errors.New("redisrevoke: a revocation names a token ID or a subject")
	errBothNames    = errors.New("redisrevoke: a revocation names a token ID or a subject, not both")
	errUnsubscribed = errors.New("redisrevoke: unsubscribed by Redis (the channel's slot moved)")
)

// resyncInterval is how often an instance that stays connected loads the
// whole list again and puts back what Redis lacks: a flushed or evicting
// Redis keeps the subscription up, so only a reload finds what it lost.
const resyncInterval = time.Minute

// restoreBatch is how many entries one round trip puts back.
const restoreBatch = 500

// Revoker is a bearer.RevocationList shared through Redis. It is safe for
// concurrent use. Close stops its background work.
type Revoker struct {
	client   redis.UniversalClient
	cluster  *redis.ClusterClient // client, when it is a cluster's
	prefix   string               // WithPrefix as a hash tag: "{" + prefix + "}"
	channel  string
	publish  string // PUBLISH, or SPUBLISH on a cluster
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
// (default DefaultPrefix), in braces: "{bearer:revoked:}id:...". Instances
// that share a list must share it; services that share a Redis must not.
// It cannot hold braces itself, which would change the hash slot.
func WithPrefix(prefix string) Option {
	return func(r *Revoker) error {
		if prefix == "" {
			return errors.New("redisrevoke: empty prefix")
		}
		if strings.ContainsAny(prefix, "{}") {
			return errors.New("redisrevoke: braces in the prefix")
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

// WithMaxTokenLifetime is bearer.RevokerMaxTokenLifetime: how long a revocation by
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
// cannot be done before ctx ends. client is a *redis.Client (one node, or
// Sentinel) or a *redis.ClusterClient; it stays the caller's: Close does
// not close it.
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Revoker, error) {
	r := &Revoker{
		client:   client,
		publish:  "PUBLISH",
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
	switch c := client.(type) {
	case *redis.Client:
		if c == nil {
			return nil, errors.New("redisrevoke: nil client")
		}
	case *redis.ClusterClient:
		if c == nil {
			return nil, errors.New("redisrevoke: nil client")
		}
		r.cluster, r.publish = c, "SPUBLISH"
	case nil:
		return nil, errors.New("redisrevoke: nil client")
	default:
		// A Ring shards keys on the client side: no SCAN sees the list.
		return nil, fmt.Errorf("redisrevoke: unsupported client %T: use a *redis.Client or a *redis.ClusterClient", client)
	}
	r.prefix = "{" + r.prefix + "}"
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
		bearer.RevokerMaxTokenLifetime(r.lifetime),
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
	value, expiresMs, ok := r.entryArgs(at, expires)
	if !ok {
		return nil // every token it would cover has expired
	}
	err := revokeScript.Run(ctx, r.client, []string{r.prefix + name, r.channel},
		value, expiresMs, "+"+value+" "+name, r.publish, "").Err()
	if err != nil {
		return fmt.Errorf("redisrevoke: revoke: %w", err)
	}
	add(ctx, r.view.Load(), name, value)
	return nil
}

// entryArgs returns an entry's value and the Unix ms at which Redis drops
// it: when its tokens expire, plus the leeway; not ok once that has passed.
func (r *Revoker) entryArgs(at, expires time.Time) (value string, expiresMs int64, ok bool) {
	lapses := expires.Add(r.leeway)
	if !r.now().Before(lapses) {
		return "", 0, false
	}
	return strconv.FormatInt(micros(at), 10), (micros(lapses) + 999) / 1000, true
}

// Unrevoke removes the entry rev names, on every instance. Redis keeps a
// tombstone until the entry would have expired (see the package
// documentation).
func (r *Revoker) Unrevoke(ctx context.Context, rev bearer.Revocation) error {
	name, err := nameOf(rev)
	if err != nil {
		return err
	}
	view := r.view.Load()
	mine, mineMs := "", ""
	if held, ok := find(ctx, view, name); ok {
		if v, ms, ok := r.entryArgs(timesOf(held)); ok {
			mine, mineMs = v, strconv.FormatInt(ms, 10)
		}
	}
	err = unrevokeScript.Run(ctx, r.client, []string{r.prefix + name, r.channel},
		"-"+name, r.publish, mine, mineMs).Err()
	if err != nil {
		return fmt.Errorf("redisrevoke: unrevoke: %w", err)
	}
	remove(ctx, view, name)
	return nil
}

// List returns the entries held in Redis.
func (r *Revoker) List(ctx context.Context) ([]bearer.Revocation, error) {
	view, _, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	return view.List(ctx)
}

// load reads the entries held in Redis into a new list, and the values of
// every key, tombstones (negative) included, by name.
func (r *Revoker) load(ctx context.Context) (*bearer.MemoryRevoker, map[string]int64, error) {
	view, err := r.newView()
	if err != nil {
		return nil, nil, err
	}
	node, err := masterFor(ctx, r.client, r.prefix)
	if err != nil {
		return nil, nil, fmt.Errorf("redisrevoke: list: %w", err)
	}
	values := make(map[string]int64)
	match := escapeGlob(r.prefix) + "*"
	var cursor uint64
	for {
		var keys []string
		keys, cursor, err = node.Scan(ctx, cursor, match, 1000).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("redisrevoke: list: %w", err)
		}
		if len(keys) > 0 {
			got, err := node.MGet(ctx, keys...).Result()
			if err != nil {
				return nil, nil, fmt.Errorf("redisrevoke: list: %w", err)
			}
			for i, v := range got {
				s, ok := v.(string) // nil: expired since the SCAN
				if !ok {
					continue
				}
				name := keys[i][len(r.prefix):]
				if us, err := strconv.ParseInt(s, 10, 64); err == nil {
					values[name] = us
				}
				add(ctx, view, name, s)
			}
		}
		if cursor == 0 {
			return view, values, nil
		}
	}
}

// restore puts back into Redis, and into view, the entries of held that
// Redis lacks (values, from load): those it lost. An entry Redis holds a
// tombstone for, as late as the one held, was removed on purpose and stays
// out. It returns how many it put back.
func (r *Revoker) restore(ctx context.Context, view *bearer.MemoryRevoker, held []bearer.Revocation, values map[string]int64) (int, error) {
	type entry struct {
		name, value string
		expiresMs   int64
	}
	var missing []entry
	for _, rev := range held {
		name, _ := nameOf(rev)
		at, expires := timesOf(rev)
		value, expiresMs, ok := r.entryArgs(at, expires)
		if !ok {
			continue
		}
		if v, ok := values[name]; ok && max(v, -v) >= micros(at) {
			continue
		}
		missing = append(missing, entry{name, value, expiresMs})
	}
	for batch := range slices.Chunk(missing, restoreBatch) {
		_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, e := range batch {
				// Eval, not EvalSha: a Redis that lost its data lost its
				// script cache too.
				revokeScript.Eval(ctx, p, []string{r.prefix + e.name, r.channel},
					e.value, e.expiresMs, "+"+e.value+" "+e.name, r.publish, "restore")
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("redisrevoke: putting back lost revocations: %w", err)
		}
		for _, e := range batch {
			add(ctx, view, e.name, e.value)
		}
	}
	return len(missing), nil
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
