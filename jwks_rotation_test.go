package bearer_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// Tests of rotation under noise and provider trouble: a valid token is
// never refused because the middleware could not look, and every 503 says
// when a retry can succeed.

// issuedBy returns opts after the issuer and audience of srv's tokens.
func issuedBy(srv *bearertest.Server, opts ...bearer.Option) []bearer.Option {
	return append([]bearer.Option{bearer.WithIssuer(srv.URL), bearer.WithAudience(bearertest.DefaultAudience)}, opts...)
}

// junkStream sends rate requests a second with made-up kids to m until
// stop is closed, each on its own goroutine as a server would; it checks
// that each is answered 401 or 503 with a short Retry-After.
func junkStream(t *testing.T, m *bearer.Middleware, srv *bearertest.Server, rate int, stop <-chan struct{}) *sync.WaitGroup {
	t.Helper()
	junk := make([]string, 64)
	for i := range junk {
		junk[i] = mustMintKid(t, srv, randomKid())
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			wg.Go(func() {
				rec := send(m, junk[i%len(junk)])
				switch rec.Code {
				case http.StatusUnauthorized:
				case http.StatusServiceUnavailable:
					wantRetryAfterWithin(t, rec, 5)
				default:
					t.Errorf("junk request: %d, want 401 or 503", rec.Code)
				}
			})
		}
	})
	return &wg
}

// wantRetryAfterWithin checks a 503's Retry-After: 1 to max seconds.
func wantRetryAfterWithin(t *testing.T, rec *httptest.ResponseRecorder, max int) {
	t.Helper()
	if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 1 || s > max {
		t.Errorf("503 with Retry-After %q, want 1 to %d", rec.Header().Get("Retry-After"), max)
	}
}

// Under a steady stream of tokens with made-up kids, at any rate, a valid
// token of a newly published key verifies within 5 s of its first use; it
// is never answered 401, and each 503 it gets says to come back soon. The
// client here retries every 100 ms, as a load generator does. The rotation
// falls at several points of the key-miss budget's cycle.
func TestRotationUnderJunkStream(t *testing.T) {
	for _, rate := range []int{20, 500} {
		for _, phase := range []time.Duration{0, 700 * time.Millisecond, 1400 * time.Millisecond} {
			t.Run(strconv.Itoa(rate)+"/s+"+phase.String(), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					srv := newIdP(t, bearertest.ES256)
					m := newRemote(t, srv, nil, issuedBy(srv)...)
					mustReady(t, m)
					stop := make(chan struct{})
					junk := junkStream(t, m, srv, rate, stop)
					defer junk.Wait()
					defer close(stop)

					time.Sleep(10*time.Second + phase)
					if _, err := srv.Rotate(); err != nil {
						t.Fatal(err)
					}
					tok := srv.MustMint(bearertest.Claims{"sub": "new"})
					first := time.Now()
					for {
						rec := send(m, tok)
						if rec.Code == http.StatusOK {
							break
						}
						if rec.Code != http.StatusServiceUnavailable {
							t.Fatalf("valid token of the new key: %d %q after %v, want 200 or 503", rec.Code, rec.Body.String(), time.Since(first))
						}
						wantRetryAfterWithin(t, rec, 5)
						time.Sleep(100 * time.Millisecond)
					}
					pickup := time.Since(first)
					if pickup > 5*time.Second {
						t.Fatalf("the new key verified %v after its first use, want within 5 s", pickup)
					}
					t.Logf("junk %d/s: new key verified %v after its first use", rate, pickup)
				})
			})
		}
	}
}

// A flood of made-up kids costs the provider at most the key-miss budget:
// 3 + 30 fetches in any minute by default. Measured over a minute of 2,000
// requests a second.
func TestFloodFetchesPerMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.EdDSA)
		m := newRemote(t, srv, nil, issuedBy(srv)...)
		mustReady(t, m)
		before := srv.Keys.Requests()
		stop := make(chan struct{})
		junk := junkStream(t, m, srv, 2000, stop)
		time.Sleep(time.Minute)
		close(stop)
		junk.Wait()
		n := srv.Keys.Requests() - before
		if max := 3 + int(time.Minute/bearer.DefaultKeyMissCooldown); n > max {
			t.Fatalf("%d fetches in a minute of 2,000 made-up kids a second, want at most %d", n, max)
		}
		t.Logf("%d fetches in a minute of 2,000 made-up kids a second", n)
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "a"})), "a")
	})
}

