package bearer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// cacheServer serves m over HTTP; its handler answers with the token's
// subject and records the *Token each request got.
type cacheServer struct {
	*httptest.Server
	mu     sync.Mutex
	tokens []*bearer.Token
}

func newCacheServer(t *testing.T, m *bearer.Middleware) *cacheServer {
	t.Helper()
	s := &cacheServer{}
	s.Server = httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := bearer.FromContext(r.Context())
		s.mu.Lock()
		s.tokens = append(s.tokens, tok)
		s.mu.Unlock()
		io.WriteString(w, tok.Subject())
	})))
	t.Cleanup(s.Close)
	t.Cleanup(func() { m.Close() })
	return s
}

type answer struct {
	status    int
	challenge string
	body      string
}

func (s *cacheServer) get(t *testing.T, token string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header.Get("WWW-Authenticate"), string(body)}
}

func (s *cacheServer) last() *bearer.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[len(s.tokens)-1]
}

func mustNew(t *testing.T, keys bearer.KeySource, opts ...bearer.Option) *bearer.Middleware {
	t.Helper()
	m, err := bearer.New(keys, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wantOK(t *testing.T, got answer, subject string) {
	t.Helper()
	if got.status != http.StatusOK || got.body != subject {
		t.Fatalf("answer %d %q (%s), want 200 %q", got.status, got.body, got.challenge, subject)
	}
}

func wantRefused(t *testing.T, got answer, description string) {
	t.Helper()
	challenge := `Bearer error="invalid_token", error_description="` + description + `"`
	if got.status != http.StatusUnauthorized || got.challenge != challenge {
		t.Fatalf("answer %d %q, want 401 %q", got.status, got.challenge, challenge)
	}
}

// clock is a settable time source for WithClock.
type clock struct{ now atomic.Int64 }

func newClock(t time.Time) *clock          { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)           { c.now.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration)   { c.now.Add(int64(d)) }
func (c *clock) Now() time.Time            { return time.Unix(0, c.now.Load()) }
func (c *clock) option() bearer.Option     { return bearer.WithClock(c.Now) }
func (c *clock) issuer() bearertest.Option { return bearertest.WithClock(c.Now) }

func TestTokenCacheHitServesTheSameToken(t *testing.T) {
	for _, alg := range []bearertest.Algorithm{bearertest.HS256, bearertest.RS256, bearertest.ES256, bearertest.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			iss := bearertest.MustIssuer(alg)
			token := iss.MustMint(bearertest.Claims{"sub": "ada", "scope": "orders:read", "tier": "gold"})

			cached := newCacheServer(t, mustNew(t, iss.KeySource(), bearer.WithAudience(bearertest.DefaultAudience)))
			wantOK(t, cached.get(t, token), "ada")
			first := cached.last()
			wantOK(t, cached.get(t, token), "ada")
			if cached.last() != first {
				t.Error("a repeated token was verified afresh: the cache missed")
			}
			if tier, _ := cached.last().Claim("tier"); tier != "gold" || !cached.last().HasScopes("orders:read") {
				t.Errorf("cached token lost its claims: tier %v, scopes %v", tier, cached.last().Scopes())
			}

			uncached := newCacheServer(t, mustNew(t, iss.KeySource(), bearer.WithTokenCache(0)))
			wantOK(t, uncached.get(t, token), "ada")
			first = uncached.last()
			wantOK(t, uncached.get(t, token), "ada")
			if uncached.last() == first {
				t.Error("WithTokenCache(0) still served a remembered token")
			}
		})
	}
}

func TestTokenCacheRechecksTimeOnEveryHit(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	c := newClock(start)
	iss := bearertest.MustIssuer(bearertest.ES256, c.issuer(), bearertest.WithTTL(time.Minute))
	token := iss.MustMint(bearertest.Claims{"sub": "ada", "nbf": start.Unix()})
	m := mustNew(t, iss.KeySource(), c.option(), bearer.WithLeeway(10*time.Second))
	s := newCacheServer(t, m)

	wantOK(t, s.get(t, token), "ada")
	if n := bearer.CachedTokens(m); n != 1 {
		t.Fatalf("%d tokens cached, want 1", n)
	}

	// The clock set back before nbf - leeway: the cached token is refused.
	c.set(start.Add(-11 * time.Second))
	wantRefused(t, s.get(t, token), "token not yet valid")
	c.set(start)
	wantOK(t, s.get(t, token), "ada")

	c.advance(69 * time.Second) // inside exp + leeway
	wantOK(t, s.get(t, token), "ada")
	c.advance(time.Second) // exp + leeway reached
	wantRefused(t, s.get(t, token), "token expired")
	if n := bearer.CachedTokens(m); n != 0 {
		t.Errorf("%d tokens still cached after expiry", n)
	}
}

// A key that leaves its source stops its tokens on the next request, cached
// or not; a source that rebuilds the same keys (a refresh) only costs a
// fresh verification.
func TestTokenCacheFollowsTheKeySource(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.RS256)
	oldToken := iss.MustMint(bearertest.Claims{"sub": "ada"})
	oldKid := iss.KeyID()
	if _, err := iss.Rotate(); err != nil {
		t.Fatal(err)
	}
	newToken := iss.MustMint(bearertest.Claims{"sub": "bob"})
	keys, err := bearer.NewSwappableKeySet(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	m := mustNew(t, keys)
	s := newCacheServer(t, m)

	wantOK(t, s.get(t, oldToken), "ada")
	wantOK(t, s.get(t, newToken), "bob")
	cached := s.last()

	// The same keys, rebuilt: both tokens still pass.
	if err := keys.Set(iss.JWKS()); err != nil {
		t.Fatal(err)
	}
	wantOK(t, s.get(t, oldToken), "ada")
	wantOK(t, s.get(t, newToken), "bob")
	if s.last() == cached {
		t.Error("token verified by a key the source no longer holds was served from the cache")
	}

	// The old key withdrawn: its token is refused at once.
	if err := iss.Retire(oldKid); err != nil {
		t.Fatal(err)
	}
	if err := keys.Set(iss.JWKS()); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, s.get(t, oldToken), "unknown signing key")
	wantRefused(t, s.get(t, oldToken), "unknown signing key")
	wantOK(t, s.get(t, newToken), "bob")
}

