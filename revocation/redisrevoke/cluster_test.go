package redisrevoke_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/revocation/redisrevoke"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// The Redis Cluster tests run against the cluster REDIS_CLUSTER_ADDRS names
// (comma-separated; .ci/redis-cluster starts one: three masters, three
// replicas). Without it they skip, and say so even without -v (TestMain),
// except in CI (BEARER_CI set), where they fail.

const noClusterMessage = `REDIS_CLUSTER_ADDRS is not set: the Redis Cluster tests do not run; start one with eval "$(.ci/redis-cluster start)"`

// clusterAddrs returns the cluster's addresses.
func clusterAddrs(t testing.TB) []string {
	t.Helper()
	addrs := os.Getenv("REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		if os.Getenv("BEARER_CI") != "" {
			t.Fatalf("%s (BEARER_CI is set: a Redis Cluster is required)", noClusterMessage)
		}
		t.Skip(noClusterMessage)
	}
	list := strings.Split(addrs, ",")
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: list})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error { return node.Ping(ctx).Err() }); err != nil {
		unavailable(t, "Redis Cluster at %s: %v", addrs, err)
	}
	return list
}

// newClusterClient returns a client of the cluster, closed with the test.
func newClusterClient(t testing.TB, addrs []string) *redis.ClusterClient {
	t.Helper()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestCluster: on a Redis Cluster, revocations reach every instance,
// changes and removals included, a new instance loads the whole list, and
// the list keeps to one hash slot.
func TestCluster(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	// Glob characters in the prefix: the list is found on the master of
	// its hash slot, not where a SCAN of that pattern would be sent.
	addrs, pfx := clusterAddrs(t), "g[ab]*:"+prefix(t)
	iss := bearertest.MustIssuer(bearertest.ES256)
	client := newClusterClient(t, addrs)
	a := newInstance(t, newRevoker(t, client, redisrevoke.WithPrefix(pfx)), iss)
	b := newInstance(t, newRevoker(t, newClusterClient(t, addrs), redisrevoke.WithPrefix(pfx)), iss)

	last := propagation(t, a, b, iss)
	b.wantRevoked(t, last)
	older := mint(iss, "bob", bearertest.Claims{"iat": time.Now().Add(-time.Minute).Unix()})
	if err := b.rev.RevokeSubject(ctx, iss.Issuer(), "bob", time.Now()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "subject revocation seen on A", func() bool { s, _ := a.get(t, older); return s == 401 })
	if err := a.rev.Unrevoke(ctx, bearer.Revocation{Issuer: iss.Issuer(), TokenID: tokenOf(t, iss, last).ID()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "removal seen on B", func() bool { s, _ := b.get(t, last); return s == 200 })

	loaded := newInstance(t, newRevoker(t, newClusterClient(t, addrs), redisrevoke.WithPrefix(pfx)), iss)
	loaded.wantRevoked(t, older)
	loaded.want(t, last, 200)
	listA, err := a.rev.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listLoaded, _ := loaded.rev.List(ctx)
	if len(listA) != 20 || fmt.Sprint(listA) != fmt.Sprint(listLoaded) {
		t.Errorf("List on A (%d entries) and on a new instance (%d) differ or miss entries", len(listA), len(listLoaded))
	}

	// One slot: the whole list on one master, as its loads assume (20
	// entries and the removed one's tombstone).
	var (
		mu    sync.Mutex
		slots []int64
	)
	err = client.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		keys, err := node.Keys(ctx, strings.NewReplacer("[", `\[`, "]", `\]`, "*", `\*`).Replace("{"+pfx+"}")+"*").Result()
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			slots = append(slots, node.ClusterKeySlot(ctx, k).Val())
		}
		return err
	})
	if slices.Sort(slots); err != nil || len(slots) != 21 || slots[0] != slots[len(slots)-1] {
		t.Errorf("the list's keys are in slots %v (%v); want 21 keys in one", slots, err)
	}
}

// failoverStaleness is WithMaxStaleness for the instances of the failover
// test: above the longest failover measured on the test cluster (about 4 s
// with cluster-node-timeout 1000, and the instances back within another
// second), so that the test can require no 503 for revocation status
// without depending on how fast a loaded machine fails over. The default,
// 5 s, was enough in every run measured (see docs/redis.md).
const failoverStaleness = 10 * time.Second

// dpopInstance is an instance that also checks DPoP proofs, with its replay
// cache on the cluster.
func dpopInstance(t *testing.T, addrs []string, pfx, replayPfx string, iss *bearertest.Issuer, opts ...redisrevoke.ReplayOption) *instance {
	t.Helper()
	client := newClusterClient(t, addrs)
	rev := newRevoker(t, client, redisrevoke.WithPrefix(pfx), redisrevoke.WithMaxStaleness(failoverStaleness))
	return newInstance(t, rev, iss, bearer.WithDPoP(bearer.DPoP{
		BaseURL: "https://api.example.com",
		Replay:  redisrevoke.ReplayCache(client, replayPfx, opts...),
	}))
}

