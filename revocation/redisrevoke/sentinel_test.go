package redisrevoke_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bearerauth/bearer/bearertest"
	"github.com/redis/go-redis/v9"
)

// ownSentinel starts a Redis Sentinel that watches master (as "primary",
// quorum 1, down after 1 s), stopped with the test, and returns its address.
func ownSentinel(t *testing.T, master string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	host, masterPort, _ := net.SplitHostPort(master)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	err = os.WriteFile(conf, fmt.Appendf(nil, `port %s
bind 127.0.0.1
dir %s
logfile %s
sentinel monitor primary %s %s 1
sentinel down-after-milliseconds primary 1000
sentinel failover-timeout primary 5000
`, port, dir, filepath.Join(dir, "sentinel.log"), host, masterPort), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("redis-server", conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		unavailable(t, "cannot start redis-server --sentinel: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	eventually(t, "the sentinel up", func() bool { return ping(addr) == nil })
	return addr
}

// TestSentinelFailover: through Sentinel (redis.NewFailoverClient), the
// master is killed (kill -9) after revocations its replica never received
// (the replication link cut), and the replica takes over. The instances put
// them back: every revocation is refused on both instances and on one
// started afterwards, and revoking works again without a restart.
func TestSentinelFailover(t *testing.T) {
	noLeaksAfterProbes(t)
	ctx := context.Background()
	primary := ownRedis(t, noPersistence, "--repl-diskless-sync-delay", "0")
	link := newProxy(t, primary.addr) // the replication link, which the test cuts
	host, port, _ := net.SplitHostPort(link.addr)
	replica := ownRedis(t, noPersistence, "--replicaof", host, port, "--repl-diskless-sync-delay", "0")
	sentinel := ownSentinel(t, primary.addr)
	eventually(t, "the sentinel knows the replica", func() bool {
		c := redis.NewSentinelClient(&redis.Options{Addr: sentinel})
		defer c.Close()
		replicas, err := c.Replicas(ctx, "primary").Result()
		return err == nil && len(replicas) == 1 && replicas[0]["flags"] == "slave" && replicas[0]["master-link-status"] == "ok"
	})
	newFailoverClient := func() *redis.Client {
		c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "primary", SentinelAddrs: []string{sentinel}, DialTimeout: time.Second})
		t.Cleanup(func() { c.Close() })
		return c
	}
	iss := bearertest.MustIssuer(bearertest.ES256)
	a := newInstance(t, newRevoker(t, newFailoverClient()), iss)
	b := newInstance(t, newRevoker(t, newFailoverClient()), iss)

	var revoked []string
	for i := range 20 {
		if i == 10 {
			link.setCut(true) // the replica never gets the next ten
		}
		tok := mint(iss, "alice")
		if err := a.rev.RevokeToken(ctx, tokenOf(t, iss, tok)); err != nil {
			t.Fatal(err)
		}
		revoked = append(revoked, tok)
	}
	for _, tok := range revoked {
		eventually(t, "B hears of every revocation", func() bool { s, _ := b.get(t, tok); return s == 401 })
	}
	primary.stop()
	killed := time.Now()
	late := mint(iss, "alice")
	eventually(t, "revoking works again", func() bool { return a.rev.RevokeToken(ctx, tokenOf(t, iss, late)) == nil })
	t.Logf("Sentinel failover: revocations written again %v after kill -9 of the master", time.Since(killed))
	revoked = append(revoked, late)
	if role, _ := newClient(t, replica.addr).Do(ctx, "ROLE").Slice(); len(role) == 0 || role[0] != "master" {
		t.Fatalf("the replica did not take over: ROLE %v", role)
	}

	c := newInstance(t, newRevoker(t, newFailoverClient()), iss)
	for _, in := range []*instance{a, b, c} {
		for _, tok := range revoked {
			eventually(t, "every revocation refused", func() bool { s, _ := in.get(t, tok); return s == 401 })
		}
	}
	if list, err := c.rev.List(ctx); err != nil || len(list) != len(revoked) {
		t.Errorf("List after the failover: %d entries (%v), want %d", len(list), err, len(revoked))
	}
}