// Every 503 of a remote source carries a Retry-After that says when a
// retry can succeed, never more than 30 s: not the time to the next
// scheduled refresh (minutes, or hours under a long max-age).
func TestRetryAfterBounded(t *testing.T) {
	t.Run("no keys, provider failing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := newIdP(t, bearertest.ES256)
			srv.Keys.Fail(http.StatusInternalServerError)
			m := newRemote(t, srv, nil, issuedBy(srv)...)
			for range 20 {
				rec := send(m, srv.MustMint(nil))
				wantUnavailable(t, rec, "")
				wantRetryAfterWithin(t, rec, 2) // the short retry cap
				time.Sleep(10 * time.Second)
			}
		})
	})
	t.Run("no keys, provider asking for a day", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := newIdP(t, bearertest.ES256)
			srv.Keys.Fail(http.StatusServiceUnavailable)
			srv.Keys.SetHeader("Retry-After", "86400")
			m := newRemote(t, srv, nil, issuedBy(srv)...)
			wantUnavailable(t, send(m, srv.MustMint(nil)), "30")
		})
	})
	for _, maxAge := range []string{"", "max-age=86400"} {
		t.Run("key miss, provider hanging, "+maxAge, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newIdP(t, bearertest.ES256)
				srv.Keys.SetHeader("Cache-Control", maxAge)
				m := newRemote(t, srv, nil, issuedBy(srv)...)
				mustReady(t, m)
				srv.Keys.Hang()
				srv.Rotate()
				rec := send(m, srv.MustMint(nil)) // waits the key wait (3 s) for the hung fetch
				wantUnavailable(t, rec, "2")      // the fetch's remaining time: 5 s timeout, less 3 s
			})
		})
	}
	t.Run("key miss, budget spent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := newIdP(t, bearertest.ES256)
			m := newRemote(t, srv, []bearer.RemoteOption{bearer.RemoteKeyMissCooldown(10 * time.Minute)}, issuedBy(srv)...)
			mustReady(t, m)
			for range 3 { // the burst
				wantInvalid(t, send(m, mustMintKid(t, srv, randomKid())), "unknown signing key")
			}
			// The next fetch in 10 min: bounded.
			wantUnavailable(t, send(m, mustMintKid(t, srv, randomKid())), "30")
			wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "a"})), "a")
		})
	})
	t.Run("keys expired", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := newIdP(t, bearertest.ES256)
			m := newRemote(t, srv, []bearer.RemoteOption{bearer.RemoteMaxStaleness(time.Minute)}, issuedBy(srv)...)
			mustReady(t, m)
			srv.Keys.Fail(http.StatusInternalServerError)
			time.Sleep(time.Hour)
			rec := send(m, srv.MustMint(nil))
			wantUnavailable(t, rec, "")
			wantRetryAfterWithin(t, rec, 2)
		})
	})
}

// The Retry-After header is the error's RetryAfter rounded up to whole
// seconds (a client coming back early meets another 503), at least 1, at
// most 30.
func TestRetryAfterHeader(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "1",
		999 * time.Millisecond:  "1",
		time.Second:             "1",
		1001 * time.Millisecond: "2",
		1500 * time.Millisecond: "2",
		29*time.Second + 1:      "30",
		time.Hour:               "30",
	} {
		rec := httptest.NewRecorder()
		(*bearer.Middleware)(nil).WriteError(rec, nil, &bearer.Error{Code: bearer.CodeTemporarilyUnavailable, Status: http.StatusServiceUnavailable, RetryAfter: d, Err: bearer.ErrKeysUnavailable})
		if got := rec.Header().Get("Retry-After"); got != want {
			t.Errorf("RetryAfter %v: Retry-After %q, want %q", d, got, want)
		}
	}
}