// send sends tok with proof and returns the status and the
// error_description of the answer (from the body for a 503).
func (in *instance) send(t *testing.T, tok, proof string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, in.url+"/orders", nil)
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", proof)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, err.Error()
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	_, desc, _ := strings.Cut(string(body), `"error_description":"`)
	desc, _, _ = strings.Cut(desc, `"`)
	return res.StatusCode, desc
}

// TestClusterReplay: the DPoP replay cache on a cluster, its ids spread
// over every master: a proof accepted by one instance is a replay on the
// other.
func TestClusterReplay(t *testing.T) {
	noLeaks(t)
	addrs := clusterAddrs(t)
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	replayPfx := prefix(t)
	a := dpopInstance(t, addrs, prefix(t), replayPfx, iss, redisrevoke.WaitForReplicas(1, time.Second))
	b := dpopInstance(t, addrs, prefix(t), replayPfx, iss)
	tok := mint(iss, "alice", bearertest.Claims{"cnf": key.Confirmation()})
	for i := range 30 {
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		proof := key.MustProof("GET", "https://api.example.com/orders", tok)
		if s, desc := first.send(t, tok, proof); s != 200 {
			t.Fatalf("proof %d: %d %s", i, s, desc)
		}
		if s, desc := second.send(t, tok, proof); s != 401 || desc != "DPoP proof replayed" {
			t.Fatalf("replay %d on the other instance: %d %s", i, s, desc)
		}
	}
	var masters atomic.Int64
	newClusterClient(t, addrs).ForEachMaster(context.Background(), func(ctx context.Context, node *redis.Client) error {
		if keys, _ := node.Keys(ctx, replayPfx+"*").Result(); len(keys) > 0 {
			masters.Add(1)
		}
		return nil
	})
	if masters := masters.Load(); masters < 2 {
		t.Errorf("30 proof ids on %d master(s): not spread by hash slot", masters)
	}
}

