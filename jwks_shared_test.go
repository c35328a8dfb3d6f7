package bearer_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"go.uber.org/goleak"
)

// Two middlewares on one RemoteJWKS value share one fetcher and one key
// cache: one initial fetch, one fetch for a new key however many
// middlewares see it, both observers told; the store outlives the first
// Close and stops with the last.
func TestRemoteJWKSShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		src := bearer.RemoteJWKS(srv.JWKSURL, bearer.RemoteHTTPClient(srv.Client()))
		ea, eb := newEvents(), newEvents()
		a := newMiddleware(t, src, quiet, bearer.WithObserver(ea), bearer.WithIssuer(srv.URL), bearer.WithAudience(bearertest.DefaultAudience))
		b, err := bearer.New(src, quiet, bearer.WithObserver(eb), bearer.WithIssuer(srv.URL), bearer.WithAudience(bearertest.DefaultAudience), bearer.WithMode(bearer.CredentialsOptional))
		if err != nil {
			t.Fatal(err)
		}
		mustReady(t, a)
		mustReady(t, b)
		wantOK(t, send(a, srv.MustMint(bearertest.Claims{"sub": "a"})), "a")
		wantOK(t, send(b, srv.MustMint(bearertest.Claims{"sub": "b"})), "b")
		if n := srv.Keys.Requests(); n != 1 {
			t.Fatalf("%d fetches for two middlewares on one source, want 1", n)
		}
		srv.Rotate()
		wantOK(t, send(a, srv.MustMint(bearertest.Claims{"sub": "a"})), "a")
		wantOK(t, send(b, srv.MustMint(bearertest.Claims{"sub": "b"})), "b") // the key a's miss brought
		if n := srv.Keys.Requests(); n != 2 {
			t.Fatalf("%d fetches after a rotation, want 2", n)
		}
		ea.mu.Lock()
		eb.mu.Lock()
		if len(ea.fetches) != 2 || len(eb.fetches) != 2 {
			t.Errorf("observers heard %d and %d fetches, want 2 each", len(ea.fetches), len(eb.fetches))
		}
		ea.mu.Unlock()
		eb.mu.Unlock()

		// Another allowlist yields other keys: a store of its own.
		c := newMiddleware(t, src, quiet, bearer.WithAlgorithms("ES256"), bearer.WithIssuer(srv.URL), bearer.WithAudience(bearertest.DefaultAudience))
		mustReady(t, c)
		if n := srv.Keys.Requests(); n != 3 {
			t.Fatalf("%d fetches with a second allowlist, want 3", n)
		}

		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		b.Close() // a second Close changes nothing
		time.Sleep(48 * time.Hour)
		wantOK(t, send(a, srv.MustMint(bearertest.Claims{"sub": "a"})), "a") // still refreshed
		eb.mu.Lock()
		if len(eb.fetches) != 2 {
			t.Errorf("a closed middleware's observer heard %d fetches, want 2", len(eb.fetches))
		}
		eb.mu.Unlock()
	})
}

// The shared store stops when its last middleware closes, and a
// middleware opened after that starts a new one.
func TestRemoteJWKSSharedClose(t *testing.T) {
	srv := bearertest.NewServer(bearertest.ES256)
	defer srv.Close()
	ignore := goleak.IgnoreCurrent()
	src := bearer.RemoteJWKS(srv.JWKSURL)
	opts := []bearer.Option{quiet, bearer.WithIssuer(srv.URL), bearer.WithAudience(bearertest.DefaultAudience)}
	for round := 1; round <= 2; round++ {
		a, _ := bearer.New(src, opts...)
		b, _ := bearer.New(src, opts...)
		mustReady(t, a)
		mustReady(t, b)
		a.Close()
		if _, err := b.Verify(t.Context(), srv.MustMint(nil)); err != nil {
			t.Fatalf("round %d: the other middleware after one Close: %v", round, err)
		}
		b.Close()
		if n := srv.Keys.Requests(); n != round {
			t.Fatalf("round %d: %d fetches", round, n)
		}
	}
	goleak.VerifyNone(t, ignore)
}
