package bearer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/internal/answertest"
)

// testClock is a clock the test moves; servers read it concurrently.
type testClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *testClock {
	c := &testClock{}
	c.Set(t)
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newMemoryRevoker(t *testing.T, opts ...bearer.RevokerOption) *bearer.MemoryRevoker {
	t.Helper()
	r, err := bearer.NewMemoryRevoker(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// revokerFunc is a Revoker made of a function, for failures on demand.
type revokerFunc func(ctx context.Context, t *bearer.Token) (bool, error)

func (f revokerFunc) Revoked(ctx context.Context, t *bearer.Token) (bool, error) { return f(ctx, t) }

const (
	revokedChallenge = `Bearer realm="api", error="invalid_token", error_description="token revoked"`
	revokedBody      = `{"error":"invalid_token","error_description":"token revoked"}`
)

func wantStatus(t *testing.T, srv string, tok string, status int) response {
	t.Helper()
	got := call(t, srv, bearerHeader(tok))
	if got.status != status {
		t.Fatalf("status %d, want %d (%s)", got.status, status, strings.TrimSpace(got.body))
	}
	return got
}

func wantRevoked(t *testing.T, srv string, tok string) {
	t.Helper()
	got := wantStatus(t, srv, tok, 401)
	if got.challenge != revokedChallenge {
		t.Errorf("WWW-Authenticate = %q\n                   want %q", got.challenge, revokedChallenge)
	}
	if strings.TrimSpace(got.body) != revokedBody {
		t.Errorf("body = %q", got.body)
	}
}

func TestRevokeToken(t *testing.T) {
	ctx := context.Background()
	clock := newClock(time.Unix(1_800_000_000, 0))
	iss := bearertest.MustIssuer(bearertest.ES256, bearertest.WithClock(clock.Now))
	rev := newMemoryRevoker(t, bearer.RevokerClock(clock.Now))
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithRealm("api"), bearer.WithClock(clock.Now), bearer.WithRevocation(rev))...)
	srv := serve(t, m.Handler(whoami)).URL

	a1 := iss.MustMint(bearertest.Claims{"sub": "alice", "jti": "a1"})
	a2 := iss.MustMint(bearertest.Claims{"sub": "alice", "jti": "a2"})
	// jti is unique per issuer only: another issuer's "a1" is another token.
	other := iss.MustMint(bearertest.Claims{"sub": "alice", "jti": "a1", "iss": "https://other.example"})
	wantStatus(t, srv, a1, 200)

	// What a logout endpoint does: revoke the token it was called with.
	if err := rev.RevokeToken(ctx, verify(t, m, a1)); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, srv, a1)
	if got := wantStatus(t, srv, a2, 200); got.body != "alice " {
		t.Errorf("other token of the subject: %q", got.body)
	}
	wantStatus(t, srv, other, 200)

	_, err := m.Verify(ctx, a1)
	if !errors.Is(err, bearer.ErrRevoked) || !errors.Is(err, bearer.ErrInvalidToken) {
		t.Errorf("Verify: %v, want ErrRevoked and ErrInvalidToken", err)
	}
	var e *bearer.Error
	if !errors.As(err, &e) || e.Status != 401 || e.Description != "token revoked" {
		t.Errorf("Verify: %#v", e)
	}

	list, _ := rev.List(ctx)
	want := []bearer.Revocation{{Issuer: iss.Issuer(), TokenID: "a1", Expires: clock.Now().Add(bearertest.DefaultTTL)}}
	if fmt.Sprint(list) != fmt.Sprint(want) {
		t.Errorf("List = %v\n want %v", list, want)
	}

	// By ID, as an operator would, from the jti and exp in a log.
	if err := rev.RevokeID(ctx, iss.Issuer(), "a2", clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, srv, a2)

	for _, r := range want {
		if err := rev.Unrevoke(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	wantStatus(t, srv, a1, 200)
	wantRevoked(t, srv, a2)
	if err := rev.Unrevoke(ctx, want[0]); err != nil {
		t.Errorf("Unrevoke of an absent entry: %v", err)
	}
}

// TestRevokeIDKeepsLaterExpiry: revoking an ID again with an earlier
// expiry (an operator's tool, a replayed message) changes nothing; the entry
// lasts until the later one, as a later cut-off wins for subjects.
func TestRevokeIDKeepsLaterExpiry(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1_800_000_000, 0)
	clock := newClock(t0)
	iss := bearertest.MustIssuer(bearertest.ES256, bearertest.WithClock(clock.Now), bearertest.WithTTL(2*time.Hour))
	rev := newMemoryRevoker(t, bearer.RevokerClock(clock.Now))
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithRealm("api"), bearer.WithClock(clock.Now), bearer.WithRevocation(rev))...)
	srv := serve(t, m.Handler(whoami)).URL
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "jti": "a1"})

	if err := rev.RevokeID(ctx, iss.Issuer(), "a1", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := rev.RevokeID(ctx, iss.Issuer(), "a1", t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(time.Hour)) // past the earlier expiry, within the later
	wantRevoked(t, srv, tok)
	list, _ := rev.List(ctx)
	want := []bearer.Revocation{{Issuer: iss.Issuer(), TokenID: "a1", Expires: t0.Add(2 * time.Hour)}}
	if fmt.Sprint(list) != fmt.Sprint(want) {
		t.Errorf("List = %v\n want %v", list, want)
	}
}

