package bearer_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
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

func TestRemoteJWKSVerifies(t *testing.T) {
	for _, alg := range []bearertest.Algorithm{bearertest.RS256, bearertest.PS256, bearertest.ES256, bearertest.ES384, bearertest.ES512, bearertest.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newIdP(t, alg)
				m := newRemote(t, srv, nil, bearer.WithAudience(bearertest.DefaultAudience), bearer.WithIssuer(srv.URL))
				mustReady(t, m)
				wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "alice"})), "alice")
				wantInvalid(t, send(m, srv.MustMint(bearertest.Claims{"aud": "other"})), "audience not accepted")
				if n := srv.Keys.Requests(); n != 1 {
					t.Errorf("%d fetches, want 1", n)
				}
			})
		})
	}
}

// A key published after the last fetch verifies on the first request that
// uses it: the unknown kid triggers one fetch, which the request waits for.
func TestRotationPickedUpOnFirstUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		obs := newEvents()
		m := newRemote(t, srv, nil, anyIssuerAnyAudience(bearer.WithObserver(obs))...)
		mustReady(t, m)
		old := srv.MustMint(bearertest.Claims{"sub": "old"})
		wantOK(t, send(m, old), "old")

		oldKid := srv.KeyID()
		if _, err := srv.Rotate(); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "new"})), "new")
		if n := srv.Keys.Requests(); n != 2 {
			t.Errorf("%d fetches, want 2 (initial, key miss)", n)
		}
		if e := obs.lastFetch(); e.Trigger != bearer.FetchKeyMiss || e.Status != http.StatusOK || e.Keys != 2 || e.Err != nil {
			t.Errorf("key-miss fetch event %+v", e)
		}
		if obs.missCount(bearer.KeyMissFound) != 1 {
			t.Errorf("key misses %v, want one found", obs.misses)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("the request waited %v of fake time; the fetch answers at once", d)
		}
		wantOK(t, send(m, old), "old")

		// Retiring the old key stops its tokens once the set is refreshed.
		if err := srv.Retire(oldKid); err != nil {
			t.Fatal(err)
		}
		time.Sleep(bearer.DefaultRefreshInterval)
		wantInvalid(t, send(m, old), "unknown signing key")
	})
}

// floodRandomKids checks that a flood of tokens with made-up kids costs at
// most the key-miss budget in fetches (a burst of three, then one per
// cooldown), that those tokens are never answered 401 before a fetch that
// started after them has looked (else 503 with a short Retry-After), and
// that known keys keep working. It is the check of TestAttacks' row
// "remote/flood of random kids".
func floodRandomKids(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.EdDSA)
		obs := newEvents()
		m := newRemote(t, srv, nil, anyIssuerAnyAudience(bearer.WithObserver(obs))...)
		mustReady(t, m)

		flood := func() (unknown, unavailable int) {
			t.Helper()
			tokens := make([]string, 1000)
			for i := range tokens {
				tokens[i] = mustMintKid(t, srv, randomKid())
			}
			var wg sync.WaitGroup
			recs := make([]*httptest.ResponseRecorder, len(tokens))
			for i, tok := range tokens {
				wg.Go(func() { recs[i] = send(m, tok) })
			}
			wg.Wait()
			for i, rec := range recs {
				switch rec.Code {
				case http.StatusUnauthorized:
					unknown++
				case http.StatusServiceUnavailable:
					unavailable++
					// The next fetch, or the end of the one under way.
					if ra, _ := strconv.Atoi(rec.Header().Get("Retry-After")); ra < 1 || ra > 5 {
						t.Fatalf("request %d: Retry-After %q, want at most the fetch timeout", i, rec.Header().Get("Retry-After"))
					}
				default:
					t.Fatalf("request %d: %d, want 401 or 503", i, rec.Code)
				}
			}
			return unknown, unavailable
		}
		start := time.Now()
		for range 10 { // a flood every 2 s
			flood()
			time.Sleep(bearer.DefaultKeyMissCooldown)
		}
		elapsed := time.Since(start)
		// The first fetch, then at most the burst of 3 and one per cooldown.
		max := 1 + 3 + int(elapsed/bearer.DefaultKeyMissCooldown)
		if n := srv.Keys.Requests(); n > max || n < 10 {
			t.Fatalf("%d fetches in %v of floods, want 10 to %d", n, elapsed, max)
		}
		t.Logf("%d fetches in %v of floods of 1000 made-up kids every %v", srv.Keys.Requests(), elapsed, bearer.DefaultKeyMissCooldown)
		// Each flood: 256 wait for the next fetch and hear 401, the others
		// hear 503 at once.
		if n := obs.missCount(bearer.KeyMissUnknown); n < 10*256 {
			t.Errorf("%d unknown key misses reported, want at least %d: requests wait for the next fetch", n, 10*256)
		}
		// Known keys keep working throughout.
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "alice"})), "alice")
	})
}

