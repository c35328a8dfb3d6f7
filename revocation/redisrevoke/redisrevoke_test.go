package redisrevoke_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/revocation/redisrevoke"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// noLeaks fails the test if it leaves a goroutine behind. Call it first:
// cleanups run last-in first-out, so the check runs after every other.
func noLeaks(t *testing.T, opts ...goleak.Option) {
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

// quiet is a logger for tests that lose Redis on purpose.
func quiet(t testing.TB) redisrevoke.Option {
	return redisrevoke.WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, nil)))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newRevoker(t testing.TB, client redis.UniversalClient, opts ...redisrevoke.Option) *redisrevoke.Revoker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := redisrevoke.New(ctx, client, append([]redisrevoke.Option{quiet(t)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// instance is one replica of a service: a Revoker and a middleware that
// uses it, behind a real HTTP server.
type instance struct {
	rev *redisrevoke.Revoker
	m   *bearer.Middleware
	url string
}

func newInstance(t testing.TB, rev *redisrevoke.Revoker, iss *bearertest.Issuer, opts ...bearer.Option) *instance {
	t.Helper()
	opts = append([]bearer.Option{bearer.WithRevocation(rev)}, opts...)
	m, err := bearer.New(iss.KeySource(), append([]bearer.Option{bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, bearer.Subject(r.Context()))
	})))
	t.Cleanup(srv.Close)
	return &instance{rev: rev, m: m, url: srv.URL}
}

// get sends tok to the instance and returns the status and the
// error_description of the answer.
func (in *instance) get(t *testing.T, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, in.url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	_, desc, _ := strings.Cut(res.Header.Get("WWW-Authenticate"), `error_description="`)
	return res.StatusCode, strings.TrimSuffix(desc, `"`)
}

func (in *instance) want(t *testing.T, tok string, status int) {
	t.Helper()
	if got, desc := in.get(t, tok); got != status {
		t.Fatalf("status %d (%s), want %d", got, desc, status)
	}
}

func (in *instance) wantRevoked(t *testing.T, tok string) {
	t.Helper()
	if got, desc := in.get(t, tok); got != 401 || desc != "token revoked" {
		t.Fatalf("answer %d %q, want 401 \"token revoked\"", got, desc)
	}
}

// eventually polls cond until it holds, failing after a deadline far
// beyond what it should take: timings are measured, not asserted.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (in *instance) verify(t *testing.T, tok string) *bearer.Token {
	t.Helper()
	v, err := in.m.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return v
}

// tokenOf verifies tok without revocation, for the admin calls that take
// a *bearer.Token.
func tokenOf(t testing.TB, iss *bearertest.Issuer, tok string) *bearer.Token {
	t.Helper()
	m, err := bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v, err := m.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return v
}

var jtis atomic.Int64

// mint returns a token of sub with a jti of its own.
func mint(iss *bearertest.Issuer, sub string, claims ...bearertest.Claims) string {
	c := bearertest.Claims{"sub": sub, "jti": fmt.Sprint("jti-", jtis.Add(1))}
	for _, more := range claims {
		for k, v := range more {
			c[k] = v
		}
	}
	return iss.MustMint(c)
}