func TestRevokeSubject(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1_800_000_000, 0)
	clock := newClock(t0)
	iss := bearertest.MustIssuer(bearertest.EdDSA, bearertest.WithClock(clock.Now))
	rev := newMemoryRevoker(t, bearer.RevokerClock(clock.Now), bearer.RevokerMaxTokenLifetime(2*time.Hour))
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithRealm("api"), bearer.WithClock(clock.Now), bearer.WithRevocation(rev))...)
	srv := serve(t, m.Handler(whoami)).URL

	issued := func(sub string, iat time.Time) string {
		return iss.MustMint(bearertest.Claims{"sub": sub, "iat": float64(iat.UnixMilli()) / 1e3})
	}
	old := issued("alice", t0.Add(-10*time.Minute))
	sameSecond := issued("alice", t0) // iat 1800000000, cut-off 1800000000.5
	noIat := iss.MustMint(bearertest.Claims{"sub": "alice", "iat": nil})
	atCutoff := issued("alice", t0.Add(500*time.Millisecond))
	later := issued("alice", t0.Add(5*time.Second))
	bob := issued("bob", t0.Add(-10*time.Minute))
	otherIssuer := iss.MustMint(bearertest.Claims{"sub": "alice", "iat": t0.Add(-time.Minute).Unix(), "iss": "https://other.example"})

	clock.Set(t0.Add(10 * time.Second))
	// Log out everywhere: every token of alice issued before now.
	if err := rev.RevokeSubject(ctx, iss.Issuer(), "alice", t0.Add(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, srv, old)
	wantRevoked(t, srv, sameSecond)
	wantRevoked(t, srv, noIat) // no iat: counts as issued before any cut-off
	wantStatus(t, srv, atCutoff, 200)
	wantStatus(t, srv, later, 200)
	wantStatus(t, srv, bob, 200)
	wantStatus(t, srv, otherIssuer, 200)

	// A later cut-off replaces the entry; an earlier one changes nothing.
	if err := rev.RevokeSubject(ctx, iss.Issuer(), "alice", t0.Add(8*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := rev.RevokeSubject(ctx, iss.Issuer(), "alice", t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, srv, later)
	list, _ := rev.List(ctx)
	want := []bearer.Revocation{{Issuer: iss.Issuer(), Subject: "alice", Before: t0.Add(8 * time.Second), Expires: t0.Add(8*time.Second + 2*time.Hour)}}
	if fmt.Sprint(list) != fmt.Sprint(want) {
		t.Errorf("List = %v\n want %v", list, want)
	}
	if err := rev.Unrevoke(ctx, bearer.Revocation{Issuer: iss.Issuer(), Subject: "alice"}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, srv, old, 200)
}

// TestRevocationLapses: entries last as long as the tokens they cover, plus
// the leeway, and then go: the list never grows without bound.
func TestRevocationLapses(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1_800_000_000, 0)
	clock := newClock(t0)
	iss := bearertest.MustIssuer(bearertest.ES256, bearertest.WithClock(clock.Now), bearertest.WithTTL(10*time.Minute))
	rev := newMemoryRevoker(t, bearer.RevokerClock(clock.Now), bearer.RevokerMaxTokenLifetime(time.Hour))
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithClock(clock.Now), bearer.WithRevocation(rev))...)

	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "jti": "j1"})
	if err := rev.RevokeToken(ctx, verify(t, m, tok)); err != nil {
		t.Fatal(err)
	}
	// The middleware accepts a token until exp + leeway (30s): the entry
	// must last as long.
	clock.Set(t0.Add(10*time.Minute + 29*time.Second))
	if _, err := m.Verify(ctx, tok); !errors.Is(err, bearer.ErrRevoked) {
		t.Errorf("within the leeway: %v, want ErrRevoked", err)
	}
	if list, _ := rev.List(ctx); len(list) != 1 {
		t.Errorf("List within the leeway: %v", list)
	}
	clock.Set(t0.Add(10*time.Minute + 31*time.Second))
	if _, err := m.Verify(ctx, tok); !errors.Is(err, bearer.ErrExpired) {
		t.Errorf("after the leeway: %v, want ErrExpired", err)
	}
	if list, _ := rev.List(ctx); len(list) != 0 {
		t.Errorf("List after expiry: %v", list)
	}
	// Revoking an expired token adds nothing.
	if err := rev.RevokeID(ctx, iss.Issuer(), "j0", t0); err != nil {
		t.Fatal(err)
	}
	if list, _ := rev.List(ctx); len(list) != 0 {
		t.Errorf("List after revoking an expired token: %v", list)
	}

	// By subject: until the cut-off plus RevokerMaxTokenLifetime plus leeway.
	clock.Set(t0)
	if err := rev.RevokeSubject(ctx, iss.Issuer(), "bob", t0); err != nil {
		t.Fatal(err)
	}
	noIat := iss.MustMint(bearertest.Claims{"sub": "bob", "iat": nil, "exp": t0.Add(3 * time.Hour).Unix()})
	clock.Set(t0.Add(time.Hour + 29*time.Second))
	if _, err := m.Verify(ctx, noIat); !errors.Is(err, bearer.ErrRevoked) {
		t.Errorf("subject entry before it lapses: %v", err)
	}
	clock.Set(t0.Add(time.Hour + 31*time.Second))
	if list, _ := rev.List(ctx); len(list) != 0 {
		t.Errorf("List after the subject entry lapsed: %v", list)
	}
	// A token that outlives RevokerMaxTokenLifetime escapes once the entry lapses,
	// as documented.
	verify(t, m, noIat)
}