// TestClusterFailover kills (kill -9) the master that holds the list while
// two instances revoke tokens and check DPoP proofs, and lets a replica
// take over. No revocation acknowledged is lost, no replayed proof is
// accepted, no revoked token is accepted longer than the staleness bound
// after its revocation, and 503s come only while the failover lasts (the
// list rides it out within WithMaxStaleness; the replay check answers 503
// for the ids of the failing master). The failover window is measured.
func TestClusterFailover(t *testing.T) {
	noLeaksAfterProbes(t)
	ctx := context.Background()
	addrs, pfx, replayPfx := clusterAddrs(t), prefix(t), prefix(t)
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	wait := redisrevoke.WaitForReplicas(1, 500*time.Millisecond)
	a := dpopInstance(t, addrs, pfx, replayPfx, iss, wait)
	b := dpopInstance(t, addrs, pfx, replayPfx, iss, wait)
	bound := func() string { return mint(iss, "alice", bearertest.Claims{"cnf": key.Confirmation()}) }
	proof := func(tok string) string { return key.MustProof("GET", "https://api.example.com/orders", tok) }

	type revocation struct {
		tok string
		at  time.Time // acknowledged
	}
	var (
		mu                       sync.Mutex
		acked                    []revocation
		accepted                 []string // "token proof", answered 200
		killed, revokedAgain     time.Time
		revocation503, replay503 []time.Duration // since the kill
		staleAccepts             []time.Duration // a revoked token accepted, this long after its revocation
		bad                      []string
	)
	since := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		if killed.IsZero() {
			return -1
		}
		return time.Since(killed)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
	defer halt() // also when the test fails early
	// Revokes on A without pause.
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			jti := fmt.Sprint("failover-", jtis.Add(1))
			tok := iss.MustMint(bearertest.Claims{"sub": "alice", "jti": jti, "cnf": key.Confirmation()})
			start := time.Now()
			err := a.rev.RevokeID(ctx, iss.Issuer(), jti, start.Add(bearertest.DefaultTTL+time.Minute))
			mu.Lock()
			if err == nil {
				acked = append(acked, revocation{tok, time.Now()})
				// The first one asked after the kill: not one the old
				// master answered just before.
				if !killed.IsZero() && start.After(killed) && revokedAgain.IsZero() {
					revokedAgain = time.Now()
				}
			}
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	})
	// Fresh tokens and proofs on B, replays on A, revoked tokens on B.
	var requests atomic.Int64
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			requests.Add(1)
			tok := bound()
			p := proof(tok)
			s, desc := b.send(t, tok, p)
			at := since()
			mu.Lock()
			switch {
			case s == 200:
				accepted = append(accepted, tok+" "+p)
			case s == 503 && desc == "revocation status unavailable":
				revocation503 = append(revocation503, at)
			case s == 503:
				replay503 = append(replay503, at)
			default:
				bad = append(bad, fmt.Sprintf("fresh proof at %v: %d %s", at, s, desc))
			}
			var replay string
			var revoked revocation
			if len(accepted) > 0 {
				replay = accepted[i%len(accepted)]
			}
			if len(acked) > 0 {
				revoked = acked[i%len(acked)]
			}
			mu.Unlock()
			if tok, p, ok := strings.Cut(replay, " "); ok {
				if s, desc := a.send(t, tok, p); s == 200 {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("replay accepted at %v", since()))
					mu.Unlock()
				} else if s != 401 && s != 503 {
					t.Errorf("replay: %d %s", s, desc)
				}
			}
			if revoked.tok != "" {
				if s, _ := b.send(t, revoked.tok, proof(revoked.tok)); s == 200 {
					mu.Lock()
					staleAccepts = append(staleAccepts, time.Since(revoked.at))
					mu.Unlock()
				}
			}
		}
	})

	time.Sleep(500 * time.Millisecond)
	master, err := newClusterClient(t, addrs).MasterForKey(ctx, "{"+pfx+"}")
	if err != nil {
		t.Fatal(err)
	}
	node := killNode(t, master)
	mu.Lock()
	killed = time.Now()
	mu.Unlock()
	t.Logf("killed the list's master %s (pid %d)", master.Options().Addr, node.pid)

	// Until revocations are written again and B hears of them, then half
	// a second more of load.
	eventually(t, "revocations written again", func() bool { mu.Lock(); defer mu.Unlock(); return !revokedAgain.IsZero() })
	var bBack time.Duration
	eventually(t, "B hears of revocations again", func() bool {
		mu.Lock()
		newest := acked[len(acked)-1].tok
		mu.Unlock()
		s, _ := b.send(t, newest, proof(newest))
		bBack = since()
		return s == 401
	})
	time.Sleep(500 * time.Millisecond)
	halt()

	mu.Lock()
	defer mu.Unlock()
	window := revokedAgain.Sub(killed)
	t.Logf("failover window (kill -9 → the next revocation written): %v; B hears of revocations again %v after the kill; %d requests, %d revocations acknowledged, %d proofs accepted",
		window, bBack, requests.Load(), len(acked), len(accepted))
	t.Logf("503s on B: %d for revocation status %v, %d for the replay check %v (since the kill)",
		len(revocation503), revocation503, len(replay503), replay503)
	t.Logf("revoked tokens accepted on B before it heard of the revocation: %d, at most %v after it", len(staleAccepts), slices.Max(append(staleAccepts, 0)))
	for _, s := range bad {
		t.Error(s)
	}
	for _, d := range staleAccepts {
		if d > failoverStaleness {
			t.Errorf("a revoked token accepted %v after its revocation, beyond the staleness bound", d)
		}
	}
	// A failover of a few seconds is over, and B back, within the
	// staleness bound: no 503 for revocation status at all.
	if bBack >= failoverStaleness {
		t.Errorf("B back %v after the kill, not within the staleness bound %v", bBack, failoverStaleness)
	}
	// In any case, 503s only once the bound has passed, until B is back.
	for _, at := range revocation503 {
		if at < failoverStaleness || at > bBack {
			t.Errorf("a 503 for revocation status %v after the kill, outside [%v, %v]", at, failoverStaleness, bBack)
		}
	}
	for _, at := range replay503 {
		if at < 0 || at > window+time.Second {
			t.Errorf("a 503 for the replay check %v after the kill, outside the failover window %v", at, window)
		}
	}

	// Nothing lost: every acknowledged revocation on both instances and on
	// one started now; every accepted proof is a replay now.
	c := dpopInstance(t, addrs, pfx, replayPfx, iss)
	for i, in := range []*instance{a, b, c} {
		lost := 0
		for _, r := range acked {
			if s, desc := in.send(t, r.tok, proof(r.tok)); s != 401 || desc != "token revoked" {
				if lost++; lost == 1 {
					t.Errorf("instance %c: a revocation acknowledged %v after the kill: %d %s", "ABC"[i], r.at.Sub(killed), s, desc)
				}
			}
		}
		if lost > 0 {
			t.Errorf("instance %c: %d of %d acknowledged revocations lost", "ABC"[i], lost, len(acked))
		}
	}
	for _, tp := range accepted {
		tok, p, _ := strings.Cut(tp, " ")
		if s, desc := c.send(t, tok, p); s != 401 || desc != "DPoP proof replayed" {
			t.Fatalf("proof accepted before the failover, replayed after: %d %s", s, desc)
		}
	}
	if list, err := c.rev.List(ctx); err != nil || len(list) != len(acked) {
		t.Errorf("List after the failover: %d entries (%v), want %d", len(list), err, len(acked))
	}
}