func TestSharedAcrossInstances(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	addr, pfx := sharedAddr(t), prefix(t)
	iss := bearertest.MustIssuer(bearertest.ES256)
	a := newInstance(t, newRevoker(t, newClient(t, addr), redisrevoke.WithPrefix(pfx)), iss)
	b := newInstance(t, newRevoker(t, newClient(t, addr), redisrevoke.WithPrefix(pfx)), iss)

	// Revoke on A, refused on B: measure how long B takes to see it.
	last := propagation(t, a, b, iss)
	b.wantRevoked(t, last)
	a.wantRevoked(t, last)

	// Log out everywhere on B: A refuses alice's older tokens.
	older := mint(iss, "alice", bearertest.Claims{"iat": time.Now().Add(-time.Minute).Unix()})
	bob := mint(iss, "bob", bearertest.Claims{"iat": time.Now().Add(-time.Minute).Unix()})
	a.want(t, older, 200)
	if err := b.rev.RevokeSubject(ctx, iss.Issuer(), "alice", time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "subject revocation seen on A", func() bool { s, _ := a.get(t, older); return s == 401 })
	a.wantRevoked(t, older)
	a.want(t, bob, 200)

	// Un-revoke on B: A accepts again.
	if err := b.rev.Unrevoke(ctx, bearer.Revocation{Issuer: iss.Issuer(), Subject: "alice"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "un-revocation seen on A", func() bool { s, _ := a.get(t, older); return s == 200 })

	listA, err := a.rev.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listB, _ := b.rev.List(ctx)
	if len(listA) != 20 || fmt.Sprint(listA) != fmt.Sprint(listB) {
		t.Errorf("List on A (%d entries) and B (%d) differ or miss entries:\n%v\n%v", len(listA), len(listB), listA, listB)
	}
	for _, r := range listA {
		if r.Issuer != iss.Issuer() || r.Subject != "" || !strings.HasPrefix(r.TokenID, "jti-") {
			t.Errorf("entry %+v", r)
		}
	}
}

// propagation revokes 20 tokens on a and measures how long b takes to
// refuse each, checking that a refuses it as soon as RevokeToken returns
// and that the median stays within propagationBound. It returns the last
// token revoked.
func propagation(t *testing.T, a, b *instance, iss *bearertest.Issuer) string {
	t.Helper()
	ctx := context.Background()
	var delays []time.Duration
	var last string
	for range 20 {
		last = mint(iss, "alice")
		tok := b.verify(t, last)
		onA := a.verify(t, last)
		start := time.Now()
		if err := a.rev.RevokeToken(ctx, onA); err != nil {
			t.Fatal(err)
		}
		// At once on the instance that revoked, before its own message
		// could come back.
		if revoked, err := a.rev.Revoked(ctx, onA); !revoked || err != nil {
			t.Fatalf("on A right after RevokeToken: %v, %v", revoked, err)
		}
		for deadline := start.Add(15 * time.Second); ; time.Sleep(50 * time.Microsecond) {
			if revoked, err := b.rev.Revoked(ctx, tok); revoked && err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("revocation not seen on B within 15s")
			}
		}
		delays = append(delays, time.Since(start))
	}
	slices.Sort(delays)
	t.Logf("revoke on A → refused on B, 20 tokens: min %v, median %v, max %v (including A's round trip to Redis)",
		delays[0], delays[len(delays)/2], delays[len(delays)-1])
	// The package promises "within milliseconds": a generous bound, for a
	// busy machine under the race detector.
	if median := delays[len(delays)/2]; median > propagationBound {
		t.Errorf("median propagation %v, over %v", median, propagationBound)
	}
	return last
}

// propagationBound is the most a revocation may take to reach another
// instance, median over a run, on loopback: "within milliseconds" with room
// for a loaded machine.
const propagationBound = 50 * time.Millisecond