// Scheduled refreshes do not spend the key-miss budget: a key miss right
// after one still fetches.
func TestScheduledRefreshDoesNotSpendKeyMissBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		m := newRemote(t, srv, []bearer.RemoteOption{bearer.RemoteRefreshInterval(time.Minute)}, anyIssuerAnyAudience()...)
		mustReady(t, m)
		wantInvalid(t, send(m, mustMintKid(t, srv, "nope-1")), "unknown signing key") // spends the budget at 0s
		if n := srv.Keys.Requests(); n != 2 {
			t.Fatalf("%d fetches, want 2", n)
		}
		time.Sleep(55 * time.Second) // the refresh runs between 45s and 51s
		if n := srv.Keys.Requests(); n != 3 {
			t.Fatalf("%d fetches after 55s, want 3 (one scheduled refresh)", n)
		}
		srv.Rotate()
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "new"})), "new")
		if n := srv.Keys.Requests(); n != 4 {
			t.Fatalf("%d fetches, want 4: the key miss after the refresh must fetch", n)
		}
	})
}

// Tokens without a kid, and bad signatures under a known kid, never fetch.
func TestNoFetchWithoutKidOrForBadSignature(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		m := newRemote(t, srv, nil, anyIssuerAnyAudience()...)
		mustReady(t, m)

		good := srv.MustMint(nil)
		dot := strings.LastIndexByte(good, '.')
		sig, _ := base64.RawURLEncoding.DecodeString(good[dot+1:])
		sig[0] ^= 0xff
		forged := good[:dot+1] + base64.RawURLEncoding.EncodeToString(sig)
		wantInvalid(t, send(m, forged), "signature invalid")

		noKid, err := srv.MintWithHeader(map[string]any{"kid": nil}, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantOK(t, send(m, noKid), "") // any key of the set may verify it
		srv.Rotate()                  // signed by a key the cached set lacks
		noKid, _ = srv.MintWithHeader(map[string]any{"kid": nil}, nil)
		for range 10 {
			wantInvalid(t, send(m, noKid), "signature invalid")
			wantInvalid(t, send(m, forged), "signature invalid")
		}
		if n := srv.Keys.Requests(); n != 1 {
			t.Fatalf("%d fetches, want only the initial one", n)
		}
	})
}

// While there are no keys, tokens without a kid wait for a fetch in flight
// but never want one; tokens with a kid want one, within the budget.
func TestNoKeysNoKidNeverFetches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.Keys.Fail(http.StatusInternalServerError)
		obs := newEvents()
		m := newRemote(t, srv, nil, anyIssuerAnyAudience(bearer.WithObserver(obs))...)
		noKid, err := srv.MintWithHeader(map[string]any{"kid": nil}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 60 {
			wantUnavailable(t, send(m, noKid), "")
			time.Sleep(time.Second)
		}
		if n := obs.triggerCount(bearer.FetchKeyMiss); n != 0 {
			t.Fatalf("%d key-miss fetches, want none: tokens without kid never want a fetch", n)
		}
		start := time.Now()
		for range 60 {
			rec := send(m, srv.MustMint(nil))
			wantUnavailable(t, rec, "")
			if ra := rec.Header().Get("Retry-After"); ra != "1" && ra != "2" && ra != "3" {
				t.Fatalf("Retry-After %q without keys, want at most the cooldown", ra)
			}
			time.Sleep(time.Second)
		}
		max := 3 + int(time.Since(start)/bearer.DefaultKeyMissCooldown)
		if n := obs.triggerCount(bearer.FetchKeyMiss); n < 1 || n > max {
			t.Fatalf("%d key-miss fetches in %v, want 1 to %d: tokens with a kid want fetches within the budget", n, time.Since(start), max)
		}
	})
}

// 100 requests arriving before the first keys all wait for the one initial
// fetch, and all pass once it lands.
func TestColdStartRequestsShareOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.RS256)
		srv.Keys.Hang()
		m := newRemote(t, srv, nil, anyIssuerAnyAudience()...)
		tokens := make([]string, 100)
		for i := range tokens {
			tokens[i] = srv.MustMint(bearertest.Claims{"sub": fmt.Sprint("user", i)})
		}
		results := make(chan error, len(tokens))
		for i, tok := range tokens {
			go func() {
				rec := send(m, tok)
				if rec.Code != http.StatusOK || rec.Body.String() != fmt.Sprint("hello user", i) {
					results <- fmt.Errorf("request %d: %d %q", i, rec.Code, rec.Body.String())
					return
				}
				results <- nil
			}()
		}
		synctest.Wait() // all 100 wait for the fetch, which hangs
		if n := srv.Keys.Requests(); n != 1 {
			t.Fatalf("%d fetches with 100 requests waiting, want 1", n)
		}
		if err := m.Check(context.Background()); !errors.Is(err, bearer.ErrKeysUnavailable) {
			t.Fatalf("Check before the keys: %v, want ErrKeysUnavailable", err)
		}
		srv.Keys.Recover()
		for range tokens {
			if err := <-results; err != nil {
				t.Error(err)
			}
		}
		if n := srv.Keys.Requests(); n != 1 {
			t.Fatalf("%d fetches, want 1", n)
		}
		if err := m.Check(context.Background()); err != nil {
			t.Fatalf("Check: %v", err)
		}
	})
}

