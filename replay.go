package bearer

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// DefaultReplayEntries bounds the default in-memory replay cache.
const DefaultReplayEntries = 1 << 20

// replayShare is the part of a memory replay cache one key may hold: 1/16,
// so one client (one token and its key) can never fill it, and a flood
// takes the tokens of 16 different keys from the authorization server.
const replayShare = 16

// Sentinels of the in-memory replay cache. Either way the proof is refused
// (503) rather than let through unchecked.
var (
	// ErrReplayCacheFull reports that the in-memory replay cache holds as
	// many live entries as it may.
	ErrReplayCacheFull = errors.New("bearer: replay cache full")
	// ErrReplayKeyQuota reports that one proof key holds its share of the
	// in-memory replay cache: 1/16 of its entries, at least one.
	ErrReplayKeyQuota = errors.New("bearer: replay cache share of the key spent")
)

// NewMemoryReplayCache returns a ReplayCache for one instance, holding at
// most maxEntries live identifiers, and at most maxEntries/16 (at least
// one) of any one proof key: a single client that sends proofs as fast as
// it can gets 503 answers itself but leaves room for the others. With the
// default window of a minute, DefaultReplayEntries lets one key make about
// 1,000 requests a second; raise maxEntries for busier clients. Ids lapse
// on the clock the ProofIDs are timed by, the middleware's, with no
// background goroutine and no scan: each id is removed once, in time order.
// Several instances behind one name need a shared cache instead.
func NewMemoryReplayCache(maxEntries int) ReplayCache {
	maxEntries = max(maxEntries, 1)
	return &memoryReplay{
		max:         maxEntries,
		perKey:      max(maxEntries/replayShare, 1),
		seen:        make(map[string]struct{}),
		perKeyCount: make(map[string]int),
	}
}

type memoryReplay struct {
	mu          sync.Mutex
	max, perKey int
	seen        map[string]struct{} // the ids kept; their lapse is in lapse
	perKeyCount map[string]int      // live ids of each key
	lapse       replayQueue         // the ids of seen, soonest lapse first
}

func (c *memoryReplay) Remember(_ context.Context, p ProofID) (bool, error) {
	id := p.Key + ":" + p.JTI
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop(p.Now)
	if _, ok := c.seen[id]; ok {
		return false, nil
	}
	switch {
	case len(c.seen) >= c.max:
		return false, ErrReplayCacheFull
	case c.perKeyCount[p.Key] >= c.perKey:
		return false, ErrReplayKeyQuota
	}
	key := id[:len(p.Key)] // shares id's bytes
	c.seen[id] = struct{}{}
	c.perKeyCount[key]++
	heap.Push(&c.lapse, replayEntry{id: id, key: key, until: p.Until})
	return true, nil
}

// drop forgets the ids whose window closed by now. Each id is pushed and
// popped once, so the cost is spread evenly over the calls.
func (c *memoryReplay) drop(now time.Time) {
	for len(c.lapse) > 0 && !now.Before(c.lapse[0].until) {
		e := heap.Pop(&c.lapse).(replayEntry)
		delete(c.seen, e.id)
		if c.perKeyCount[e.key]--; c.perKeyCount[e.key] == 0 {
			delete(c.perKeyCount, e.key)
		}
	}
}

type replayEntry struct {
	id, key string
	until   time.Time
}

// replayQueue is a min-heap of entries by until.
type replayQueue []replayEntry

func (q replayQueue) Len() int           { return len(q) }
func (q replayQueue) Less(i, j int) bool { return q[i].until.Before(q[j].until) }
func (q replayQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *replayQueue) Push(x any)        { *q = append(*q, x.(replayEntry)) }
func (q *replayQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = replayEntry{}
	*q = old[:len(old)-1]
	return e
}
