package redisrevoke_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/revocation/redisrevoke"
	"github.com/redis/go-redis/v9"
)

// TestReplayAcrossInstances: a DPoP proof accepted by one instance is a
// replay on another that shares Redis, within the proof's window.
func TestReplayAcrossInstances(t *testing.T) {
	noLeaks(t)
	addr := sharedAddr(t)
	pre := prefix(t)
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	instance := func() *httptest.Server {
		// Each instance has its own client, as separate processes would.
		cache := redisrevoke.ReplayCache(newClient(t, addr), pre)
		m, err := bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience), bearer.WithDPoP(bearer.DPoP{BaseURL: "https://api.example.com", Replay: cache}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, bearer.Subject(r.Context()))
		})))
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := instance(), instance()
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})
	send := func(srv *httptest.Server, proof string) (int, string) {
		res := sendDPoP(t, srv.URL+"/orders", tok, proof)
		return res.StatusCode, strings.Join(res.Header.Values("WWW-Authenticate"), " | ")
	}
	proof := key.MustProof("GET", "https://api.example.com/orders", tok)
	if code, c := send(a, proof); code != 200 {
		t.Fatalf("instance A: %d %s", code, c)
	}
	if code, c := send(b, proof); code != 401 || !strings.Contains(c, `error_description="DPoP proof replayed"`) {
		t.Errorf("replay on instance B: %d %s", code, c)
	}
	if code, c := send(a, proof); code != 401 || !strings.Contains(c, "replayed") {
		t.Errorf("replay on instance A: %d %s", code, c)
	}
	if code, c := send(b, key.MustProof("GET", "https://api.example.com/orders", tok)); code != 200 {
		t.Errorf("fresh proof on instance B: %d %s", code, c)
	}
}

func TestReplayCacheExpiry(t *testing.T) {
	noLeaks(t)
	client := newClient(t, sharedAddr(t))
	pre := prefix(t)
	cache := redisrevoke.ReplayCache(client, pre)
	ctx := context.Background()
	// The times are the middleware's clock, far from Redis's: the expiry
	// is the time left in the window, rounded up to a millisecond.
	now := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	p := bearer.ProofID{Key: "jkt", JTI: "1", Now: now, Until: now.Add(time.Minute - 1500*time.Microsecond)}
	if fresh, err := cache.Remember(ctx, p); !fresh || err != nil {
		t.Fatalf("first: %v %v", fresh, err)
	}
	if fresh, err := cache.Remember(ctx, p); fresh || err != nil {
		t.Fatalf("second: %v %v", fresh, err)
	}
	ttl, err := client.PTTL(ctx, pre+"jkt:1").Result()
	if err != nil || ttl < time.Minute-time.Second || ttl > time.Minute-time.Millisecond {
		t.Errorf("TTL %v %v, want 59.999 s less the time since", ttl, err)
	}
	// A window that has closed while the proof was checked still keeps its
	// id for a millisecond: Redis takes no expiry of 0.
	p = bearer.ProofID{Key: "jkt", JTI: "2", Now: now, Until: now}
	if fresh, err := cache.Remember(ctx, p); !fresh || err != nil {
		t.Fatalf("closed window: %v %v", fresh, err)
	}
}

// TestReplayKeptUntilWindowCloses: an id is kept until the window closes,
// not to the second before it. A proof whose window ends 0.9 s past a whole
// second is replayed in that last 0.9 s, against a real Redis, and refused.
func TestReplayKeptUntilWindowCloses(t *testing.T) {
	noLeaks(t)
	cache := redisrevoke.ReplayCache(newClient(t, sharedAddr(t)), prefix(t))
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	m, err := bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience), bearer.WithDPoP(bearer.DPoP{Replay: cache}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	t.Cleanup(srv.Close)
	tok := iss.MustMint(bearertest.Claims{"cnf": key.Confirmation()})

	end := time.Now().Truncate(time.Second).Add(2*time.Second + 900*time.Millisecond)
	c := key.ProofClaims("GET", srv.URL, tok)
	c["iat"] = float64(end.Add(-bearer.DefaultDPoPWindow).UnixMilli()) / 1e3 // a NumericDate with a fraction
	proof, err := key.ProofWith(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	if code := sendDPoP(t, srv.URL, tok, proof).StatusCode; code != 200 {
		t.Fatalf("first use: %d", code)
	}
	time.Sleep(time.Until(end.Truncate(time.Second).Add(100 * time.Millisecond)))
	if code := sendDPoP(t, srv.URL, tok, proof).StatusCode; code != 401 {
		t.Errorf("replay %v before the window closes: %d, want 401", time.Until(end).Round(time.Millisecond), code)
	}
}

func TestReplayCacheUnreachable(t *testing.T) {
	noLeaks(t)
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { client.Close() })
	cache := redisrevoke.ReplayCache(client, "")
	now := time.Now()
	if _, err := cache.Remember(context.Background(), bearer.ProofID{Key: "k", JTI: "x", Now: now, Until: now.Add(time.Minute)}); err == nil || errors.Is(err, redis.Nil) {
		t.Errorf("unreachable Redis: %v", err)
	}

	// The middleware refuses the proof: 503, not an unchecked pass.
	wantReplayUnavailable(t, cache)
}