func TestRevokerLeeway(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1_800_000_000, 0)
	clock := newClock(t0)
	iss := bearertest.MustIssuer(bearertest.ES256, bearertest.WithClock(clock.Now), bearertest.WithTTL(time.Minute))
	rev := newMemoryRevoker(t, bearer.RevokerClock(clock.Now), bearer.RevokerLeeway(2*time.Minute))
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithClock(clock.Now), bearer.WithLeeway(2*time.Minute), bearer.WithRevocation(rev))...)
	tok := iss.MustMint(bearertest.Claims{"jti": "j1"})
	if err := rev.RevokeToken(ctx, verify(t, m, tok)); err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(time.Minute + 110*time.Second))
	if _, err := m.Verify(ctx, tok); !errors.Is(err, bearer.ErrRevoked) {
		t.Errorf("within a 2m leeway: %v, want ErrRevoked", err)
	}
}

func TestRevocationFailurePolicy(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	good := iss.MustMint(bearertest.Claims{"sub": "alice", "jti": "j1"})
	cause := errors.New("revocation backend: dial tcp 10.0.0.7:6379: connection refused")
	failing := revokerFunc(func(context.Context, *bearer.Token) (bool, error) { return false, cause })
	// A revoker that knows the token is revoked but could not check all it
	// would like to: the token is refused under either policy.
	knows := revokerFunc(func(context.Context, *bearer.Token) (bool, error) { return true, cause })

	t.Run("fail closed", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithRealm("api"), bearer.WithRevocation(failing))...)
		got := call(t, serve(t, m.Handler(whoami)).URL, bearerHeader(good))
		if got.status != 503 || got.challenge != "" || got.header.Get("Retry-After") != "1" {
			t.Errorf("answer: %d, WWW-Authenticate %q, Retry-After %q", got.status, got.challenge, got.header.Get("Retry-After"))
		}
		if want := `{"error":"temporarily_unavailable","error_description":"revocation status unavailable"}`; strings.TrimSpace(got.body) != want {
			t.Errorf("body = %s, want %s", got.body, want)
		}
		_, err := m.Verify(context.Background(), good)
		if !errors.Is(err, bearer.ErrRevocationUnavailable) || !errors.Is(err, cause) || errors.Is(err, bearer.ErrInvalidToken) {
			t.Errorf("Verify: %v", err)
		}
	})
	t.Run("fail open", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithRevocation(failing), bearer.WithRevocationFailOpen())...)
		if got := call(t, serve(t, m.Handler(whoami)).URL, bearerHeader(good)); got.status != 200 || got.body != "alice " {
			t.Errorf("answer: %d %s", got.status, got.body)
		}
	})
	for _, open := range []bool{false, true} {
		t.Run(fmt.Sprintf("known revoked, fail open %v", open), func(t *testing.T) {
			opts := []bearer.Option{bearer.WithRealm("api"), bearer.WithRevocation(knows)}
			if open {
				opts = append(opts, bearer.WithRevocationFailOpen())
			}
			m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(opts...)...)
			wantRevoked(t, serve(t, m.Handler(whoami)).URL, good)
		})
	}
	t.Run("WriteError", func(t *testing.T) {
		// Code that checks revocation itself answers with the sentinel.
		srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			(*bearer.Middleware)(nil).WriteError(w, r, fmt.Errorf("my store: %w", bearer.ErrRevocationUnavailable))
		}))
		got := call(t, srv.URL, nil)
		if got.status != 503 || got.header.Get("Retry-After") == "" || strings.Contains(got.body, "my store") {
			t.Errorf("answer: %d %v %s", got.status, got.header, got.body)
		}
	})
}