func TestTokenCacheNeverCachesFailures(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	good := iss.MustMint(bearertest.Claims{"sub": "ada"})
	foreign := iss.MustMint(bearertest.Claims{"sub": "eve", "aud": "another-api"})
	tampered := good[:len(good)-3] + "AAA"
	if tampered == good {
		tampered = good[:len(good)-3] + "BBB"
	}
	var allow atomic.Bool
	m := mustNew(t, iss.KeySource(),
		bearer.WithAudience(bearertest.DefaultAudience),
		bearer.WithValidator(func(ctx context.Context, tok *bearer.Token) error {
			if !allow.Load() {
				return errors.New("not yet")
			}
			return nil
		}))
	s := newCacheServer(t, m)

	for range 2 {
		wantRefused(t, s.get(t, foreign), "audience not accepted")
		wantRefused(t, s.get(t, tampered), "signature invalid")
		wantRefused(t, s.get(t, good), "token rejected")
	}
	if n := bearer.CachedTokens(m); n != 0 {
		t.Fatalf("%d refused tokens cached", n)
	}
	allow.Store(true)
	wantOK(t, s.get(t, good), "ada")
	if n := bearer.CachedTokens(m); n != 1 {
		t.Fatalf("%d tokens cached after a success, want 1", n)
	}
	wantRefused(t, s.get(t, foreign), "audience not accepted")
}

// Validators, where revocation lives, run on cached tokens too.
func TestTokenCacheRunsValidatorsOnEveryHit(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.EdDSA)
	token := iss.MustMint(bearertest.Claims{"sub": "ada", "jti": "t-1"})
	var calls atomic.Int32
	var revoked sync.Map
	m := mustNew(t, iss.KeySource(), bearer.WithValidator(func(ctx context.Context, tok *bearer.Token) error {
		calls.Add(1)
		if _, ok := revoked.Load(tok.ID()); ok {
			return errors.New("revoked")
		}
		return nil
	}))
	s := newCacheServer(t, m)
	for range 3 {
		wantOK(t, s.get(t, token), "ada")
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("validator ran %d times for 3 requests", n)
	}
	revoked.Store("t-1", true)
	wantRefused(t, s.get(t, token), "token rejected")
}

func TestTokenCacheIsBounded(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := mustNew(t, iss.KeySource(), bearer.WithTokenCache(8))
	s := newCacheServer(t, m)
	for i := range 100 {
		sub := fmt.Sprint("user-", i)
		wantOK(t, s.get(t, iss.MustMint(bearertest.Claims{"sub": sub})), sub)
	}
	if n := bearer.CachedTokens(m); n == 0 || n > 8 {
		t.Errorf("%d tokens cached, want 1 to 8", n)
	}

	// Tokens over 4 KiB are verified every time and never kept.
	m = mustNew(t, iss.KeySource())
	s = newCacheServer(t, m)
	big := iss.MustMint(bearertest.Claims{"sub": "ada", "groups": strings.Repeat("g", 4<<10)})
	wantOK(t, s.get(t, big), "ada")
	wantOK(t, s.get(t, big), "ada")
	if n := bearer.CachedTokens(m); n != 0 {
		t.Errorf("a %d-byte token was cached", len(big))
	}
}

func TestWithTokenCacheRefusesNegativeSize(t *testing.T) {
	if _, err := bearer.New(bearer.Secret(make([]byte, 32)), bearer.WithTokenCache(-1)); err == nil {
		t.Error("WithTokenCache(-1) accepted")
	}
}

// Many clients sharing a small cache: every request gets its own token's
// subject, never another's, while entries are replaced under them.
func TestTokenCacheConcurrentUse(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := mustNew(t, iss.KeySource(), bearer.WithTokenCache(4))
	s := newCacheServer(t, m)
	tokens := make([]string, 16)
	for i := range tokens {
		tokens[i] = iss.MustMint(bearertest.Claims{"sub": fmt.Sprint("user-", i)})
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 40 {
				i := (g*7 + n) % len(tokens)
				got := s.get(t, tokens[i])
				if want := fmt.Sprint("user-", i); got.status != http.StatusOK || got.body != want {
					t.Errorf("token %d: answer %d %q, want 200 %q", i, got.status, got.body, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// A busy API sees the same tokens again and again; a larger cache keeps
// more of them verified. The second Verify of a token returns the token the
// first one built, after checking its expiry, its key and the validators.
func ExampleWithTokenCache() {
	iss := bearertest.MustIssuer(bearertest.ES256)
	m, err := bearer.New(iss.KeySource(), bearer.WithTokenCache(10_000))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	token := iss.MustMint(bearertest.Claims{"sub": "ada"})
	first, _ := m.Verify(context.Background(), token)
	again, _ := m.Verify(context.Background(), token)
	fmt.Println(first.Subject(), first == again)
	// Output: ada true
}