// A hung provider delays requests by the key wait, not by the hang.
func TestHungServerBoundedByKeyWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.Keys.Hang()
		obs := newEvents()
		m := newRemote(t, srv, []bearer.RemoteOption{bearer.RemoteKeyWait(time.Second), bearer.RemoteFetchTimeout(20 * time.Second)}, anyIssuerAnyAudience(bearer.WithObserver(obs))...)
		start := time.Now()
		wantUnavailable(t, send(m, srv.MustMint(nil)), "")
		if d := time.Since(start); d != time.Second {
			t.Fatalf("cold-start request took %v, want the key wait (1s)", d)
		}

		srv.Keys.Recover()
		time.Sleep(time.Minute) // the hung fetch times out at 20s; the retry succeeds
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "a"})), "a")

		// Warm: a kid miss against a hung provider also waits the key wait only.
		srv.Keys.Hang()
		srv.Rotate()
		start = time.Now()
		wantUnavailable(t, send(m, srv.MustMint(nil)), "")
		if d := time.Since(start); d != time.Second {
			t.Fatalf("key-miss request took %v, want the key wait (1s)", d)
		}
		if n := obs.missCount(bearer.KeyMissTimeout); n != 2 {
			t.Fatalf("%d timed-out key misses reported, want 2", n)
		}
	})
}

// A request's own context ends its wait; the fetch goes on for the others.
func TestWaitEndsWithRequestContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.Keys.Hang()
		m := newRemote(t, srv, nil, anyIssuerAnyAudience()...)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := m.Verify(ctx, srv.MustMint(nil))
		if !errors.Is(err, bearer.ErrKeysUnavailable) {
			t.Fatalf("Verify: %v, want ErrKeysUnavailable", err)
		}
		srv.Keys.Recover()
		mustReady(t, m)
		if n := srv.Keys.Requests(); n != 1 {
			t.Fatalf("%d fetches, want 1: the first fetch was not abandoned", n)
		}
	})
}

// Keys stay usable through an outage for the maximum staleness past their
// freshness, then the source fails closed, and recovers with the provider.
func TestProviderDownAfterWarmUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.RS256)
		obs := newEvents()
		m := newRemote(t, srv, []bearer.RemoteOption{bearer.RemoteMaxStaleness(2 * time.Hour)}, anyIssuerAnyAudience(bearer.WithObserver(obs))...)
		mustReady(t, m)
		srv.Keys.Fail(http.StatusInternalServerError)

		time.Sleep(2 * time.Hour) // fresh for 15 min, then stale
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "a"})), "a")
		if err := m.Check(context.Background()); err != nil {
			t.Fatalf("Check while serving stale keys: %v", err)
		}
		if stale, expired := obs.counts(); stale == 0 || expired != 0 {
			t.Fatalf("%d stale and %d expired events, want some and none", stale, expired)
		}
		if e := obs.lastFetch(); e.Status != http.StatusInternalServerError || !errors.Is(e.Err, bearer.ErrFetch) {
			t.Fatalf("failed fetch event %+v", e)
		}

		time.Sleep(15*time.Minute + time.Second) // past 15 min + 2 h: dropped on time
		wantUnavailable(t, send(m, srv.MustMint(nil)), "")
		if err := m.Check(context.Background()); !errors.Is(err, bearer.ErrKeysUnavailable) {
			t.Fatalf("Check after expiry: %v", err)
		}
		time.Sleep(bearer.DefaultMaxBackoff)
		if _, expired := obs.counts(); expired != 1 {
			t.Fatalf("%d expired events, want 1", expired)
		}

		srv.Keys.Recover()
		time.Sleep(bearer.DefaultMaxBackoff)
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "b"})), "b")
	})
}

// With no keys ever, requests get 503 with the Retry-After of the next
// attempt (at most 30 s), which honours the provider's own Retry-After.
func TestProviderDownFromStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.Keys.Fail(http.StatusServiceUnavailable)
		srv.Keys.SetHeader("Retry-After", "120")
		start := time.Now()
		m := newRemote(t, srv, nil, anyIssuerAnyAudience()...)
		// The provider's 120 s, bounded: clients come back within 30 s.
		wantUnavailable(t, send(m, srv.MustMint(nil)), "30")
		time.Sleep(95 * time.Second)
		wantUnavailable(t, send(m, srv.MustMint(nil)), "25")
		// Requests do not bring the next attempt forward.
		for range 50 {
			send(m, mustMintKid(t, srv, randomKid()))
		}
		if n := srv.Keys.Requests(); n != 1 {
			t.Fatalf("%d fetches within the Retry-After, want 1", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := m.Ready(ctx)
		if !errors.Is(err, bearer.ErrKeysUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "status 503") {
			t.Fatalf("Ready: %v, want ErrKeysUnavailable with the fetch error and the deadline", err)
		}
		srv.Keys.Recover()
		if err := m.Ready(context.Background()); err != nil {
			t.Fatalf("Ready after recovery: %v", err)
		}
		if d := time.Since(start); d != 120*time.Second {
			t.Errorf("keys arrived after %v, want at the Retry-After (120s)", d)
		}
	})
}

// Failed fetches back off exponentially while keys are at hand (1s
// doubling to 5 min, with jitter): about ten attempts in ten minutes, not
// hundreds.
func TestBackoffIsExponential(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		m := newRemote(t, srv, nil, anyIssuerAnyAudience()...)
		mustReady(t, m)
		srv.Keys.Fail(http.StatusBadGateway)
		if err := m.Refresh(context.Background()); !errors.Is(err, bearer.ErrFetch) || !strings.Contains(err.Error(), "status 502") {
			t.Fatalf("Refresh: %v, want the failed fetch", err)
		}
		time.Sleep(10 * time.Minute)
		// Waits are in [d/2, d] for d = 1s, 2s, 4s ... 256s, 300s: within
		// 600s that is 9 retries at the slowest and 11 at the fastest.
		if n := srv.Keys.Requests() - 2; n < 9 || n > 11 {
			t.Fatalf("%d retries in 10 min, want 9 to 11", n)
		}
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "a"})), "a") // the keys are kept
	})
}