// After an outage from the start, keys come within 1.5 s of the provider's
// return, with traffic and without (nothing but the retries), and at once
// for a Ready call: a source without keys retries on a short cap, however
// long the outage was, and Ready asks for a fetch.
func TestColdStartRecovery(t *testing.T) {
	for _, mode := range []string{"quiet", "traffic", "Ready"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newIdP(t, bearertest.ES256)
				srv.Keys.Fail(http.StatusBadGateway)
				obs := newEvents()
				m := newRemote(t, srv, nil, issuedBy(srv, bearer.WithObserver(obs))...)
				stop := make(chan struct{})
				var wg sync.WaitGroup
				if mode == "traffic" {
					tok := srv.MustMint(nil)
					wg.Go(func() {
						for {
							select {
							case <-stop:
								return
							case <-time.After(100 * time.Millisecond):
								send(m, tok)
							}
						}
					})
				}
				time.Sleep(70 * time.Second)
				srv.Keys.Recover()
				back := time.Now()
				if mode == "Ready" {
					mustReady(t, m)
				} else {
					for obs.lastFetch().Err != nil {
						time.Sleep(10 * time.Millisecond)
					}
				}
				d := time.Since(back)
				close(stop)
				wg.Wait()
				if d > 1500*time.Millisecond || mode == "Ready" && d != 0 {
					t.Fatalf("keys %v after the provider's return, want within 1.5 s (at once for Ready)", d)
				}
				wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "a"})), "a")
				t.Logf("%s: keys %v after the provider's return", mode, d)
			})
		})
	}
}

// Without keys, Ready and Check ask for a fetch at once, within the
// key-miss budget; with keys they fetch nothing.
func TestReadyAndCheckPromptFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.Keys.Fail(http.StatusBadGateway)
		obs := newEvents()
		m := newRemote(t, srv, []bearer.RemoteOption{bearer.RemoteRetryBackoff(time.Minute, time.Minute)}, issuedBy(srv, bearer.WithObserver(obs))...)
		synctest.Wait() // the first fetch failed
		for range 100 {
			if err := m.Check(context.Background()); !errors.Is(err, bearer.ErrKeysUnavailable) || !errors.Is(err, bearer.ErrFetch) {
				t.Fatalf("Check: %v, want ErrKeysUnavailable with the fetch error", err)
			}
			synctest.Wait()
		}
		if n := obs.triggerCount(bearer.FetchRequested); n != 3 {
			t.Fatalf("%d fetches for 100 Checks at once, want 3 (the burst)", n)
		}
		srv.Keys.Recover()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if err := m.Ready(ctx); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		if d := time.Since(start); d > bearer.DefaultKeyMissCooldown {
			t.Fatalf("Ready took %v, want the fetch it asked for within the cooldown", d)
		}
		n := srv.Keys.Requests()
		for range 10 {
			if err := m.Check(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if srv.Keys.Requests() != n {
			t.Fatal("Check with keys at hand fetched")
		}
	})
}

// During a provider hang, at most 256 requests of a source wait for the
// fetch; the others are answered at once, 503 with the time the fetch
// has left, so that a flood parks no more goroutines.
func TestWaitersBoundedDuringHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		m := newRemote(t, srv, nil, issuedBy(srv)...)
		mustReady(t, m)
		srv.Keys.Hang()
		const flood = 2000
		tokens := make([]string, flood)
		for i := range tokens {
			tokens[i] = mustMintKid(t, srv, randomKid())
		}
		var answered atomic.Int64
		var wg sync.WaitGroup
		for _, tok := range tokens {
			wg.Go(func() {
				_, err := m.Verify(context.Background(), tok)
				var e *bearer.Error
				if !errors.As(err, &e) || !errors.Is(err, bearer.ErrKeysUnavailable) || e.RetryAfter <= 0 || e.RetryAfter > bearer.DefaultFetchTimeout {
					t.Errorf("Verify during the hang: %v (Retry-After %v), want ErrKeysUnavailable and the fetch's time left", err, e.RetryAfter)
				}
				answered.Add(1)
			})
		}
		synctest.Wait() // every request waits or has its answer
		if waiting := flood - answered.Load(); waiting != 256 {
			t.Errorf("%d requests wait for the hung fetch, want 256", waiting)
		}
		time.Sleep(bearer.DefaultKeyWait)
		wg.Wait()
	})
}

