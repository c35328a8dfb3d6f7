package redisrevoke_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/revocation/redisrevoke"
)

// warm returns two middlewares for the same HS256 issuer, one without
// revocation and one with a Redis-backed Revoker whose list holds many
// entries (loaded through Redis, so the local list is warm), and a token
// that is not revoked: the steady state of a service.
func warm(tb testing.TB) (plain, revoking *bearer.Middleware, rev *redisrevoke.Revoker, tok string) {
	ctx := context.Background()
	iss := bearertest.MustIssuer(bearertest.HS256)
	addr, pfx := sharedAddr(tb), prefix(tb)
	writer := newRevoker(tb, newClient(tb, addr), redisrevoke.WithPrefix(pfx))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < 10_000; i += 4 {
				writer.RevokeID(ctx, iss.Issuer(), fmt.Sprint("other-", i), time.Now().Add(time.Hour))
				if i%10 == 0 {
					writer.RevokeSubject(ctx, iss.Issuer(), fmt.Sprint("user-", i), time.Now())
				}
			}
		})
	}
	wg.Wait()
	rev = newRevoker(tb, newClient(tb, addr), redisrevoke.WithPrefix(pfx))
	if list, _ := rev.List(ctx); len(list) != 11_000 {
		tb.Fatalf("%d entries", len(list))
	}
	var err error
	if plain, err = bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { plain.Close() })
	if revoking, err = bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience), bearer.WithRevocation(rev)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { revoking.Close() })
	return plain, revoking, rev, iss.MustMint(bearertest.Claims{"sub": "alice", "jti": "not-revoked"})
}

// TestCheckAllocations: the revocation check with a warm Redis-backed
// Revoker allocates nothing per request (the budget is one).
func TestCheckAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not exact under the race detector")
	}
	noLeaks(t)
	ctx := context.Background()
	plain, revoking, _, tok := warm(t)
	allocs := func(m *bearer.Middleware) float64 {
		return testing.AllocsPerRun(1000, func() {
			if _, err := m.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
		})
	}
	if without, with := allocs(plain), allocs(revoking); with > without {
		t.Errorf("allocations per Verify: %v with revocation, %v without", with, without)
	}
}

// BenchmarkVerify compares Verify without and with a warm Redis-backed
// Revoker: the difference is the cost of the revocation check.
//
//	go test -run '^$' -bench 'Verify|CheckCost|Revoked' -benchmem -count 10 .
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	plain, revoking, _, tok := warm(b)
	for _, bm := range []struct {
		name string
		m    *bearer.Middleware
	}{{"without", plain}, {"redisrevoke", revoking}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.m.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckCost measures what the revocation check adds to Verify,
// even on a busy machine: the two middlewares verify in turn, in
// alternating order, and added-ns/op is the median of the differences, so
// that a preemption in one call does not count.
func BenchmarkCheckCost(b *testing.B) {
	ctx := context.Background()
	plain, revoking, _, tok := warm(b)
	var diffs, plainNs []time.Duration
	for b.Loop() {
		first, second := plain, revoking
		if len(diffs)%2 == 1 {
			first, second = revoking, plain
		}
		t0 := time.Now()
		first.Verify(ctx, tok)
		t1 := time.Now()
		second.Verify(ctx, tok)
		t2 := time.Now()
		with, without := t2.Sub(t1), t1.Sub(t0)
		if first == revoking {
			with, without = without, with
		}
		diffs = append(diffs, with-without)
		plainNs = append(plainNs, without)
	}
	slices.Sort(diffs)
	slices.Sort(plainNs)
	b.ReportMetric(float64(diffs[len(diffs)/2]), "added-ns/op")
	b.ReportMetric(float64(plainNs[len(plainNs)/2]), "verify-ns/op")
}

// BenchmarkRevoked is the check alone, from one goroutine and from all.
func BenchmarkRevoked(b *testing.B) {
	ctx := context.Background()
	plain, _, rev, tok := warm(b)
	t, err := plain.Verify(ctx, tok)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if revoked, err := rev.Revoked(ctx, t); revoked || err != nil {
				b.Fatal(revoked, err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if revoked, err := rev.Revoked(ctx, t); revoked || err != nil {
					b.Fatal(revoked, err)
				}
			}
		})
	})
}

// BenchmarkPropagation measures how long a revocation made on one instance
// takes to be seen by another: ns/op is from the call on A to the moment
// B's Revoked says so.
func BenchmarkPropagation(b *testing.B) {
	ctx := context.Background()
	addr, pfx := sharedAddr(b), prefix(b)
	iss := bearertest.MustIssuer(bearertest.HS256)
	m, _ := bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience))
	defer m.Close()
	a := newRevoker(b, newClient(b, addr), redisrevoke.WithPrefix(pfx))
	other := newRevoker(b, newClient(b, addr), redisrevoke.WithPrefix(pfx))
	toks := make([]*bearer.Token, 0, 1024)
	for i := range cap(toks) {
		t, _ := m.Verify(ctx, iss.MustMint(bearertest.Claims{"jti": fmt.Sprint("p-", i)}))
		toks = append(toks, t)
	}
	i := 0
	for b.Loop() {
		t := toks[i%len(toks)]
		i++
		if err := a.RevokeToken(ctx, t); err != nil {
			b.Fatal(err)
		}
		for {
			if revoked, _ := other.Revoked(ctx, t); revoked {
				break
			}
			runtime.Gosched() // leave the core to the goroutine that receives
		}
		b.StopTimer()
		other.Unrevoke(ctx, bearer.Revocation{Issuer: t.Issuer(), TokenID: t.ID()})
		for {
			if revoked, _ := a.Revoked(ctx, t); !revoked {
				break
			}
			runtime.Gosched()
		}
		b.StartTimer()
	}
}