// Without keys nothing verifies: retries stay on a short cap (waits of
// 0.75 to 1.5 s), however long the outage.
func TestNoKeysRetriesOnShortCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.Keys.Fail(http.StatusBadGateway)
		newRemote(t, srv, nil, anyIssuerAnyAudience()...)
		time.Sleep(10 * time.Minute)
		n := srv.Keys.Requests()
		time.Sleep(time.Minute)
		if n = srv.Keys.Requests() - n; n < 40 || n > 80 {
			t.Fatalf("%d fetches in the 11th minute without keys, want 40 to 80", n)
		}
	})
}

// Every kind of bad answer is a failed fetch: no keys on a cold start, and
// the last good keys kept when warm.
func TestBadAnswersAreFailedFetches(t *testing.T) {
	good := func(t *testing.T, srv *bearertest.Server) []byte { return srv.JWKS() }
	cases := []struct {
		name  string
		apply func(t *testing.T, srv *bearertest.Server)
		err   string
	}{
		{"500 with JSON", func(t *testing.T, srv *bearertest.Server) { srv.Keys.Fail(http.StatusInternalServerError) }, "status 500"},
		{"404", func(t *testing.T, srv *bearertest.Server) { srv.Keys.Fail(http.StatusNotFound) }, "status 404"},
		{"empty set", func(t *testing.T, srv *bearertest.Server) { srv.Keys.Serve([]byte(`{"keys":[]}`)) }, "no usable key"},
		{"no keys member", func(t *testing.T, srv *bearertest.Server) { srv.Keys.Serve([]byte(`{"error":"none"}`)) }, `no "keys" array`},
		{"garbage", func(t *testing.T, srv *bearertest.Server) { srv.Keys.Serve([]byte("<html>gateway</html>")) }, "malformed JWKS"},
		{"oversize", func(t *testing.T, srv *bearertest.Server) {
			doc := good(t, srv)
			padded := append([]byte(`{"padding":"`+strings.Repeat("x", bearer.DefaultMaxResponseSize)+`",`), doc[1:]...)
			srv.Keys.Serve(padded)
		}, "larger than 1048576 bytes"},
		{"only unusable keys", func(t *testing.T, srv *bearertest.Server) {
			srv.Keys.Serve([]byte(`{"keys":[` + octKey + `,` + encKey(t) + `,{"kty":"XYZ","kid":"x"}]}`))
		}, "no usable key"},
		// A redirect loop is TestRedirectLimit's, in real time: here, in
		// fake time, a regression would spin without end instead of failing.
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Cold: no keys, 503.
				srv := newIdP(t, bearertest.ES256)
				c.apply(t, srv)
				obs := newEvents()
				m := newRemote(t, srv, nil, anyIssuerAnyAudience(bearer.WithObserver(obs))...)
				wantUnavailable(t, send(m, srv.MustMint(nil)), "")
				e := obs.lastFetch()
				if e.Err == nil || !strings.Contains(e.Err.Error(), c.err) || e.Keys != 0 || !errors.Is(e.Err, bearer.ErrFetch) {
					t.Fatalf("fetch event %+v, want an ErrFetch with %q", e, c.err)
				}
				// One "bearer:" prefix, however many causes the error has.
				if n := strings.Count(e.Err.Error(), "bearer:"); n != 1 {
					t.Fatalf("fetch error %q says bearer: %d times", e.Err, n)
				}
				if c.err == "no usable key" && !errors.Is(e.Err, bearer.ErrNoUsableKey) {
					t.Fatalf("fetch error %v, want ErrNoUsableKey too", e.Err)
				}
				m.Close() // without keys it would retry every second for the hour below

				// Warm: the bad answer does not replace the keys.
				srv2 := newIdP(t, bearertest.ES256)
				m2 := newRemote(t, srv2, nil, anyIssuerAnyAudience()...)
				mustReady(t, m2)
				c.apply(t, srv2)
				time.Sleep(time.Hour)
				if srv2.Keys.Requests() < 3 {
					t.Fatalf("%d fetches in an hour", srv2.Keys.Requests())
				}
				wantOK(t, send(m2, srv2.MustMint(bearertest.Claims{"sub": "a"})), "a")
			})
		})
	}
}

const octKey = `{"kty":"oct","kid":"hmac","alg":"HS256","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}`

// encKey is an RSA key published for encryption (use "enc").
func encKey(t *testing.T) string {
	enc := bearertest.MustIssuer(bearertest.RS256)
	doc := string(enc.JWKS())
	return strings.Replace(doc[len(`{"keys":[`):len(doc)-2], `"use":"sig"`, `"use":"enc"`, 1)
}