// Refresh is the operator's lever: after the provider withdraws a key,
// Refresh makes its tokens fail at once, cached ones included. It shares
// the key-miss budget, reports a failed fetch and keeps the keys then.
func TestRefreshWithdrawsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		m := newRemote(t, srv, nil, issuedBy(srv)...)
		mustReady(t, m)
		old := srv.MustMint(bearertest.Claims{"sub": "old"})
		wantOK(t, send(m, old), "old")
		wantOK(t, send(m, old), "old") // cached
		oldKid := srv.KeyID()
		srv.Rotate()
		if err := srv.Retire(oldKid); err != nil {
			t.Fatal(err)
		}
		n := srv.Keys.Requests()
		if err := m.Refresh(context.Background()); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if srv.Keys.Requests() != n+1 {
			t.Fatalf("%d fetches for Refresh, want 1", srv.Keys.Requests()-n)
		}
		wantInvalid(t, send(m, old), "unknown signing key")
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "new"})), "new")

		// Rate-limited: ten in a row take the burst, then one per cooldown.
		start := time.Now()
		for range 10 {
			if err := m.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if d, want := time.Since(start), 8*bearer.DefaultKeyMissCooldown; d < want {
			t.Fatalf("ten Refresh calls took %v, want at least %v", d, want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := m.Refresh(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Refresh with the budget spent and a 1 s context: %v", err)
		}

		srv.Keys.Fail(http.StatusInternalServerError)
		time.Sleep(time.Minute)
		if err := m.Refresh(context.Background()); !errors.Is(err, bearer.ErrFetch) || !strings.Contains(err.Error(), "status 500") {
			t.Fatalf("Refresh of a failing provider: %v, want ErrFetch", err)
		}
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "kept"})), "kept")

		m.Close()
		if err := m.Refresh(context.Background()); err == nil {
			t.Fatal("Refresh after Close succeeded")
		}
	})
}

// Refresh of Issuers refreshes every issuer's keys; of static keys, nothing.
func TestRefreshIssuersAndStatic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newIdP(t, bearertest.ES256)
		b := newIdP(t, bearertest.ES256)
		static := bearertest.MustIssuer(bearertest.EdDSA, bearertest.WithIssuer("https://static.example"))
		m := newMiddleware(t, bearer.Issuers(
			bearer.TrustedIssuer{Issuer: a.URL, Keys: bearer.RemoteJWKS(a.JWKSURL, bearer.RemoteHTTPClient(a.Client()))},
			bearer.TrustedIssuer{Keys: bearer.Discover(b.URL, bearer.RemoteHTTPClient(b.Client()))},
			bearer.TrustedIssuer{Issuer: static.Issuer(), Keys: static.KeySource()},
		), anyAudience(quiet)...)
		mustReady(t, m)
		na, nb := a.Keys.Requests(), b.Keys.Requests()
		if err := m.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		if a.Keys.Requests() != na+1 || b.Keys.Requests() != nb+1 {
			t.Fatalf("Refresh fetched %d and %d times, want once each", a.Keys.Requests()-na, b.Keys.Requests()-nb)
		}
		b.Keys.Fail(http.StatusBadGateway)
		if err := m.Refresh(context.Background()); !errors.Is(err, bearer.ErrFetch) || !strings.Contains(err.Error(), b.URL) ||
			strings.Count(err.Error(), "bearer:") != 1 {
			t.Fatalf("Refresh with b failing: %v, want b's ErrFetch, with one bearer: prefix", err)
		}
		sm := newMiddleware(t, static.KeySource(), anyIssuerAnyAudience()...)
		if err := sm.Refresh(context.Background()); err != nil {
			t.Fatalf("Refresh of static keys: %v", err)
		}
	})
}