// TestEarlierEntriesChangeNothing: an entry revoked again with an earlier
// time (a subject's earlier cut-off, a token's earlier expiry), arriving
// after a later one, changes nothing in Redis either: an instance that
// loads the list afterwards still refuses the tokens issued between the two.
func TestEarlierEntriesChangeNothing(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	addr, pfx := sharedAddr(t), prefix(t)
	iss := bearertest.MustIssuer(bearertest.ES256)
	client := newClient(t, addr)
	first := newRevoker(t, client, redisrevoke.WithPrefix(pfx))
	now := time.Now().Truncate(time.Second)
	between := mint(iss, "alice", bearertest.Claims{"iat": now.Add(-time.Minute).Unix()})
	if err := first.RevokeSubject(ctx, iss.Issuer(), "alice", now); err != nil {
		t.Fatal(err)
	}
	if err := first.RevokeSubject(ctx, iss.Issuer(), "alice", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := first.RevokeID(ctx, iss.Issuer(), "j1", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := first.RevokeID(ctx, iss.Issuer(), "j1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	want, _ := first.List(ctx)
	if len(want) != 2 || !want[0].Expires.Equal(now.Add(2*time.Hour)) || !want[1].Before.Equal(now) {
		t.Errorf("List after earlier entries: %v", want)
	}
	loaded := newInstance(t, newRevoker(t, client, redisrevoke.WithPrefix(pfx)), iss)
	loaded.wantRevoked(t, between)
	if got, _ := loaded.rev.List(ctx); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List on a new instance:\n%v\nwant\n%v", got, want)
	}
}

// TestNewInstanceLoads: an instance started (or restarted) after the
// revocations were made knows them before New returns.
func TestNewInstanceLoads(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	addr, pfx := sharedAddr(t), prefix(t)
	iss := bearertest.MustIssuer(bearertest.EdDSA)
	client := newClient(t, addr)
	first := newRevoker(t, client, redisrevoke.WithPrefix(pfx))
	byID, bySub := mint(iss, "alice"), mint(iss, "bob", bearertest.Claims{"iat": time.Now().Add(-time.Minute).Unix()})
	if err := first.RevokeToken(ctx, tokenOf(t, iss, byID)); err != nil {
		t.Fatal(err)
	}
	if err := first.RevokeSubject(ctx, iss.Issuer(), "bob", time.Now()); err != nil {
		t.Fatal(err)
	}
	want, _ := first.List(ctx)
	first.Close()

	restarted := newInstance(t, newRevoker(t, client, redisrevoke.WithPrefix(pfx)), iss)
	restarted.wantRevoked(t, byID)
	restarted.wantRevoked(t, bySub)
	if got, _ := restarted.rev.List(ctx); len(want) != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List after restart:\n%v\nwant\n%v", got, want)
	}
}

// TestRedisRestart kills Redis mid-test and starts it again: instances
// answer by their policy while it is down and recover without a restart of
// their own.
func TestRedisRestart(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := ownRedis(t, aofAlways)
	iss := bearertest.MustIssuer(bearertest.ES256)
	a := newInstance(t, newRevoker(t, newClient(t, srv.addr), redisrevoke.WithMaxStaleness(0)), iss)
	bRev := newRevoker(t, newClient(t, srv.addr), redisrevoke.WithMaxStaleness(0))
	closed := newInstance(t, bRev, iss)
	open := newInstance(t, bRev, iss, bearer.WithRevocationFailOpen())

	revoked, good := mint(iss, "alice"), mint(iss, "alice")
	if err := a.rev.RevokeToken(ctx, a.verify(t, revoked)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "revocation seen on B", func() bool { s, _ := closed.get(t, revoked); return s == 401 })

	srv.stop()
	eventually(t, "B fails closed", func() bool { s, _ := closed.get(t, good); return s == 503 })
	open.want(t, good, 200)
	closed.wantRevoked(t, revoked) // what B knows stays known
	open.wantRevoked(t, revoked)
	if err := a.rev.RevokeToken(ctx, tokenOf(t, iss, good)); err == nil {
		t.Error("RevokeToken with Redis down: no error")
	}
	if _, err := a.rev.List(ctx); err == nil {
		t.Error("List with Redis down: no error")
	}

	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, "B recovers", func() bool { s, _ := closed.get(t, good); return s == 200 })
	t.Logf("B answered again %v after Redis came back", time.Since(start))
	closed.wantRevoked(t, revoked) // reloaded from Redis's persisted data
	eventually(t, "A recovers", func() bool { _, err := a.rev.List(ctx); return err == nil })
	if err := a.rev.RevokeToken(ctx, tokenOf(t, iss, good)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B subscribed again", func() bool { s, _ := closed.get(t, good); return s == 401 })
}

// nearAndBehindProxy returns two instances sharing a list in the shared
// Redis: a reaches it directly, b through a proxy the test can cut, and
// fails as soon as it sees the loss (WithMaxStaleness(0)).
func nearAndBehindProxy(t *testing.T, iss *bearertest.Issuer) (a, b *instance, p *proxy) {
	t.Helper()
	addr, pfx := sharedAddr(t), prefix(t)
	p = newProxy(t, addr)
	a = newInstance(t, newRevoker(t, newClient(t, addr), redisrevoke.WithPrefix(pfx)), iss)
	b = newInstance(t, newRevoker(t, newClient(t, p.addr), redisrevoke.WithPrefix(pfx), redisrevoke.WithMaxStaleness(0)), iss)
	return a, b, p
}

// TestLostMessagesReload: changes published while an instance is cut off
// from Redis are lost to it; it must reload the whole list on reconnecting.
func TestLostMessagesReload(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	iss := bearertest.MustIssuer(bearertest.ES256)
	a, b, p := nearAndBehindProxy(t, iss)

	unrevoked, revoked := mint(iss, "alice"), mint(iss, "bob")
	if err := a.rev.RevokeToken(ctx, a.verify(t, unrevoked)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "revocation seen on B", func() bool { s, _ := b.get(t, unrevoked); return s == 401 })

	p.setCut(true)
	eventually(t, "B sees the loss", func() bool { s, _ := b.get(t, revoked); return s == 503 })
	// Made while B is away: B gets neither message.
	if err := a.rev.RevokeToken(ctx, a.verify(t, revoked)); err != nil {
		t.Fatal(err)
	}
	if err := a.rev.Unrevoke(ctx, bearer.Revocation{Issuer: iss.Issuer(), TokenID: tokenOf(t, iss, unrevoked).ID()}); err != nil {
		t.Fatal(err)
	}
	p.setCut(false)
	start := time.Now()
	eventually(t, "B reloads", func() bool { s, _ := b.get(t, revoked); return s == 401 })
	t.Logf("B reloaded %v after the network came back", time.Since(start))
	b.wantRevoked(t, revoked)
	b.want(t, unrevoked, 200)
}

// testClock is a clock the test moves; the Revoker reads it concurrently.
type testClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestRedisUnreachable: under either policy, a token known to be revoked
// stays refused; others are refused with 503 (fail closed) or accepted
// (fail open) once Redis has been gone for longer than WithMaxStaleness.
func TestRedisUnreachable(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	addr, pfx := sharedAddr(t), prefix(t)
	p := newProxy(t, addr)
	clock := newClock(time.Now())
	iss := bearertest.MustIssuer(bearertest.ES256)
	rev := newRevoker(t, newClient(t, p.addr), redisrevoke.WithPrefix(pfx), redisrevoke.WithClock(clock.Now)) // default staleness, 5s
	closed := newInstance(t, rev, iss, bearer.WithRealm("api"))
	open := newInstance(t, rev, iss, bearer.WithRevocationFailOpen())
	revoked, good := mint(iss, "alice"), mint(iss, "alice")
	if err := rev.RevokeToken(ctx, tokenOf(t, iss, revoked)); err != nil {
		t.Fatal(err)
	}

	p.setCut(true)
	clock.Advance(redisrevoke.DefaultMaxStaleness + time.Second)
	eventually(t, "the loss is seen", func() bool { s, _ := closed.get(t, good); return s == 503 })

	// The answers, exactly.
	req, _ := http.NewRequest(http.MethodGet, closed.url, nil)
	req.Header.Set("Authorization", "Bearer "+good)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := `{"error":"temporarily_unavailable","error_description":"revocation status unavailable"}`; strings.TrimSpace(string(body)) != want ||
		res.Header.Get("Retry-After") == "" || res.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("fail closed: %d %v %s", res.StatusCode, res.Header, body)
	}
	_, err = closed.m.Verify(ctx, good)
	if !errors.Is(err, bearer.ErrRevocationUnavailable) || !errors.Is(err, redisrevoke.ErrStale) {
		t.Errorf("Verify: %v", err)
	}
	closed.wantRevoked(t, revoked)
	open.want(t, good, 200)
	open.wantRevoked(t, revoked)

	// Within WithMaxStaleness of the last contact, the list still counts.
	clock.Advance(-2 * time.Second)
	closed.want(t, good, 200)

	p.setCut(false)
	clock.Advance(time.Hour)
	eventually(t, "recovery", func() bool { s, _ := closed.get(t, good); return s == 200 })
}