// One key of an unknown type, a symmetric key and an encryption key beside
// good keys: the good keys serve, the others are skipped and reported, and a
// token naming the symmetric key is refused.
func TestUnusableKeysBesideGoodOnesAreSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.RS256)
		srv.Keys.Serve(withKeys(t, srv.JWKS(), `{"kty":"XYZ","kid":"future","crv":"none"}`, octKey, encKey(t)))
		obs := newEvents()
		m := newRemote(t, srv, nil, anyIssuerAnyAudience(bearer.WithObserver(obs))...)
		mustReady(t, m)
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "a"})), "a")

		e := obs.lastFetch()
		var skipped []string
		for _, s := range e.Skipped {
			skipped = append(skipped, s.KeyID)
		}
		if e.Keys != 1 || len(skipped) != 3 || skipped[0] != "future" || skipped[1] != "hmac" {
			t.Fatalf("fetch event: %d keys, skipped %q; want 1 key, skipped future, hmac and the enc key", e.Keys, skipped)
		}

		// An HS256 token naming the published secret is never verified.
		secret, _ := base64.RawURLEncoding.DecodeString("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA")
		tok := signHS256(t, secret, "hmac")
		rec := send(m, tok)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("HS256 token with the remote oct key: %d, want 401", rec.Code)
		}
	})
}

// max-age=0 is clamped to the minimum refresh: a fetch about every minute,
// not one per request.
func TestMaxAgeZeroIsClamped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.Keys.SetHeader("Cache-Control", "public, max-age=0")
		m := newRemote(t, srv, nil, anyIssuerAnyAudience()...)
		mustReady(t, m)
		tok := srv.MustMint(bearertest.Claims{"sub": "a"})
		for range 10 {
			for range 100 {
				wantOK(t, send(m, tok), "a")
			}
			time.Sleep(time.Minute)
		}
		// Refreshes every 45 to 51 s: 11 to 13 in 10 minutes, plus the first.
		if n := srv.Keys.Requests(); n < 12 || n > 14 {
			t.Fatalf("%d fetches in 10 min with max-age=0, want 12 to 14", n)
		}
	})
}

// Cache-Control max-age and Expires set the refresh, within the limits.
func TestCacheHeadersSetRefresh(t *testing.T) {
	cases := []struct {
		name, header, value string
		quiet, refreshed    time.Duration // no refresh before quiet; one by refreshed
	}{
		{"max-age", "Cache-Control", "max-age=3600", 44 * time.Minute, 52 * time.Minute},
		{"max-age over the limit", "Cache-Control", "max-age=31536000", 18 * time.Hour, 21 * time.Hour},
		{"no-store", "Cache-Control", "no-store", 44 * time.Second, 52 * time.Second},
		{"Expires", "Expires", "Sat, 01 Jan 2000 02:00:00 GMT", 89 * time.Minute, 103 * time.Minute},
		{"default", "", "", 11 * time.Minute, 13 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newIdP(t, bearertest.ES256)
				if c.header != "" {
					srv.Keys.SetHeader(c.header, c.value)
				}
				m := newRemote(t, srv, nil, anyIssuerAnyAudience()...)
				mustReady(t, m)
				time.Sleep(c.quiet)
				if n := srv.Keys.Requests(); n != 1 {
					t.Fatalf("%d fetches after %v, want 1", n, c.quiet)
				}
				time.Sleep(c.refreshed - c.quiet)
				if n := srv.Keys.Requests(); n < 2 {
					t.Fatalf("%d fetches after %v, want a refresh", n, c.refreshed)
				}
			})
		})
	}
}

// Refreshes are conditional: a 304 keeps the keys (and their freshness
// restarts); a changed set comes back 200.
func TestNotModifiedKeepsKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		obs := newEvents()
		m := newRemote(t, srv, nil, anyIssuerAnyAudience(bearer.WithObserver(obs))...)
		mustReady(t, m)
		time.Sleep(13 * time.Minute)
		if srv.Keys.Requests() != 2 || srv.Keys.NotModified() != 1 {
			t.Fatalf("%d fetches, %d not modified; want 2 and 1", srv.Keys.Requests(), srv.Keys.NotModified())
		}
		if e := obs.lastFetch(); e.Status != http.StatusNotModified || e.Err != nil || e.Keys != 1 {
			t.Fatalf("304 fetch event %+v", e)
		}
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "a"})), "a")

		srv.Rotate()
		time.Sleep(13 * time.Minute)
		if srv.Keys.Requests() != 3 || srv.Keys.NotModified() != 1 {
			t.Fatalf("%d fetches, %d not modified; want 3 and 1", srv.Keys.Requests(), srv.Keys.NotModified())
		}
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "b"})), "b")
		if srv.Keys.Requests() != 3 {
			t.Fatal("the new key was fetched again")
		}

		// 304s keep keys fresh for as long as they come: no staleness.
		time.Sleep(48 * time.Hour)
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "c"})), "c")
	})
}

// Retry-After on a failed refresh delays the next attempt, key misses
// included.
func TestRetryAfterHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		m := newRemote(t, srv, nil, anyIssuerAnyAudience()...)
		mustReady(t, m)
		srv.Keys.Fail(http.StatusTooManyRequests)
		srv.Keys.SetHeader("Retry-After", "90")
		srv.Rotate()
		// Key miss: the fetch fails with Retry-After 90; the request is
		// told to come back then (bounded to 30 s).
		wantUnavailable(t, send(m, srv.MustMint(nil)), "30")
		if n := srv.Keys.Requests(); n != 2 {
			t.Fatalf("%d fetches, want 2", n)
		}
		time.Sleep(80 * time.Second)
		wantUnavailable(t, send(m, mustMintKid(t, srv, randomKid())), "10")
		if n := srv.Keys.Requests(); n != 2 {
			t.Fatalf("%d fetches before the Retry-After, want 2", n)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := srv.Keys.Requests(); n != 3 {
			t.Fatalf("%d fetches after the Retry-After, want 3", n)
		}
	})
}

