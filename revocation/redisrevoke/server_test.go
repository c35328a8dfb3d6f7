package redisrevoke_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Tests run against a real redis-server. REDIS_ADDR names a running one
// (.ci/run starts one); without it, the tests start their own from the
// redis-server binary. Tests that kill and restart Redis always start their
// own. With neither, they skip, except in CI (BEARER_CI set), where they
// fail.

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("BEARER_CI") != "" {
		t.Fatalf("%s (BEARER_CI is set: a Redis is required)", msg)
	}
	t.Skipf("%s; install redis-server or set REDIS_ADDR to run the Redis tests", msg)
}

var shared struct {
	once   sync.Once
	addr   string
	server *redisServer
	err    error
}

// sharedAddr returns the address of the Redis the tests share.
func sharedAddr(t testing.TB) string {
	t.Helper()
	addr, err := sharedRedis()
	if err != nil {
		unavailable(t, "no Redis: %v", err)
	}
	return addr
}

// sharedRedis starts the Redis the tests share, once, unless REDIS_ADDR
// names one.
func sharedRedis() (string, error) {
	shared.once.Do(func() {
		if addr := os.Getenv("REDIS_ADDR"); addr != "" {
			shared.addr, shared.err = addr, ping(addr)
			return
		}
		dir, err := os.MkdirTemp("", "redisrevoke-test-")
		if err != nil {
			shared.err = err
			return
		}
		shared.server, shared.err = startRedis(dir, noPersistence)
		if shared.err == nil {
			shared.addr = shared.server.addr
		}
	})
	return shared.addr, shared.err
}

// TestMain gives the examples the shared Redis in REDIS_ADDR, as a
// service would get its address. An example cannot skip: without a Redis
// they are left out with -skip, saying so, as the tests skip (in CI they
// run, and fail).
func TestMain(m *testing.M) {
	if os.Getenv("REDIS_CLUSTER_ADDRS") == "" && os.Getenv("BEARER_CI") == "" {
		fmt.Fprintln(os.Stderr, "WARNING: "+noClusterMessage)
	}
	flag.Parse()
	if addr, err := sharedRedis(); err == nil {
		os.Setenv("REDIS_ADDR", addr)
	} else if os.Getenv("BEARER_CI") == "" {
		fmt.Fprintf(os.Stderr, "no Redis (%v): the examples are skipped; install redis-server or set REDIS_ADDR to run them\n", err)
		skip := "^Example"
		if prev := flag.Lookup("test.skip").Value.String(); prev != "" {
			skip = prev + "|" + skip
		}
		flag.Set("test.skip", skip)
	}
	code := m.Run()
	if shared.server != nil {
		shared.server.stop()
		os.RemoveAll(shared.server.dir)
	}
	os.Exit(code)
}

func ping(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// newClient returns a client of addr, closed with the test.
func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// prefix returns a key prefix of the test's own in the shared Redis.
func prefix(t testing.TB) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "test:" + strings.ReplaceAll(t.Name(), "/", ".") + ":" + hex.EncodeToString(b) + ":"
}

// persistence is how a redis-server of the tests' own keeps its data.
type persistence int

const (
	// noPersistence: a killed server comes back empty.
	noPersistence persistence = iota
	// rdb: snapshots, here only when the test asks (SAVE), as a server
	// that saves every few minutes; a killed server comes back with the
	// last snapshot.
	rdb
	// aofAlways: every write is on disk before it is answered, so that a
	// killed server comes back with all of its data.
	aofAlways
)

// redisServer is a redis-server process of the test's own, which it can
// stop and start again on the same port.
type redisServer struct {
	addr    string
	dir     string
	persist persistence
	extra   []string // more arguments, as --replicaof
	cmd     *exec.Cmd
}

// startRedis starts redis-server on a free loopback port, keeping its data
// in dir as persist says.
func startRedis(dir string, persist persistence, extra ...string) (*redisServer, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &redisServer{addr: addr, dir: dir, persist: persist, extra: extra}
	return s, s.start()
}

func (s *redisServer) start() error {
	_, port, _ := net.SplitHostPort(s.addr)
	args := []string{"--port", port, "--bind", "127.0.0.1", "--dir", s.dir, "--daemonize", "no", "--logfile", filepath.Join(s.dir, "redis.log")}
	switch s.persist {
	case noPersistence:
		args = append(args, "--save", "", "--appendonly", "no")
	case rdb:
		args = append(args, "--save", "3600 1", "--appendonly", "no")
	case aofAlways:
		args = append(args, "--save", "", "--appendonly", "yes", "--appendfsync", "always")
	}
	s.cmd = exec.Command("redis-server", append(args, s.extra...)...)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ping(s.addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.stop()
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redis-server on %s did not come up: %v\n%s", s.addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server, as a crash would.
func (s *redisServer) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

// ownRedis starts a redis-server of the test's own, stopped with the test.
func ownRedis(t *testing.T, persist persistence, extra ...string) *redisServer {
	t.Helper()
	s, err := startRedis(t.TempDir(), persist, extra...)
	if err != nil {
		unavailable(t, "cannot start redis-server: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

// proxy forwards TCP connections to a Redis, and can cut them: what a
// network failure between one instance and Redis looks like.
type proxy struct {
	addr   string
	target string
	l      net.Listener

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String(), target: target, l: l}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// setCut closes every connection and refuses new ones, or lets them
// through again.
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// pause freezes the server (SIGSTOP): connections stay open and nothing
// answers, as with a hung server or a silently dropped network path.
func (s *redisServer) pause() { s.cmd.Process.Signal(syscall.SIGSTOP) }

func (s *redisServer) resume() { s.cmd.Process.Signal(syscall.SIGCONT) }