// noLeaksAfterProbes is noLeaks for a test that kills a Redis: go-redis
// probes a dead node once a second until its pool closes, so those probes
// end a second or so after the test's clients close. It waits for them, so
// that neither this test nor the next sees them as leaks.
func noLeaksAfterProbes(t *testing.T) {
	noLeaks(t)
	t.Cleanup(func() { // runs after the clients close, before noLeaks
		for deadline := time.Now().Add(10 * time.Second); goleak.Find() != nil && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// clusterNode is a node of the cluster a test killed.
type clusterNode struct {
	pid    int
	config string
}

// killNode kills the node client talks to (kill -9), and at the end of the
// test starts it again from its configuration (it rejoins as a replica)
// and waits until every master has a replica again.
func killNode(t *testing.T, client *redis.Client) clusterNode {
	t.Helper()
	ctx := context.Background()
	info, err := client.Info(ctx, "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n clusterNode
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			n.pid, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(line, "config_file:"); ok {
			n.config = v
		}
	}
	if n.pid == 0 || n.config == "" {
		t.Fatalf("no pid or configuration file in INFO server: %d %q", n.pid, n.config)
	}
	nodes, err := client.ClusterNodes(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	before := strings.Count(nodes, " connected")
	if err := syscall.Kill(n.pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v (the cluster must run on this machine)", n.pid, err)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("redis-server", n.config).CombinedOutput(); err != nil {
			t.Errorf("restarting the killed node: %v %s", err, out)
			return
		}
		addr := client.Options().Addr
		deadline := time.Now().Add(20 * time.Second)
		for {
			nodes, err := redis.NewClient(&redis.Options{Addr: addr}).ClusterNodes(ctx).Result()
			if err == nil && strings.Count(nodes, " connected") == before && !strings.Contains(nodes, "fail") {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("the cluster did not heal within 20s:\n%s", nodes)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return n
}

// TestClusterSlotMoves: the list's hash slot moves to another master (a
// resharding); Redis ends the sharded subscriptions to it (SUNSUBSCRIBE),
// and the instances subscribe again where it went: revocations still
// reach every instance.
func TestClusterSlotMoves(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	addrs, pfx := clusterAddrs(t), prefix(t)
	iss := bearertest.MustIssuer(bearertest.ES256)
	client := newClusterClient(t, addrs)
	a := newInstance(t, newRevoker(t, client, redisrevoke.WithPrefix(pfx)), iss)
	b := newInstance(t, newRevoker(t, newClusterClient(t, addrs), redisrevoke.WithPrefix(pfx)), iss)
	before := mint(iss, "alice")
	if err := a.rev.RevokeToken(ctx, tokenOf(t, iss, before)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "seen on B", func() bool { s, _ := b.get(t, before); return s == 401 })

	moveSlot(t, client, "{"+pfx+"}")
	after := mint(iss, "alice")
	eventually(t, "revoking works after the move", func() bool { return a.rev.RevokeToken(ctx, tokenOf(t, iss, after)) == nil })
	eventually(t, "seen on B after the move", func() bool { s, _ := b.get(t, after); return s == 401 })
	b.wantRevoked(t, before)
	loaded := newInstance(t, newRevoker(t, newClusterClient(t, addrs), redisrevoke.WithPrefix(pfx)), iss)
	loaded.wantRevoked(t, before)
	loaded.wantRevoked(t, after)
}

// moveSlot moves the hash slot of key, with its keys, to another master,
// as redis-cli --cluster reshard does.
func moveSlot(t *testing.T, client *redis.ClusterClient, key string) {
	t.Helper()
	ctx := context.Background()
	source, err := client.MasterForKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	slot := int(source.ClusterKeySlot(ctx, key).Val())
	var masters []*redis.Client
	var mu sync.Mutex
	client.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		mu.Lock()
		masters = append(masters, node)
		mu.Unlock()
		return nil
	})
	var target *redis.Client
	for _, m := range masters {
		if m.Options().Addr != source.Options().Addr {
			target = m
			break
		}
	}
	if target == nil {
		t.Fatal("no other master")
	}
	sourceID := source.Do(ctx, "CLUSTER", "MYID").Val().(string)
	targetID := target.Do(ctx, "CLUSTER", "MYID").Val().(string)
	host, port, _ := net.SplitHostPort(target.Options().Addr)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(target.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", sourceID).Err())
	must(source.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", targetID).Err())
	for {
		keys, err := source.ClusterGetKeysInSlot(ctx, slot, 100).Result()
		must(err)
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		must(source.Do(ctx, args...).Err())
	}
	for _, m := range masters {
		must(m.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", targetID).Err())
	}
	t.Logf("moved slot %d from %s to %s", slot, source.Options().Addr, target.Options().Addr)
}
