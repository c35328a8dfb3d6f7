package redisrevoke

import (
	"context"
	"errors"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/redis/go-redis/v9"
)

// DefaultReplayPrefix starts the names of the replay cache's keys.
const DefaultReplayPrefix = "bearer:dpop:"

// ReplayCache returns a bearer.ReplayCache in Redis, for DPoP proofs
// (RFC 9449 §11.1) seen by any instance of a service: a proof accepted on
// one instance is refused as a replay on all the others. Each id is one key,
// set only if absent and expiring with the proof's window, so Redis holds
// no more than the proofs of the last window. The expiry is the time left
// in the window, in milliseconds rounded up, counted by Redis from when it
// receives the command: an id is never forgotten before its window closes,
// whatever the clocks of Redis and the middleware say. It shares client, the
// connection of the revocation list, and needs nothing of Close.
//
//	m, err := bearer.New(keys, bearer.WithIssuer(iss), bearer.WithAudience(aud),
//		bearer.WithDPoP(bearer.DPoP{Replay: redisrevoke.ReplayCache(client, "")}))
//
// prefix starts the key names ("" for DefaultReplayPrefix). When Redis
// cannot be reached the answer is an error, and the middleware answers 503:
// a proof that cannot be checked for replay is not accepted.
func ReplayCache(client *redis.Client, prefix string) bearer.ReplayCache {
	if prefix == "" {
		prefix = DefaultReplayPrefix
	}
	return &replayCache{client: client, prefix: prefix}
}

type replayCache struct {
	client *redis.Client
	prefix string
}

func (c *replayCache) Remember(ctx context.Context, p bearer.ProofID) (bool, error) {
	err := c.client.Do(ctx, "SET", c.prefix+p.Key+":"+p.JTI, 1, "NX", "PX", expiryMillis(p.Until.Sub(p.Now))).Err()
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
