package redisrevoke_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/revocation/redisrevoke"
)

// TestRedisLosesData: Redis is killed (kill -9) and comes back without the
// latest revocations, empty (no persistence) or with an older snapshot
// (RDB). The instances put back what they hold: no revoked token is
// accepted on either of them at any time, and an instance started
// afterwards knows every revocation. An entry removed before the crash
// stays removed.
func TestRedisLosesData(t *testing.T) {
	for _, c := range []struct {
		name    string
		persist persistence
	}{{"no persistence", noPersistence}, {"RDB", rdb}} {
		t.Run(c.name, func(t *testing.T) {
			noLeaks(t)
			ctx := context.Background()
			srv := ownRedis(t, c.persist)
			iss := bearertest.MustIssuer(bearertest.ES256)
			a := newInstance(t, newRevoker(t, newClient(t, srv.addr)), iss)
			b := newInstance(t, newRevoker(t, newClient(t, srv.addr)), iss)
			hourAgo := bearertest.Claims{"iat": time.Now().Add(-time.Hour).Unix()}

			var revoked []string
			byID := func(on *instance) {
				tok := mint(iss, "alice")
				if err := on.rev.RevokeToken(ctx, tokenOf(t, iss, tok)); err != nil {
					t.Fatal(err)
				}
				revoked = append(revoked, tok)
			}
			bySubject := func(on *instance, sub string) {
				tok := mint(iss, sub, hourAgo)
				if err := on.rev.RevokeSubject(ctx, iss.Issuer(), sub, time.Now()); err != nil {
					t.Fatal(err)
				}
				revoked = append(revoked, tok)
			}
			byID(a)
			bySubject(b, "bob")
			if c.persist == rdb {
				// A snapshot, then changes it does not hold.
				if err := newClient(t, srv.addr).Save(ctx).Err(); err != nil {
					t.Fatal(err)
				}
			}
			byID(a)
			byID(b)
			bySubject(a, "carol")
			removed := mint(iss, "dave")
			if err := a.rev.RevokeToken(ctx, tokenOf(t, iss, removed)); err != nil {
				t.Fatal(err)
			}
			if err := b.rev.Unrevoke(ctx, bearer.Revocation{Issuer: iss.Issuer(), TokenID: tokenOf(t, iss, removed).ID()}); err != nil {
				t.Fatal(err)
			}
			for _, in := range []*instance{a, b} {
				for _, tok := range revoked {
					eventually(t, "every revocation seen", func() bool { s, _ := in.get(t, tok); return s == 401 })
				}
				eventually(t, "the removal seen", func() bool { s, _ := in.get(t, removed); return s == 200 })
			}

			srv.stop()
			if err := srv.start(); err != nil {
				t.Fatal(err)
			}
			good := mint(iss, "erin")
			accepted, first := 0, ""
			// Until both instances are back, and some more: no revoked
			// token passes at any moment.
			recovered := time.Time{}
			for deadline := time.Now().Add(15 * time.Second); recovered.IsZero() || time.Since(recovered) < 300*time.Millisecond; {
				if time.Now().After(deadline) {
					t.Fatal("the instances did not recover within 15s")
				}
				for _, in := range []*instance{a, b} {
					for _, tok := range revoked {
						if s, desc := in.get(t, tok); s != 401 {
							if accepted++; first == "" {
								first = fmt.Sprintf("%d %q", s, desc)
							}
						}
					}
				}
				if sa, _ := a.get(t, good); recovered.IsZero() && sa == 200 {
					if sb, _ := b.get(t, good); sb == 200 {
						recovered = time.Now()
					}
				}
			}
			if accepted > 0 {
				t.Fatalf("revoked tokens accepted %d times after the restart (first: %s)", accepted, first)
			}

			// Back in Redis: an instance started now knows them all.
			later := newInstance(t, newRevoker(t, newClient(t, srv.addr)), iss)
			for _, tok := range revoked {
				later.wantRevoked(t, tok)
			}
			later.want(t, removed, 200)
			list, err := later.rev.List(ctx)
			if err != nil || len(list) != len(revoked) {
				t.Errorf("List after the restart: %v, %v; want %d entries", list, err, len(revoked))
			}
			a.want(t, removed, 200)
			b.want(t, removed, 200)
		})
	}
}