// wantReplayUnavailable checks that a middleware with cache answers a
// fresh DPoP proof with 503 and Retry-After.
func wantReplayUnavailable(t *testing.T, cache bearer.ReplayCache) {
	t.Helper()
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	m, err := bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience), bearer.WithDPoP(bearer.DPoP{Replay: cache}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer srv.Close()
	tok := iss.MustMint(bearertest.Claims{"cnf": key.Confirmation()})
	res := sendDPoP(t, srv.URL, tok, key.MustProof("GET", srv.URL, tok))
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
		t.Errorf("DPoP proof: %d %v, want 503 with Retry-After", res.StatusCode, res.Header)
	}
}

// sendDPoP sends a GET of url with a DPoP token and proof, and returns the
// answer, its body closed.
func sendDPoP(t *testing.T, url, token, proof string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "DPoP "+token)
	req.Header.Set("DPoP", proof)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestReplayWaitsForReplicas: Redis replicates asynchronously, so a proof
// id that its master accepted and then lost in a failover lets the proof
// through again; WaitForReplicas refuses a proof (503) until a replica
// holds its id.
func TestReplayWaitsForReplicas(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	primary := ownRedis(t, noPersistence, "--repl-diskless-sync-delay", "0")
	link := newProxy(t, primary.addr) // the replication link, which the test cuts
	host, port, _ := net.SplitHostPort(link.addr)
	replica := ownRedis(t, noPersistence, "--replicaof", host, port)
	client := newClient(t, primary.addr)
	eventually(t, "the replica in sync", func() bool {
		info, _ := client.Info(ctx, "replication").Result()
		return strings.Contains(info, "connected_slaves:1") && strings.Contains(info, "state=online")
	})
	waiting := redisrevoke.ReplayCache(client, "", redisrevoke.WaitForReplicas(1, 200*time.Millisecond))
	plain := redisrevoke.ReplayCache(client, "")
	now := time.Now()
	id := func(jti string) bearer.ProofID {
		return bearer.ProofID{Key: "jkt", JTI: jti, Now: now, Until: now.Add(time.Minute)}
	}
	if fresh, err := waiting.Remember(ctx, id("replicated")); !fresh || err != nil {
		t.Fatalf("with the replica up: %v, %v", fresh, err)
	}

	link.setCut(true) // replication stops: what a master dying now would lose
	if fresh, err := waiting.Remember(ctx, id("unreplicated")); fresh || !errors.Is(err, redisrevoke.ErrNotReplicated) {
		t.Errorf("with the replica behind: %v, %v; want ErrNotReplicated", fresh, err)
	}
	if fresh, err := plain.Remember(ctx, id("accepted")); !fresh || err != nil {
		t.Fatalf("without WaitForReplicas: %v, %v", fresh, err)
	}
	// The middleware answers 503 for the proof it cannot make safe.
	wantReplayUnavailable(t, waiting)

	// The master dies; the replica takes over.
	primary.stop()
	promoted := newClient(t, replica.addr)
	if err := promoted.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	after := redisrevoke.ReplayCache(promoted, "")
	if fresh, err := after.Remember(ctx, id("replicated")); fresh || err != nil {
		t.Errorf("a proof accepted with WaitForReplicas, replayed after the failover: %v, %v; want a replay", fresh, err)
	}
	if fresh, _ := after.Remember(ctx, id("accepted")); !fresh {
		t.Error("a proof accepted without WaitForReplicas was kept by the replica: the test shows nothing")
	}
}
