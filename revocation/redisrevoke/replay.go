package redisrevoke

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/redis/go-redis/v9"
)

// DefaultReplayPrefix starts the names of the replay cache's keys.
const DefaultReplayPrefix = "bearer:dpop:"

// ErrNotReplicated reports that a DPoP proof's id did not reach as many
// replicas as WaitForReplicas asks within its timeout: a failover could
// forget it, so the proof is not accepted.
var ErrNotReplicated = errors.New("redisrevoke: proof id not replicated in time")

// ReplayCache returns a bearer.ReplayCache in Redis, for DPoP proofs
// (RFC 9449 §11.1) seen by any instance of a service: a proof accepted on
// one instance is refused as a replay on all the others. Each id is one key,
// set only if absent and expiring with the proof's window, so Redis holds
// no more than the proofs of the last window. The expiry is the time left
// in the window, in milliseconds rounded up, counted by Redis from when it
// receives the command: an id is never forgotten before its window closes,
// whatever the clocks of Redis and the middleware say. It shares client, the
// connection of the revocation list, and needs nothing of Close. client is a
// *redis.Client (one node, or Sentinel) or a *redis.ClusterClient, whose
// masters share the ids by hash slot.
//
//	m, err := bearer.New(keys, bearer.WithIssuer(iss), bearer.WithAudience(aud),
//		bearer.WithDPoP(bearer.DPoP{Replay: redisrevoke.ReplayCache(client, "")}))
//
// prefix starts the key names ("" for DefaultReplayPrefix). When Redis
// cannot be reached the answer is an error, and the middleware answers 503:
// a proof that cannot be checked for replay is not accepted.
//
// Redis replicates asynchronously: a master that fails right after
// accepting an id may leave a replica that never received it, and a replay
// of that proof would then pass. WaitForReplicas closes that window.
func ReplayCache(client redis.UniversalClient, prefix string, opts ...ReplayOption) bearer.ReplayCache {
	if prefix == "" {
		prefix = DefaultReplayPrefix
	}
	c := &replayCache{client: client, prefix: prefix}
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	return c
}

// A ReplayOption configures ReplayCache.
type ReplayOption func(*replayCache)

// WaitForReplicas accepts a proof only once n replicas of the master that
// holds its id have it too (Redis WAIT): a failover to one of them then
// remembers every proof accepted. When fewer acknowledge within timeout,
// Remember fails with ErrNotReplicated and the middleware answers 503. It
// costs a round trip from the master to its replicas per DPoP request. n
// must not exceed the replicas each master has (else every proof gets 503;
// give each master n+1, so that n are left after a failover); a timeout
// that is not positive is taken as 100 ms (WAIT would otherwise block for
// good).
func WaitForReplicas(n int, timeout time.Duration) ReplayOption {
	return func(c *replayCache) {
		if timeout <= 0 {
			timeout = 100 * time.Millisecond
		}
		c.replicas, c.timeout = n, timeout
	}
}

type replayCache struct {
	client   redis.UniversalClient
	prefix   string
	replicas int
	timeout  time.Duration
}

func (c *replayCache) Remember(ctx context.Context, p bearer.ProofID) (bool, error) {
	key := c.prefix + p.Key + ":" + p.JTI
	if c.replicas <= 0 {
		return remembered(c.set(ctx, c.client, key, p).Err())
	}
	// WAIT counts the writes of its own connection: the same pipeline, to
	// the master that holds key.
	node, err := masterFor(ctx, c.client, key)
	if err != nil {
		return false, err
	}
	var set, wait *redis.Cmd
	node.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		set = c.set(ctx, pipe, key, p)
		wait = pipe.Do(ctx, "WAIT", c.replicas, max(c.timeout.Milliseconds(), 1))
		return nil
	})
	fresh, err := remembered(set.Err())
	switch {
	case err != nil || !fresh:
		return fresh, err
	case wait.Err() != nil:
		return false, wait.Err()
	}
	if acks, err := wait.Int64(); err != nil || acks < int64(c.replicas) {
		return false, fmt.Errorf("%w: %d of %d replicas", ErrNotReplicated, acks, c.replicas)
	}
	return true, nil
}

// set remembers the proof's id under key until its window closes, if it
// is not there yet.
func (c *replayCache) set(ctx context.Context, client interface {
	Do(context.Context, ...any) *redis.Cmd
}, key string, p bearer.ProofID) *redis.Cmd {
	return client.Do(ctx, "SET", key, 1, "NX", "PX", expiryMillis(p.Until.Sub(p.Now)))
}

// remembered reads the answer of set: fresh, or a replay (the key was
// there).
func remembered(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil):
		return false, nil // the key was there: a replay
	}
	return false, err
}

// expiryMillis is d in whole milliseconds, rounded up, and at least one
// (Redis refuses an expiry of zero). EX, or EXAT, in seconds would round a
// fractional end of the window down and forget the id too early.
func expiryMillis(d time.Duration) int64 {
	return max(int64((d+time.Millisecond-1)/time.Millisecond), 1)
}
