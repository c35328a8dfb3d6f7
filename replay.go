package bearer

import (
	"context"
	"errors"
	"sync"
	"time"
)

// DefaultReplayEntries bounds the default in-memory replay cache.
const DefaultReplayEntries = 1 << 20

// ErrReplayCacheFull reports that the in-memory replay cache holds as many live
// entries as it may; the proof is refused rather than left unchecked.
var ErrReplayCacheFull = errors.New("bearer: replay cache full")

// NewMemoryReplayCache returns a ReplayCache for one instance, holding at
// most maxEntries live identifiers. Expired ones are swept as new ones come,
// with no background goroutine. Several instances behind one name need a
// shared cache instead.
func NewMemoryReplayCache(maxEntries int) ReplayCache {
	return &memoryReplay{max: max(maxEntries, 1), seen: make(map[string]time.Time)}
}

type memoryReplay struct {
	mu        sync.Mutex
	max       int
	seen      map[string]time.Time
	nextSweep time.Time
}

func (c *memoryReplay) Remember(_ context.Context, id string, until time.Time) (bool, error) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[id]; ok && now.Before(exp) {
		return false, nil
	}
	if len(c.seen) >= c.max || now.After(c.nextSweep) {
		c.sweep(now)
		if len(c.seen) >= c.max {
			return false, ErrReplayCacheFull
		}
	}
	c.seen[id] = until
	return true, nil
}

// sweep drops expired identifiers; it runs at most once a second unless
// the cache is full, so its cost is spread thin.
func (c *memoryReplay) sweep(now time.Time) {
	for id, exp := range c.seen {
		if !now.Before(exp) {
			delete(c.seen, id)
		}
	}
	c.nextSweep = now.Add(time.Second)
}
