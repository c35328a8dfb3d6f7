package redisrevoke

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// heartbeat is how long the subscription may stay quiet before a PING
// checks it; a PING unanswered for as long means Redis is lost (a dead
// peer or a dropped network path sends no error of its own).
const heartbeat = time.Second

// Reconnection backoff: quick for a blip, at most one attempt a second per
// instance for a long outage. The cap bounds how long an instance takes to
// find a Redis that is back: a cluster's failover takes a few seconds, and
// the instance must be back well within DefaultMaxStaleness.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
)

var errNoPong = errors.New("redisrevoke: no answer to PING")

// run keeps the local list up to date until ctx ends: subscribe, load the
// whole list, apply each published change; on any failure, drop the
// subscription and start again after a backoff. Loading after subscribing
// means no change is missed: one made before the load is in it, one made
// after arrives as a message, and messages are applied in order after the
// load, so the list converges on what Redis holds. Each load also puts
// back what Redis lost (see sync).
func (r *Revoker) run(ctx context.Context) {
	defer close(r.done)
	var (
		ps          *redis.PubSub
		pinged      bool
		lastContact = r.now()
		lastSync    time.Time
		backoff     = minBackoff
	)
	fail := func(err error) bool {
		r.lost(err, lastContact)
		ps.Close()
		ps = nil
		if r.cluster != nil {
			r.cluster.ReloadState(ctx) // a master may have failed over
		}
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, maxBackoff)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	resync := func() bool {
		if err := r.sync(ctx); err != nil {
			return fail(err)
		}
		lastSync = r.now()
		r.found()
		backoff = minBackoff
		return true
	}
	for {
		if ps == nil {
			if ps = r.subscribe(ctx); ps == nil {
				return // closed
			}
			pinged = false
		}
		msg, err := ps.ReceiveTimeout(ctx, heartbeat)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if isTimeout(err) && !pinged {
				pinged = true
				err = ps.Ping(ctx)
			} else if isTimeout(err) {
				err = errNoPong
			}
			if err != nil && !fail(err) {
				return
			}
			continue
		}
		lastContact, pinged = r.now(), false
		switch msg := msg.(type) {
		case *redis.Subscription:
			if msg.Kind == "unsubscribe" || msg.Kind == "sunsubscribe" {
				if !fail(errUnsubscribed) {
					return
				}
				continue
			}
			// Subscribed (again): load what was changed before.
			if !resync() {
				return
			}
		case *redis.Message:
			if !apply(ctx, r.view.Load(), msg.Payload) {
				r.log.Warn("redisrevoke: ignored a malformed message", "channel", msg.Channel)
			}
		}
		if ps != nil && !lastSync.IsZero() && r.now().Sub(lastSync) >= resyncInterval && !resync() {
			return
		}
	}
}

// sync loads the list from Redis and makes it the local one, with what
// this instance holds and Redis lacks put back into Redis: the union, which
// is right since revocations only grow until they lapse.
func (r *Revoker) sync(ctx context.Context) error {
	view, values, err := r.load(ctx)
	if err != nil {
		return err
	}
	held, _ := r.view.Load().List(ctx)
	n, err := r.restore(ctx, view, held, values)
	if err != nil {
		return err
	}
	if n > 0 {
		r.log.Warn("redisrevoke: Redis had lost revocations this instance holds; put them back", "count", n)
	}
	r.view.Store(view)
	return nil
}

// subscribe starts a subscription to the channel (sharded on a cluster),
// or returns nil once the Revoker is closed. Errors surface at the first
// receive.
func (r *Revoker) subscribe(ctx context.Context) *redis.PubSub {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	// No channel yet: no I/O under the lock.
	var ps *redis.PubSub
	if r.cluster != nil {
		ps = r.client.SSubscribe(ctx)
	} else {
		ps = r.client.Subscribe(ctx)
	}
	r.pubsub = ps
	r.mu.Unlock()
	if r.cluster != nil {
		ps.SSubscribe(ctx, r.channel)
	} else {
		ps.Subscribe(ctx, r.channel)
	}
	return ps
}

// lost records that Redis was lost; the list has been out of date since
// the last contact.
func (r *Revoker) lost(err error, lastContact time.Time) {
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
	if r.staleSince.CompareAndSwap(0, lastContact.UnixNano()) {
		r.log.Warn("redisrevoke: lost Redis; revocations made meanwhile on other instances are not seen until it is back", "err", err)
	}
}

// found records that the list is up to date.
func (r *Revoker) found() {
	select {
	case <-r.synced:
		if r.staleSince.Swap(0) != 0 {
			r.log.Info("redisrevoke: Redis is back; revocation list reloaded")
		}
	default: // the first load, which New waits for
		r.staleSince.Store(0)
		close(r.synced)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