// Failures are logged as warnings, rate-limited; expiry as an error;
// recovery as info.
func TestFailuresAreLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		var l logs
		obs := newEvents()
		m := newMiddleware(t, bearer.RemoteJWKS(srv.JWKSURL, bearer.RemoteHTTPClient(srv.Client()), bearer.RemoteMaxStaleness(time.Hour)),
			anyIssuerAnyAudience(bearer.WithLogger(slog.New(&l)), bearer.WithObserver(obs))...)
		mustReady(t, m)
		srv.Keys.Fail(http.StatusInternalServerError)
		time.Sleep(2 * time.Hour)
		warnings, errs, failures := 0, 0, srv.Keys.Requests()-1
		for _, line := range l.lines(slog.LevelWarn) {
			switch line {
			case "WARN bearer: key set fetch failed":
				warnings++
			case "ERROR bearer: cached keys expired; refusing tokens until a fetch succeeds":
				errs++
			default:
				t.Errorf("unexpected log %q", line)
			}
		}
		// The first failure at once, then one every 10 min at most (and,
		// with backoff up to 5 min, at least every 15 min).
		if warnings < 7 || warnings > 12 || failures < 20 {
			t.Fatalf("%d warnings for %d failures in 108 min, want 7 to 12 for 20 or more", warnings, failures)
		}
		if _, expired := obs.counts(); expired != 1 || errs != 1 {
			t.Fatalf("%d expired events and %d error logs, want one each", expired, errs)
		}
		srv.Keys.Recover()
		time.Sleep(bearer.DefaultMaxBackoff)
		if got := l.lines(slog.LevelInfo); got[len(got)-1] != "INFO bearer: key set fetch recovered" {
			t.Fatalf("last log %q, want the recovery", got[len(got)-1])
		}
	})
}

// Ready waits for the first keys; Check tells at once.
func TestReadyAndCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.Keys.Hang()
		m := newRemote(t, srv, nil, anyIssuerAnyAudience()...)
		if err := m.Check(context.Background()); !errors.Is(err, bearer.ErrKeysUnavailable) {
			t.Fatalf("Check: %v", err)
		}
		done := make(chan error)
		go func() { done <- m.Ready(context.Background()) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Ready returned %v before the keys", err)
		default:
		}
		srv.Keys.Recover()
		if err := <-done; err != nil {
			t.Fatalf("Ready: %v", err)
		}
		if err := m.Check(context.Background()); err != nil {
			t.Fatalf("Check: %v", err)
		}
	})
}

func TestRemoteConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		keys bearer.KeySource
		opts []bearer.Option
		is   error
	}{
		{"plain http", bearer.RemoteJWKS("http://idp.example.com/jwks"), nil, bearer.ErrInsecureURL},
		{"other scheme", bearer.RemoteJWKS("ftp://idp.example.com/jwks"), nil, bearer.ErrInsecureURL},
		{"relative", bearer.RemoteJWKS("/jwks"), nil, nil},
		{"no host name", bearer.RemoteJWKS("https://:443/jwks"), nil, nil},
		{"malformed", bearer.RemoteJWKS("https://[::1"), nil, nil},
		{"nil client", bearer.RemoteJWKS("https://idp.example.com/jwks", bearer.RemoteHTTPClient(nil)), nil, nil},
		{"zero wait", bearer.RemoteJWKS("https://idp.example.com/jwks", bearer.RemoteKeyWait(0)), nil, nil},
		{"negative timeout", bearer.RemoteJWKS("https://idp.example.com/jwks", bearer.RemoteFetchTimeout(-time.Second)), nil, nil},
		{"zero size", bearer.RemoteJWKS("https://idp.example.com/jwks", bearer.RemoteMaxResponseSize(0)), nil, nil},
		{"inverted limits", bearer.RemoteJWKS("https://idp.example.com/jwks", bearer.RemoteRefreshLimits(time.Hour, time.Minute)), nil, nil},
		{"refresh outside limits", bearer.RemoteJWKS("https://idp.example.com/jwks", bearer.RemoteRefreshInterval(time.Second)), nil, nil},
		{"inverted backoff", bearer.RemoteJWKS("https://idp.example.com/jwks", bearer.RemoteRetryBackoff(time.Minute, time.Second)), nil, nil},
		{"zero cooldown", bearer.RemoteJWKS("https://idp.example.com/jwks", bearer.RemoteKeyMissCooldown(0)), nil, nil},
		{"negative staleness", bearer.RemoteJWKS("https://idp.example.com/jwks", bearer.RemoteMaxStaleness(-1)), nil, nil},
		{"HMAC only", bearer.RemoteJWKS("https://idp.example.com/jwks"), []bearer.Option{bearer.WithAlgorithms("HS256")}, nil},
		{"nil logger", bearer.RemoteJWKS("https://idp.example.com/jwks"), []bearer.Option{bearer.WithLogger(nil)}, nil},
		{"nil observer", bearer.RemoteJWKS("https://idp.example.com/jwks"), []bearer.Option{bearer.WithObserver(nil)}, nil},
		{"discovery with query", bearer.Discover("https://idp.example.com/?tenant=a"), nil, nil},
		{"discovery over http", bearer.Discover("http://idp.example.com"), nil, bearer.ErrInsecureURL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := bearer.New(c.keys, anyIssuerAnyAudience(c.opts...)...)
			if err == nil {
				m.Close()
				t.Fatal("New succeeded")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("New: %v, want %v", err, c.is)
			}
		})
	}
	// Loopback hosts may use plain http, for tests.
	for _, u := range []string{"http://localhost:1/jwks", "http://127.0.0.1:1/jwks", "http://[::1]:1/jwks"} {
		m, err := bearer.New(bearer.RemoteJWKS(u), anyIssuerAnyAudience(quiet)...)
		if err != nil {
			t.Fatalf("New(%s): %v", u, err)
		}
		m.Close()
	}
}