// TestLoadRealTime measures, in real time over loopback TCP, what the
// tests above show in fake time: the pickup of a new key under a stream of
// made-up kids, the fetches a minute under that flood, and the goroutines
// and heap during a provider hang under a flood. It takes about a minute
// and two busy cores, so it runs only when asked:
//
//	BEARER_LOAD=1 go test -run TestLoadRealTime -v .
func TestLoadRealTime(t *testing.T) {
	if os.Getenv("BEARER_LOAD") == "" {
		t.Skip("set BEARER_LOAD=1 to run the real-time load measurement")
	}
	srv := bearertest.NewServer(bearertest.ES256)
	defer srv.Close()
	m := newMiddleware(t, bearer.RemoteJWKS(srv.JWKSURL), issuedBy(srv, quiet)...)
	mustReady(t, m)
	const rate = 1000
	junk := make([]string, 256)
	for i := range junk {
		junk[i] = mustMintKid(t, srv, randomKid())
	}
	flood := func(stop <-chan struct{}) *sync.WaitGroup {
		var wg sync.WaitGroup
		wg.Go(func() {
			tick := time.NewTicker(time.Second / rate)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				wg.Go(func() {
					if rec := send(m, junk[i%len(junk)]); rec.Code != http.StatusUnauthorized && rec.Code != http.StatusServiceUnavailable {
						t.Errorf("junk: %d", rec.Code)
					}
				})
			}
		})
		return &wg
	}

	// Pickup under noise, five rotations 7 s apart; fetches over the flood.
	stop := make(chan struct{})
	wg := flood(stop)
	start, before := time.Now(), srv.Keys.Requests()
	var worst time.Duration
	for range 5 {
		time.Sleep(7 * time.Second)
		srv.Rotate()
		tok := srv.MustMint(bearertest.Claims{"sub": "new"})
		first := time.Now()
		for {
			rec := send(m, tok)
			if rec.Code == http.StatusOK {
				break
			}
			if rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("valid token of the new key: %d after %v", rec.Code, time.Since(first))
			}
			time.Sleep(50 * time.Millisecond)
		}
		d := time.Since(first)
		worst = max(worst, d)
		t.Logf("new key verified %v after its first use", d.Round(time.Millisecond))
	}
	close(stop)
	wg.Wait()
	elapsed, fetches := time.Since(start), srv.Keys.Requests()-before
	t.Logf("%d fetches in %v of %d made-up kids a second (the bound: the burst of 3 and one per %v, %d); worst pickup %v",
		fetches, elapsed.Round(time.Second), rate, bearer.DefaultKeyMissCooldown, 3+int(elapsed/bearer.DefaultKeyMissCooldown), worst.Round(time.Millisecond))
	if fetches > 3+int(elapsed/bearer.DefaultKeyMissCooldown)+1 {
		t.Errorf("%d fetches, over the budget", fetches)
	}
	if worst > 5*time.Second {
		t.Errorf("worst pickup %v, want within 5 s", worst)
	}

	// A provider hang under the flood: goroutines and heap.
	srv.Keys.Hang()
	srv.Rotate()
	base := runtime.NumGoroutine()
	stop = make(chan struct{})
	wg = flood(stop)
	peak := 0
	var peakHeap uint64
	for range 40 {
		time.Sleep(250 * time.Millisecond)
		peak = max(peak, runtime.NumGoroutine()-base)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapInuse)
	}
	close(stop)
	wg.Wait()
	srv.Keys.Recover()
	t.Logf("during a 10 s hang under %d made-up kids a second: at most %d goroutines above the base, heap in use at most %d MiB", rate, peak, peakHeap>>20)
}

// A key miss whose fetch (started after the request) fails is answered at
// once, 503 with the time to the next attempt: it does not spend the
// budget on more fetches while it waits.
func TestKeyMissFetchFailsAnswersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		m := newRemote(t, srv, nil, issuedBy(srv)...)
		mustReady(t, m)
		old := srv.MustMint(bearertest.Claims{"sub": "old"})
		srv.Keys.Fail(http.StatusInternalServerError)
		srv.Rotate()
		n, start := srv.Keys.Requests(), time.Now()
		rec := send(m, srv.MustMint(nil))
		wantUnavailable(t, rec, "1") // the first retry: 0.5 to 1 s
		if d, fetches := time.Since(start), srv.Keys.Requests()-n; d != 0 || fetches != 1 {
			t.Fatalf("answered after %v and %d fetches, want at once after 1", d, fetches)
		}
		wantOK(t, send(m, old), "old") // the keys at hand are kept
	})
}