// TestFlushedRedis: a Redis that loses its keys without dropping its
// connections (FLUSHALL, eviction) gets them back at the next periodic
// reload of an instance that holds them.
func TestFlushedRedis(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := ownRedis(t, noPersistence)
	clock := newClock(time.Now())
	client := newClient(t, srv.addr)
	iss := bearertest.MustIssuer(bearertest.ES256)
	a := newRevoker(t, client, redisrevoke.WithClock(clock.Now))
	tok := mint(iss, "alice")
	if err := a.RevokeToken(ctx, tokenOf(t, iss, tok)); err != nil {
		t.Fatal(err)
	}
	if err := client.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if list, _ := a.List(ctx); len(list) != 0 {
		t.Fatalf("List after FLUSHALL: %v", list)
	}
	clock.Advance(time.Minute)
	eventually(t, "put back", func() bool { list, _ := a.List(ctx); return len(list) == 1 })
	newInstance(t, newRevoker(t, client), iss).wantRevoked(t, tok)
}

// TestUnrevokeWhileAway: an entry removed while an instance that holds it
// is cut off from Redis is not put back by that instance when it returns:
// the tombstone tells a removal from a loss.
func TestUnrevokeWhileAway(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	iss := bearertest.MustIssuer(bearertest.ES256)
	a, b, p := nearAndBehindProxy(t, iss)
	byID, older := mint(iss, "alice"), mint(iss, "bob", bearertest.Claims{"iat": time.Now().Add(-time.Hour).Unix()})
	if err := a.rev.RevokeToken(ctx, tokenOf(t, iss, byID)); err != nil {
		t.Fatal(err)
	}
	if err := a.rev.RevokeSubject(ctx, iss.Issuer(), "bob", time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "seen on B", func() bool { s, _ := b.get(t, older); return s == 401 })
	b.wantRevoked(t, byID)

	p.setCut(true)
	eventually(t, "B sees the loss", func() bool { s, _ := b.get(t, mint(iss, "carol")); return s == 503 })
	for _, rev := range []bearer.Revocation{
		{Issuer: iss.Issuer(), TokenID: tokenOf(t, iss, byID).ID()},
		{Issuer: iss.Issuer(), Subject: "bob"},
	} {
		if err := a.rev.Unrevoke(ctx, rev); err != nil {
			t.Fatal(err)
		}
	}
	p.setCut(false)
	eventually(t, "B reloads", func() bool { s, _ := b.get(t, byID); return s == 200 })
	b.want(t, older, 200)
	a.want(t, byID, 200)
	a.want(t, older, 200)
	if list, err := a.rev.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List: %v, %v; want none", list, err)
	}

	// Revoked again after the removal: the tombstone gives way.
	if err := b.rev.RevokeToken(ctx, tokenOf(t, iss, byID)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "revoked again, seen on A", func() bool { s, _ := a.get(t, byID); return s == 401 })
	if list, _ := a.rev.List(ctx); len(list) != 1 {
		t.Errorf("List: %v", list)
	}
}

// TestReloadRefused: a Redis that keeps the subscription up but refuses
// the periodic reload (here an ACL takes SCAN away) makes the list stale,
// and the Revoker recovers by itself once the reload works again.
func TestReloadRefused(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := ownRedis(t, noPersistence)
	clock := newClock(time.Now())
	client := newClient(t, srv.addr)
	iss := bearertest.MustIssuer(bearertest.ES256)
	in := newInstance(t, newRevoker(t, newClient(t, srv.addr), redisrevoke.WithClock(clock.Now), redisrevoke.WithMaxStaleness(0)), iss)
	good := mint(iss, "alice")
	in.want(t, good, 200)

	if err := client.Do(ctx, "ACL", "SETUSER", "default", "-scan").Err(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute) // the next reload is due
	eventually(t, "the failed reload seen", func() bool { s, _ := in.get(t, good); return s == 503 })
	time.Sleep(500 * time.Millisecond) // several attempts, all refused
	in.want(t, good, 503)
	if err := client.Do(ctx, "ACL", "SETUSER", "default", "+scan").Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "recovery", func() bool { s, _ := in.get(t, good); return s == 200 })
}