func randomKid() string {
	b := make([]byte, 9)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// mustMintKid mints a token signed with srv's key under another kid.
func mustMintKid(t *testing.T, srv *bearertest.Server, kid string) string {
	t.Helper()
	tok, err := srv.MintWithHeader(map[string]any{"kid": kid}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signHS256 signs a token with secret under kid, as an attacker holding
// a published symmetric key would.
func signHS256(t *testing.T, secret []byte, kid string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	input := enc([]byte(`{"alg":"HS256","typ":"JWT","kid":"`+kid+`"}`)) + "." +
		enc([]byte(fmt.Sprintf(`{"sub":"mallory","exp":%d}`, time.Now().Add(time.Hour).Unix())))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + enc(mac.Sum(nil))
}

// A redirect to another host is refused (keys come from the host the
// configuration names); one on the same host is followed. Real TCP
// servers: two in-memory ones could not be told apart by host.
func TestRedirects(t *testing.T) {
	t.Run("to another host", func(t *testing.T) {
		a := bearertest.NewServer(bearertest.ES256)
		defer a.Close()
		b := bearertest.NewServer(bearertest.ES256, bearertest.WithIssuer(a.URL))
		defer b.Close()
		a.Keys.Redirect(b.JWKSURL)
		obs := newEvents()
		m := newMiddleware(t, bearer.RemoteJWKS(a.JWKSURL), anyIssuerAnyAudience(bearer.WithObserver(obs), quiet)...)
		e := <-obs.fetched
		if !errors.Is(e.Err, bearer.ErrRedirect) || e.Status != 0 {
			t.Fatalf("fetch event %+v, want ErrRedirect", e)
		}
		if n := b.Keys.Requests(); n != 0 {
			t.Fatalf("the other host got %d requests", n)
		}
		wantUnavailable(t, send(m, b.MustMint(nil)), "")
	})
	t.Run("from https to http on the same host", func(t *testing.T) {
		var tlsSrv *httptest.Server
		tlsSrv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http"+strings.TrimPrefix(tlsSrv.URL, "https")+"/plain", http.StatusFound)
		}))
		defer tlsSrv.Close()
		obs := newEvents()
		newMiddleware(t, bearer.RemoteJWKS(tlsSrv.URL+"/jwks", bearer.RemoteHTTPClient(tlsSrv.Client())), anyIssuerAnyAudience(bearer.WithObserver(obs), quiet)...)
		if e := <-obs.fetched; !errors.Is(e.Err, bearer.ErrInsecureURL) || e.Status != 0 {
			t.Fatalf("fetch event %+v, want ErrInsecureURL", e)
		}
	})
	t.Run("on the same host", func(t *testing.T) {
		iss := bearertest.MustIssuer(bearertest.RS256)
		mux := http.NewServeMux()
		mux.Handle("/old", http.RedirectHandler("/new", http.StatusMovedPermanently))
		mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) { w.Write(iss.JWKS()) })
		srv := httptest.NewServer(mux)
		defer srv.Close()
		m := newMiddleware(t, bearer.RemoteJWKS(srv.URL+"/old"), anyIssuerAnyAudience(quiet)...)
		mustReady(t, m)
		wantOK(t, send(m, iss.MustMint(bearertest.Claims{"sub": "a"})), "a")
	})
}

// At most three redirects a fetch: a chain of three is followed, a fourth
// fails the fetch with ErrRedirect at once. Real time, with a short fetch
// timeout: without the limit the loop would run until the timeout and the
// test would fail on the error and the count, not hang.
func TestRedirectLimit(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	var hops atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		hops.Add(1)
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			w.Write(iss.JWKS())
			return
		}
		http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		hops.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		path  string
		hops  int64
		isErr error
	}{
		{"/hop/3", 4, nil},
		{"/hop/4", 4, bearer.ErrRedirect},
		{"/loop", 4, bearer.ErrRedirect},
	} {
		hops.Store(0)
		obs := newEvents()
		start := time.Now()
		newMiddleware(t, bearer.RemoteJWKS(srv.URL+c.path, bearer.RemoteFetchTimeout(2*time.Second)), anyIssuerAnyAudience(bearer.WithObserver(obs), quiet)...)
		e := <-obs.fetched
		if c.isErr == nil && e.Err != nil || c.isErr != nil && !errors.Is(e.Err, c.isErr) {
			t.Errorf("%s: fetch error %v, want %v", c.path, e.Err, c.isErr)
		}
		if n := hops.Load(); n != c.hops {
			t.Errorf("%s: %d requests, want %d (the first and three redirects)", c.path, n, c.hops)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: the fetch took %v; a refused redirect fails at once", c.path, d)
		}
	}
}

