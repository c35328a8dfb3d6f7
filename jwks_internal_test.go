package bearer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// publicJWK returns a new ECDSA P-256 public key as a JWK with kid.
func publicJWK(t testing.TB, kid string) json.RawMessage {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.Import(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	k.Set(jwk.KeyIDKey, kid)
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jwksOf(t testing.TB, keys ...json.RawMessage) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A refresh that brings the same key back keeps its *verifyKey, so that
// what is keyed by it (a cache of verified tokens) survives; a changed key
// under the same kid gets a new one.
func TestRefreshKeepsUnchangedKeys(t *testing.T) {
	k1, k2, k1b := publicJWK(t, "k1"), publicJWK(t, "k2"), publicJWK(t, "k1")
	var doc atomic.Pointer[[]byte]
	set := func(b []byte) { doc.Store(&b) }
	set(jwksOf(t, k1))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(*doc.Load()) }))
	defer srv.Close()

	st, err := RemoteJWKS(srv.URL, RemoteKeyMissCooldown(time.Nanosecond)).open(sourceEnv{logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	ctx := context.Background()
	if err := st.ready(ctx, true); err != nil {
		t.Fatal(err)
	}
	lookup := func(kid string) *verifyKey {
		t.Helper()
		ks, err := st.keys(ctx, keyQuery{kid: kid, hasKid: true})
		if err != nil || len(ks) != 1 {
			t.Fatalf("keys(%s): %v, %v", kid, ks, err)
		}
		return ks[0]
	}
	first := lookup("k1")

	set(jwksOf(t, k1, k2))
	lookup("k2") // a key miss: refetches the set
	if lookup("k1") != first {
		t.Fatal("the unchanged key k1 was replaced by a refresh")
	}

	set(jwksOf(t, k1b, k2))
	if _, err := st.keys(ctx, keyQuery{kid: "k3", hasKid: true}); err != errUnknownKey {
		t.Fatalf("keys(k3): %v, want errUnknownKey", err)
	}
	if lookup("k1") == first {
		t.Fatal("k1 with new material kept the old key")
	}
}

func TestFreshness(t *testing.T) {
	c, err := newRemoteConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	cases := []struct {
		header http.Header
		want   time.Duration
	}{
		{http.Header{}, DefaultRefreshInterval},
		{http.Header{"Cache-Control": {"max-age=600"}}, 10 * time.Minute},
		{http.Header{"Cache-Control": {`public, max-age="600", must-revalidate`}}, 10 * time.Minute},
		{http.Header{"Cache-Control": {"max-age=600"}, "Age": {"120"}}, 8 * time.Minute},
		{http.Header{"Cache-Control": {"max-age=0"}}, DefaultMinRefresh},
		{http.Header{"Cache-Control": {"no-cache"}}, DefaultMinRefresh},
		{http.Header{"Cache-Control": {"max-age=99999999999999999"}}, DefaultMaxRefresh},
		{http.Header{"Cache-Control": {"max-age=bad"}}, DefaultRefreshInterval},
		{http.Header{"Cache-Control": {"max-age=600"}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, 10 * time.Minute},
		{http.Header{"Expires": {now.Add(time.Hour).Format(http.TimeFormat)}, "Date": {date}}, time.Hour},
		{http.Header{"Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, time.Hour},
		{http.Header{"Expires": {"0"}}, DefaultMinRefresh},
		{http.Header{"Expires": {now.Add(-time.Hour).Format(http.TimeFormat)}}, DefaultMinRefresh},
	}
	for _, c2 := range cases {
		if got := c.freshness(c2.header, now); got != c2.want {
			t.Errorf("freshness(%v) = %v, want %v", c2.header, got, c2.want)
		}
	}
}

func TestRefreshIntervalWithinLimits(t *testing.T) {
	c, err := newRemoteConfig([]RemoteOption{RemoteRefreshLimits(time.Hour, 2*time.Hour)})
	if err != nil || c.refresh != time.Hour {
		t.Fatalf("default refresh with limits [1h, 2h]: %v, %v; want 1h", c, err)
	}
	if _, err := newRemoteConfig([]RemoteOption{RemoteRefreshLimits(time.Hour, 2*time.Hour), RemoteRefreshInterval(time.Minute)}); err == nil {
		t.Fatal("refresh interval outside the limits accepted")
	}
}

func TestBackoff(t *testing.T) {
	c, err := newRemoteConfig([]RemoteOption{RemoteRetryBackoff(time.Second, time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 100; n++ {
		d := min(time.Second<<min(n-1, 20), time.Minute)
		for range 20 {
			if got := c.backoff(n, 0, false); got < d/2 || got > d {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, got, d/2, d)
			}
			// Without keys the cap is short.
			u := min(d, noKeysMaxBackoff)
			if got := c.backoff(n, 0, true); got < u/2 || got > u {
				t.Fatalf("backoff(%d) without keys = %v, want in [%v, %v]", n, got, u/2, u)
			}
		}
	}
	if got := c.backoff(1, 30*time.Second, false); got != 30*time.Second {
		t.Errorf("backoff with Retry-After 30s = %v", got)
	}
	if got := c.backoff(1, time.Hour, false); got != time.Minute {
		t.Errorf("backoff with Retry-After 1h = %v, want the cap", got)
	}
	// The provider's own Retry-After is honoured without keys too.
	if got := c.backoff(1, 30*time.Second, true); got != 30*time.Second {
		t.Errorf("backoff without keys, with Retry-After 30s = %v", got)
	}
	// A minimum above the short cap gives way to it.
	slow, _ := newRemoteConfig([]RemoteOption{RemoteRetryBackoff(time.Hour, time.Hour)})
	if got := slow.backoff(1, 0, true); got < noKeysMaxBackoff/2 || got > noKeysMaxBackoff {
		t.Errorf("backoff without keys, minimum 1h = %v, want within the short cap", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":     0,
		"0":    0,
		"-5":   0,
		"120":  2 * time.Minute,
		"soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestDiscoveryURL(t *testing.T) {
	for issuer, want := range map[string]string{
		"https://idp.example.com":          "https://idp.example.com/.well-known/openid-configuration",
		"https://idp.example.com/":         "https://idp.example.com/.well-known/openid-configuration",
		"https://idp.example.com/tenant/a": "https://idp.example.com/tenant/a/.well-known/openid-configuration",
	} {
		if got := discoveryURL(issuer); got != want {
			t.Errorf("discoveryURL(%q) = %q, want %q", issuer, got, want)
		}
	}
}

// The request path of a warm remote source costs what a static set's does:
// an atomic load, no lock, no clock, no allocation.
func BenchmarkKeyLookup(b *testing.B) {
	doc := jwksOf(b, publicJWK(b, "k1"), publicJWK(b, "k2"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(doc) }))
	defer srv.Close()
	remote, err := RemoteJWKS(srv.URL).open(sourceEnv{logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer remote.close()
	if err := remote.ready(context.Background(), true); err != nil {
		b.Fatal(err)
	}
	src, _ := KeySetJSON(doc)
	static, _ := src.open(sourceEnv{})
	q := keyQuery{kid: "k2", hasKid: true}
	for _, s := range []struct {
		name  string
		store keyStore
	}{{"static", static}, {"remote", remote}} {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.store.keys(context.Background(), q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