// TestRevocationRunsLast: the Revoker is asked only about tokens that pass
// every other check, so a bad token costs it nothing and an expired one is
// answered as expired.
func TestRevocationRunsLast(t *testing.T) {
	ctx := context.Background()
	iss := bearertest.MustIssuer(bearertest.ES256)
	var asked atomic.Int32
	rev := revokerFunc(func(context.Context, *bearer.Token) (bool, error) {
		asked.Add(1)
		return true, nil
	})
	m := newMiddleware(t, iss.KeySource(), anyIssuerOnly(bearer.WithAudience(bearertest.DefaultAudience),
		bearer.WithValidator(func(_ context.Context, t *bearer.Token) error {
			if t.Subject() == "mallory" {
				return errors.New("banned")
			}
			return nil
		}),
		bearer.WithRevocation(rev))...)
	good := iss.MustMint(bearertest.Claims{"sub": "alice"})
	bad := map[string]string{
		"signature": resign(t, bearertest.MustIssuer(bearertest.ES256), good),
		"expired":   iss.MustMint(bearertest.Claims{"exp": time.Now().Add(-time.Hour).Unix()}),
		"audience":  iss.MustMint(bearertest.Claims{"aud": "other"}),
		"validator": iss.MustMint(bearertest.Claims{"sub": "mallory"}),
		"malformed": "abc",
	}
	for name, tok := range bad {
		_, err := m.Verify(ctx, tok)
		if err == nil || errors.Is(err, bearer.ErrRevoked) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("Revoker asked %d times about bad tokens", n)
	}
	if _, err := m.Verify(ctx, good); !errors.Is(err, bearer.ErrRevoked) || asked.Load() != 1 {
		t.Errorf("good token: %v, asked %d times", err, asked.Load())
	}
}