// A token whose alg the allowlist refuses is answered "algorithm not
// allowed" before any key lookup: an unknown kid does not make it fetch.
func TestDisallowedAlgNoFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		m := newRemote(t, srv, nil, anyIssuerAnyAudience(bearer.WithAlgorithms("RS256"))...)
		synctest.Wait()
		n := srv.Keys.Requests()
		for range 10 {
			rec := send(m, mustMintKid(t, srv, randomKid()))
			wantInvalid(t, rec, "algorithm not allowed")
		}
		if _, err := m.Verify(context.Background(), mustMintKid(t, srv, randomKid())); !errors.Is(err, bearer.ErrAlgorithm) {
			t.Fatalf("Verify: %v, want ErrAlgorithm", err)
		}
		if srv.Keys.Requests() != n {
			t.Fatalf("%d fetches for tokens of a disallowed alg, want none", srv.Keys.Requests()-n)
		}
	})
}

// A key without a kid in the set must not hide a rotated key: a token
// naming an unknown kid still triggers the key-miss fetch, and verifies on
// its first request.
func TestKidlessKeyDoesNotHideRotation(t *testing.T) {
	srv := bearertest.NewServer(bearertest.ES256)
	t.Cleanup(srv.Close)
	kidless := bearertest.MustIssuer(bearertest.EdDSA)
	withKidless := func() []byte {
		var doc struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(srv.JWKS(), &doc); err != nil {
			t.Fatal(err)
		}
		var extra struct {
			Keys []map[string]any `json:"keys"`
		}
		json.Unmarshal(kidless.JWKS(), &extra)
		delete(extra.Keys[0], "kid")
		doc.Keys = append(doc.Keys, extra.Keys[0])
		b, _ := json.Marshal(doc)
		return b
	}
	srv.Keys.Serve(withKidless())
	m := newMiddleware(t, bearer.RemoteJWKS(srv.JWKSURL), anyIssuerAnyAudience(quiet)...)
	mustReady(t, m)
	before := srv.Keys.Requests()

	if _, err := srv.Rotate(); err != nil {
		t.Fatal(err)
	}
	srv.Keys.Serve(withKidless())
	if _, err := m.Verify(t.Context(), srv.MustMint(nil)); err != nil {
		t.Fatalf("token of the rotated key, first request: %v", err)
	}
	if n := srv.Keys.Requests() - before; n != 1 {
		t.Errorf("%d fetches for the rotated key, want 1", n)
	}
	// The kid-less key still verifies a token naming any kid.
	if _, err := m.Verify(t.Context(), mintHeader(t, kidless, map[string]any{"kid": "anything"}, nil)); err != nil {
		t.Errorf("token of the kid-less key: %v", err)
	}
}

// Each attempt is bounded by the fetch timeout: a provider that never
// answers is asked again after the timeout and the backoff.
func TestFetchTimeoutPerAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.Keys.Hang()
		newRemote(t, srv, []bearer.RemoteOption{bearer.RemoteFetchTimeout(20 * time.Second), bearer.RemoteRetryBackoff(time.Second, time.Second)}, anyIssuerAnyAudience()...)
		time.Sleep(15 * time.Second)
		synctest.Wait()
		if n := srv.Keys.Requests(); n != 1 {
			t.Fatalf("%d requests within the timeout, want 1", n)
		}
		time.Sleep(10 * time.Second) // past the timeout and the backoff
		synctest.Wait()
		if n := srv.Keys.Requests(); n != 2 {
			t.Fatalf("%d requests after the timeout, want 2: the hung attempt was not ended", n)
		}
	})
}

// Last-Modified makes the next fetch conditional (If-Modified-Since); its
// 304 keeps the keys. A 304 to an unconditional request is a failed fetch.
func TestLastModified(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	const stamp = "Sat, 28 Nov 2026 10:00:00 GMT"
	var mu sync.Mutex
	var conditional []string
	notModifiedAlways := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		ims := r.Header.Get("If-Modified-Since")
		conditional = append(conditional, ims)
		if notModifiedAlways || ims == stamp {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Last-Modified", stamp)
		w.Write(iss.JWKS())
	}))
	t.Cleanup(srv.Close)

	m := newMiddleware(t, bearer.RemoteJWKS(srv.URL), anyIssuerAnyAudience(quiet)...)
	mustReady(t, m)
	// An unknown kid: one key-miss fetch, conditional, answered 304.
	if _, err := m.Verify(t.Context(), mintHeader(t, iss, map[string]any{"kid": "rotated"}, nil)); !errors.Is(err, bearer.ErrUnknownKey) {
		t.Errorf("unknown kid: %v", err)
	}
	if _, err := m.Verify(t.Context(), iss.MustMint(nil)); err != nil {
		t.Errorf("the keys kept after 304: %v", err)
	}
	mu.Lock()
	got := slices.Clone(conditional)
	notModifiedAlways = true
	mu.Unlock()
	if want := []string{"", stamp}; !slices.Equal(got, want) {
		t.Errorf("If-Modified-Since of the fetches: %q, want %q", got, want)
	}

	// A provider that answers 304 to the first, unconditional request has
	// sent no keys: the source stays unavailable (and does not crash).
	cold := newMiddleware(t, bearer.RemoteJWKS(srv.URL, bearer.RemoteKeyWait(100*time.Millisecond)), anyIssuerAnyAudience(quiet)...)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if err := cold.Ready(ctx); !errors.Is(err, bearer.ErrKeysUnavailable) {
		t.Errorf("Ready after a 304 to an unconditional request: %v", err)
	}
}
