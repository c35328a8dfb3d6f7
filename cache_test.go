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
	"testing/synctest"
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

func wantServed(t *testing.T, got answer, subject string) {
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

func TestTokenCacheHitServesTheSameToken(t *testing.T) {
	for _, alg := range []bearertest.Algorithm{bearertest.HS256, bearertest.RS256, bearertest.ES256, bearertest.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			iss := bearertest.MustIssuer(alg)
			token := iss.MustMint(bearertest.Claims{"sub": "ada", "scope": "orders:read", "tier": "gold"})

			cached := newCacheServer(t, newMiddleware(t, iss.KeySource(), anyIssuerOnly(bearer.WithAudience(bearertest.DefaultAudience))...))
			wantServed(t, cached.get(t, token), "ada")
			first := cached.last()
			wantServed(t, cached.get(t, token), "ada")
			if cached.last() != first {
				t.Error("a repeated token was verified afresh: the cache missed")
			}
			if tier, _ := cached.last().Claim("tier"); tier != "gold" || !cached.last().HasScopes("orders:read") {
				t.Errorf("cached token lost its claims: tier %v, scopes %v", tier, cached.last().Scopes())
			}

			uncached := newCacheServer(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithTokenCache(0))...))
			wantServed(t, uncached.get(t, token), "ada")
			first = uncached.last()
			wantServed(t, uncached.get(t, token), "ada")
			if uncached.last() == first {
				t.Error("WithTokenCache(0) still served a remembered token")
			}
		})
	}
}

func TestTokenCacheRechecksTimeOnEveryHit(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	c := newClock(start)
	iss := bearertest.MustIssuer(bearertest.ES256, bearertest.WithClock(c.Now), bearertest.WithTTL(time.Minute))
	token := iss.MustMint(bearertest.Claims{"sub": "ada", "nbf": start.Unix()})
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithClock(c.Now), bearer.WithLeeway(10*time.Second))...)
	s := newCacheServer(t, m)

	wantServed(t, s.get(t, token), "ada")
	if n := bearer.CachedTokens(m); n != 1 {
		t.Fatalf("%d tokens cached, want 1", n)
	}

	// The clock set back before nbf - leeway: the cached token is refused.
	c.Set(start.Add(-11 * time.Second))
	wantRefused(t, s.get(t, token), "token not yet valid")
	c.Set(start)
	wantServed(t, s.get(t, token), "ada")

	c.Advance(69 * time.Second) // inside exp + leeway
	wantServed(t, s.get(t, token), "ada")
	c.Advance(time.Second) // exp + leeway reached
	wantRefused(t, s.get(t, token), "token expired")
	if n := bearer.CachedTokens(m); n != 0 {
		t.Errorf("%d tokens still cached after expiry", n)
	}
}

// A key that leaves its source stops its tokens on the next request, cached
// or not; a refresh that keeps the key keeps its tokens cached.
func TestTokenCacheFollowsTheKeySource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		srv := newIdP(t, bearertest.ES256)
		m := newRemote(t, srv, nil, anyIssuerAnyAudience()...)
		mustReady(t, m)
		old := srv.MustMint(bearertest.Claims{"sub": "ada"})
		first, err := m.Verify(ctx, old)
		if err != nil {
			t.Fatal(err)
		}
		oldKid := srv.KeyID()
		if _, err := srv.Rotate(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(bearer.DefaultRefreshInterval) // a refresh: both keys published
		again, err := m.Verify(ctx, old)
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Error("a refresh that kept the key dropped its token from the cache")
		}

		if err := srv.Retire(oldKid); err != nil {
			t.Fatal(err)
		}
		time.Sleep(bearer.DefaultRefreshInterval) // a refresh: the old key is gone
		wantInvalid(t, send(m, old), "unknown signing key")
		if _, err := m.Verify(ctx, old); !errors.Is(err, bearer.ErrUnknownKey) {
			t.Errorf("Verify after the key left: %v, want ErrUnknownKey", err)
		}
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "bob"})), "bob")
	})
}