func TestRevocationConfig(t *testing.T) {
	rev := newMemoryRevoker(t)
	key := bearer.Secret(make([]byte, 32))
	for name, opts := range map[string][]bearer.Option{
		"nil Revoker":           {bearer.WithRevocation(nil)},
		"two Revokers":          {bearer.WithRevocation(rev), bearer.WithRevocation(rev)},
		"fail open, no Revoker": {bearer.WithRevocationFailOpen()},
	} {
		if _, err := bearer.New(key, anyIssuerAnyAudience(opts...)...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := bearer.New(key, anyIssuerAnyAudience(bearer.WithRevocationFailOpen(), bearer.WithRevocation(rev))...); err != nil {
		t.Errorf("fail open before WithRevocation: %v", err)
	}
	for name, opt := range map[string]bearer.RevokerOption{
		"zero lifetime":   bearer.RevokerMaxTokenLifetime(0),
		"negative leeway": bearer.RevokerLeeway(-time.Second),
		"nil clock":       bearer.RevokerClock(nil),
	} {
		if _, err := bearer.NewMemoryRevoker(opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRevocationListErrors(t *testing.T) {
	ctx := context.Background()
	iss := bearertest.MustIssuer(bearertest.ES256)
	rev := newMemoryRevoker(t)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithExpiryOptional())...)
	exp := time.Now().Add(time.Hour)

	if err := rev.RevokeToken(ctx, verify(t, m, iss.MustMint(bearertest.Claims{"sub": "alice"}))); !errors.Is(err, bearer.ErrNotRevocable) {
		t.Errorf("token without jti: %v", err)
	}
	if err := rev.RevokeToken(ctx, verify(t, m, iss.MustMint(bearertest.Claims{"jti": "j", "exp": nil}))); !errors.Is(err, bearer.ErrNotRevocable) {
		t.Errorf("token without exp: %v", err)
	}
	for name, err := range map[string]error{
		"nil token":          rev.RevokeToken(ctx, nil),
		"ID without expiry":  rev.RevokeID(ctx, "iss", "j", time.Time{}),
		"empty ID":           rev.RevokeID(ctx, "iss", "", exp),
		"empty subject":      rev.RevokeSubject(ctx, "iss", "", exp),
		"zero cut-off":       rev.RevokeSubject(ctx, "iss", "alice", time.Time{}),
		"unrevoke nothing":   rev.Unrevoke(ctx, bearer.Revocation{Issuer: "iss"}),
		"unrevoke two names": rev.Unrevoke(ctx, bearer.Revocation{TokenID: "j", Subject: "alice"}),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if list, _ := rev.List(ctx); len(list) != 0 {
		t.Errorf("List after refused changes: %v", list)
	}

	for _, c := range []struct {
		rev bearer.Revocation
		ok  bool
	}{
		{bearer.Revocation{TokenID: "j", Expires: exp}, true},
		{bearer.Revocation{Issuer: "i", Subject: "s", Before: exp}, true},
		{bearer.Revocation{TokenID: "j"}, false},
		{bearer.Revocation{Expires: exp}, false},
		{bearer.Revocation{Subject: "s"}, false},
		{bearer.Revocation{Before: exp}, false},
		{bearer.Revocation{TokenID: "j", Subject: "s", Before: exp, Expires: exp}, false},
	} {
		if err := bearer.CheckRevocation(c.rev); (err == nil) != c.ok {
			t.Errorf("CheckRevocation(%+v) = %v", c.rev, err)
		}
	}
}

func TestRevocationListOrder(t *testing.T) {
	ctx := context.Background()
	rev := newMemoryRevoker(t)
	exp := time.Now().Add(time.Hour).Round(0)
	rev.RevokeSubject(ctx, "b", "zed", exp)
	rev.RevokeID(ctx, "b", "j2", exp)
	rev.RevokeID(ctx, "a", "j9", exp)
	rev.RevokeID(ctx, "b", "j1", exp)
	rev.RevokeSubject(ctx, "a", "amy", exp)
	list, _ := rev.List(ctx)
	var got []string
	for _, r := range list {
		got = append(got, r.Issuer+"/"+r.TokenID+r.Subject)
	}
	if want := "a/j9 a/amy b/j1 b/j2 b/zed"; strings.Join(got, " ") != want {
		t.Errorf("List order %q, want %q", strings.Join(got, " "), want)
	}
}

// TestRevocationConcurrent revokes while requests are verified; run with
// -race. Every token revoked before the last wave of requests is refused.
func TestRevocationConcurrent(t *testing.T) {
	ctx := context.Background()
	iss := bearertest.MustIssuer(bearertest.HS256)
	rev := newMemoryRevoker(t)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithRevocation(rev))...)
	toks := make([]string, 64)
	for i := range toks {
		toks[i] = iss.MustMint(bearertest.Claims{"sub": fmt.Sprint("user", i%8), "jti": fmt.Sprint("j", i)})
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(toks); i += 4 {
				if err := rev.RevokeToken(ctx, verify(t, m, toks[i])); err != nil {
					t.Error(err)
				}
				rev.List(ctx)
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tok := range toks {
				m.Verify(ctx, tok)
			}
		}()
	}
	wg.Wait()
	for i, tok := range toks {
		if _, err := m.Verify(ctx, tok); !errors.Is(err, bearer.ErrRevoked) {
			t.Errorf("token %d: %v", i, err)
		}
	}
}

// TestRevocationAllocations: with a MemoryRevoker, a request for a token
// that is not revoked allocates nothing more.
func TestRevocationAllocations(t *testing.T) {
	if answertest.RaceEnabled {
		t.Skip("allocation counts are not exact under the race detector")
	}
	ctx := context.Background()
	iss := bearertest.MustIssuer(bearertest.HS256)
	rev := newMemoryRevoker(t)
	for i := range 1000 {
		rev.RevokeID(ctx, iss.Issuer(), fmt.Sprint("other-", i), time.Now().Add(time.Hour))
		rev.RevokeSubject(ctx, iss.Issuer(), fmt.Sprint("user-", i), time.Now())
	}
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "jti": "j1"})
	plain := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	revoking := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithRevocation(rev))...)
	allocs := func(m *bearer.Middleware) float64 {
		return testing.AllocsPerRun(200, func() {
			if _, err := m.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
		})
	}
	if without, with := allocs(plain), allocs(revoking); with > without {
		t.Errorf("allocations per Verify: %v with revocation, %v without", with, without)
	}
}

func BenchmarkMemoryRevoker(b *testing.B) {
	ctx := context.Background()
	iss := bearertest.MustIssuer(bearertest.HS256)
	rev, _ := bearer.NewMemoryRevoker()
	for i := range 10000 {
		rev.RevokeID(ctx, iss.Issuer(), fmt.Sprint("other-", i), time.Now().Add(time.Hour))
		rev.RevokeSubject(ctx, iss.Issuer(), fmt.Sprint("user-", i), time.Now())
	}
	m, _ := bearer.New(iss.KeySource(), anyIssuerAnyAudience(bearer.WithRevocation(rev))...)
	defer m.Close()
	tok, err := m.Verify(ctx, iss.MustMint(bearertest.Claims{"sub": "alice", "jti": "j1"}))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if revoked, _ := rev.Revoked(ctx, tok); revoked {
				b.Fatal("revoked")
			}
		}
	})
}