// TestHungRedis: a Redis that stops answering but keeps its connections
// open is found out by the heartbeat.
func TestHungRedis(t *testing.T) {
	noLeaks(t)
	srv := ownRedis(t, noPersistence)
	iss := bearertest.MustIssuer(bearertest.ES256)
	in := newInstance(t, newRevoker(t, newClient(t, srv.addr), redisrevoke.WithMaxStaleness(0)), iss)
	good := mint(iss, "alice")
	in.want(t, good, 200)

	srv.pause()
	start := time.Now()
	eventually(t, "the hang is seen", func() bool { s, _ := in.get(t, good); return s == 503 })
	t.Logf("hang seen after %v", time.Since(start))
	srv.resume()
	eventually(t, "recovery", func() bool { s, _ := in.get(t, good); return s == 200 })
}

func TestNewFailsWithoutRedis(t *testing.T) {
	noLeaks(t)
	p := newProxy(t, "127.0.0.1:1")
	p.setCut(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r, err := redisrevoke.New(ctx, newClient(t, p.addr), quiet(t))
	if err == nil {
		r.Close()
		t.Fatal("New without Redis: no error")
	}
	t.Log(err)
}

// TestEntriesExpire: Redis drops each entry when the tokens it covers have
// expired, plus the leeway.
func TestEntriesExpire(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	addr, pfx := sharedAddr(t), prefix(t)
	client := newClient(t, addr)
	ttlOf := func() time.Duration {
		t.Helper()
		keys, err := client.Keys(ctx, "{"+pfx+"}*").Result()
		if err != nil || len(keys) != 1 {
			t.Fatalf("keys %v, %v; want one", keys, err)
		}
		ttl, err := client.PTTL(ctx, keys[0]).Result()
		if err != nil {
			t.Fatal(err)
		}
		client.Del(ctx, keys[0])
		return ttl
	}
	within := func(what string, got, want time.Duration) {
		t.Helper()
		if got > want+time.Second || got < want-5*time.Second {
			t.Errorf("%s: TTL %v, want about %v", what, got, want)
		}
	}
	rev := newRevoker(t, client, redisrevoke.WithPrefix(pfx), redisrevoke.WithMaxTokenLifetime(time.Hour))
	now := time.Now()
	if err := rev.RevokeID(ctx, "iss", "j1", now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	within("by ID", ttlOf(), 10*time.Minute+bearer.DefaultLeeway)
	if err := rev.RevokeSubject(ctx, "iss", "alice", now); err != nil {
		t.Fatal(err)
	}
	within("by subject", ttlOf(), time.Hour+bearer.DefaultLeeway)
	if err := rev.RevokeID(ctx, "iss", "old", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if keys, _ := client.Keys(ctx, "{"+pfx+"}*").Result(); len(keys) != 0 {
		t.Errorf("revoking an expired token stored %v", keys)
	}

	// Watch one go: a token that expires in a second, with no leeway.
	short := newRevoker(t, client, redisrevoke.WithPrefix(pfx), redisrevoke.WithLeeway(0))
	if err := short.RevokeID(ctx, "iss", "j2", time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if list, _ := short.List(ctx); len(list) != 1 {
		t.Fatalf("List: %v", list)
	}
	eventually(t, "the entry expires", func() bool {
		n, err := client.Exists(ctx, "{"+pfx+"}id:3:iss:j2").Result()
		return err == nil && n == 0
	})
	if list, _ := short.List(ctx); len(list) != 0 {
		t.Errorf("List after expiry: %v", list)
	}
}

// TestMalformedInput: garbage on the channel or under the prefix is
// ignored, and the Revoker goes on working.
func TestMalformedInput(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	addr, pfx := sharedAddr(t), prefix(t)
	client := newClient(t, addr)
	for _, key := range []string{"id:zzz", "sub:3:is", "id:3:iss:", "other", "id:3:iss:j"} {
		client.Set(ctx, "{"+pfx+"}"+key, "not a number", time.Minute)
	}
	iss := bearertest.MustIssuer(bearertest.ES256)
	a := newInstance(t, newRevoker(t, client, redisrevoke.WithPrefix(pfx)), iss)
	b := newInstance(t, newRevoker(t, newClient(t, addr), redisrevoke.WithPrefix(pfx)), iss)
	if list, err := a.rev.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List: %v, %v", list, err)
	}
	for _, msg := range []string{"", "+", "-", "+abc id:3:iss:x", "-nonsense", "+123 id:99:x:y", "+123 sub:3:iss:", "*"} {
		client.Publish(ctx, "{"+pfx+"}events", msg)
	}
	tok := mint(iss, "alice")
	if err := a.rev.RevokeToken(ctx, tokenOf(t, iss, tok)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B still applies changes", func() bool { s, _ := b.get(t, tok); return s == 401 })
}

// TestPrefixes: the prefix is taken literally, glob characters included,
// so that lists under other prefixes stay apart.
func TestPrefixes(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	addr, pfx := sharedAddr(t), prefix(t)
	client := newClient(t, addr)
	globbed := newRevoker(t, client, redisrevoke.WithPrefix("g[ab]*:"+pfx))
	other := newRevoker(t, client, redisrevoke.WithPrefix("gaXYZ:"+pfx)) // matched by g[ab]*: as a pattern
	if err := other.RevokeSubject(ctx, "iss", "alice", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := globbed.RevokeID(ctx, "iss", "j1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	list, err := globbed.List(ctx)
	if err != nil || len(list) != 1 || list[0].TokenID != "j1" {
		t.Errorf("List under a globbing prefix: %v, %v", list, err)
	}
	list, _ = other.List(ctx)
	if len(list) != 1 || list[0].Subject != "alice" {
		t.Errorf("List under the other prefix: %v", list)
	}
}

func TestArguments(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	for name, opt := range map[string]redisrevoke.Option{
		"empty prefix":       redisrevoke.WithPrefix(""),
		"braces in prefix":   redisrevoke.WithPrefix("a{b}:"),
		"negative staleness": redisrevoke.WithMaxStaleness(-time.Second),
		"zero lifetime":      redisrevoke.WithMaxTokenLifetime(0),
		"negative leeway":    redisrevoke.WithLeeway(-time.Second),
		"nil clock":          redisrevoke.WithClock(nil),
		"nil logger":         redisrevoke.WithLogger(nil),
	} {
		if _, err := redisrevoke.New(ctx, client, opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := redisrevoke.New(ctx, nil); err == nil {
		t.Error("nil client: no error")
	}

	rev := newRevoker(t, newClient(t, sharedAddr(t)), redisrevoke.WithPrefix(prefix(t)), redisrevoke.WithMaxStaleness(0))
	iss := bearertest.MustIssuer(bearertest.ES256)
	if err := rev.RevokeToken(ctx, tokenOf(t, iss, iss.MustMint(nil))); !errors.Is(err, bearer.ErrNotRevocable) {
		t.Errorf("token without jti: %v", err)
	}
	for name, err := range map[string]error{
		"nil token":         rev.RevokeToken(ctx, nil),
		"ID without expiry": rev.RevokeID(ctx, "iss", "j", time.Time{}),
		"zero cut-off":      rev.RevokeSubject(ctx, "iss", "alice", time.Time{}),
		"unrevoke nothing":  rev.Unrevoke(ctx, bearer.Revocation{Issuer: "iss"}),
		"unrevoke both":     rev.Unrevoke(ctx, bearer.Revocation{TokenID: "j", Subject: "s"}),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := rev.Close(); err != nil {
		t.Error(err)
	}
	if _, err := rev.Revoked(ctx, tokenOf(t, iss, iss.MustMint(nil))); !errors.Is(err, redisrevoke.ErrStale) {
		t.Errorf("Revoked after Close: %v, want ErrStale", err)
	}
	if err := rev.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestQuietSubscription: a subscription with nothing to say is checked by
// PING, and the answers keep the list current: no false alarm.
func TestQuietSubscription(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	iss := bearertest.MustIssuer(bearertest.ES256)
	rev := newRevoker(t, newClient(t, sharedAddr(t)), redisrevoke.WithPrefix(prefix(t)), redisrevoke.WithMaxStaleness(0))
	tok := tokenOf(t, iss, mint(iss, "alice"))
	for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, err := rev.Revoked(ctx, tok); err != nil {
			t.Fatalf("quiet for a while: %v", err)
		}
	}
}