// A key replaced under the same kid (a compromised key swapped out) is a
// different key: tokens the old one verified are verified afresh, and fail.
func TestTokenCacheKeyReplacedUnderSameKid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		oldIss, newIss := bearertest.MustIssuer(bearertest.ES256), bearertest.MustIssuer(bearertest.ES256)
		var doc atomic.Value
		doc.Store(oldIss.JWKS())
		client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			body := doc.Load().([]byte)
			return &http.Response{
				StatusCode: http.StatusOK, Request: r, ContentLength: int64(len(body)),
				Header: http.Header{"Content-Type": {"application/json"}},
				Body:   io.NopCloser(strings.NewReader(string(body))),
			}, nil
		})}
		m := newMiddleware(t, bearer.RemoteJWKS("https://idp.example/jwks", bearer.RemoteHTTPClient(client)), anyIssuerAnyAudience(quiet)...)
		mustReady(t, m)
		token := oldIss.MustMint(bearertest.Claims{"sub": "ada"})
		if _, err := m.Verify(ctx, token); err != nil {
			t.Fatal(err)
		}

		// The new key published under the old key's kid.
		doc.Store([]byte(strings.ReplaceAll(string(newIss.JWKS()), newIss.KeyID(), oldIss.KeyID())))
		time.Sleep(bearer.DefaultRefreshInterval)
		if _, err := m.Verify(ctx, token); !errors.Is(err, bearer.ErrSignature) {
			t.Fatalf("token of the replaced key: %v, want ErrSignature", err)
		}
		wantInvalid(t, send(m, token), "signature invalid")
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Revocation (WithRevocation) is checked on every hit: a token revoked
// after it was cached is refused on the next request.
func TestTokenCacheChecksRevocationOnEveryHit(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	token := iss.MustMint(bearertest.Claims{"sub": "ada", "jti": "t-1"})
	revoker := newMemoryRevoker(t)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithRevocation(revoker))...)
	s := newCacheServer(t, m)
	wantServed(t, s.get(t, token), "ada")
	wantServed(t, s.get(t, token), "ada")
	if err := revoker.RevokeToken(context.Background(), s.last()); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, s.get(t, token), "token revoked")
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
	m := newMiddleware(t, iss.KeySource(), anyIssuerOnly(bearer.WithAudience(bearertest.DefaultAudience),
		bearer.WithValidator(func(ctx context.Context, tok *bearer.Token) error {
			if !allow.Load() {
				return errors.New("not yet")
			}
			return nil
		}))...)
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
	wantServed(t, s.get(t, good), "ada")
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
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithValidator(func(ctx context.Context, tok *bearer.Token) error {
		calls.Add(1)
		if _, ok := revoked.Load(tok.ID()); ok {
			return errors.New("revoked")
		}
		return nil
	}))...)
	s := newCacheServer(t, m)
	for range 3 {
		wantServed(t, s.get(t, token), "ada")
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("validator ran %d times for 3 requests", n)
	}
	revoked.Store("t-1", true)
	wantRefused(t, s.get(t, token), "token rejected")
}

func TestTokenCacheIsBounded(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithTokenCache(8))...)
	s := newCacheServer(t, m)
	for i := range 100 {
		sub := fmt.Sprint("user-", i)
		wantServed(t, s.get(t, iss.MustMint(bearertest.Claims{"sub": sub})), sub)
	}
	if n := bearer.CachedTokens(m); n == 0 || n > 8 {
		t.Errorf("%d tokens cached, want 1 to 8", n)
	}

	// Tokens over 4 KiB are verified every time and never kept.
	m = newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	s = newCacheServer(t, m)
	big := iss.MustMint(bearertest.Claims{"sub": "ada", "groups": strings.Repeat("g", 4<<10)})
	wantServed(t, s.get(t, big), "ada")
	wantServed(t, s.get(t, big), "ada")
	if n := bearer.CachedTokens(m); n != 0 {
		t.Errorf("a %d-byte token was cached", len(big))
	}
}

func TestWithTokenCacheRefusesNegativeSize(t *testing.T) {
	if _, err := bearer.New(bearer.Secret(make([]byte, 32)), anyIssuerAnyAudience(bearer.WithTokenCache(-1))...); err == nil {
		t.Error("WithTokenCache(-1) accepted")
	}
}

// Many clients sharing a small cache: every request gets its own token's
// subject, never another's, while entries are replaced under them.
func TestTokenCacheConcurrentUse(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithTokenCache(4))...)
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
	m, err := bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience), bearer.WithTokenCache(10_000))
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

// The Observer learns which requests the cache answered.
func TestTokenCacheTellsTheObserver(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.EdDSA)
	token := iss.MustMint(bearertest.Claims{"sub": "ada"})
	rec := &recorder{}
	s := newCacheServer(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithObserver(rec))...))
	for range 3 {
		wantServed(t, s.get(t, token), "ada")
	}
	if got, want := rec.take(), "verified ada; verified ada from the cache; verified ada from the cache"; got != want {
		t.Errorf("observer heard %q, want %q", got, want)
	}
}
