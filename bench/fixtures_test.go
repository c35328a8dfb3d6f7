package bench

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerauth/bearer/bearertest"
)

// The issuer and audience every contender is configured to require.
const (
	issuer   = "https://auth.example.com/"
	audience = "https://api.example.com/orders"
)

// fixture is one algorithm's key and tokens, shared by every contender.
type fixture struct {
	alg    string
	secret []byte // HMAC
	public any    // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey

	token     string // valid: 11 claims, the same for every contender
	tampered  string // token with its last signature character changed
	wrongAud  string // validly signed, another audience
	wrongIss  string // validly signed, another issuer
	expired   string // validly signed, expired an hour ago
	signature struct{ input, sig []byte }
}

var algorithms = []bearertest.Algorithm{bearertest.HS256, bearertest.RS256, bearertest.ES256, bearertest.EdDSA}

// newFixture makes the key and the tokens of alg. The token carries the
// claims of a typical access token from a hosted identity provider.
func newFixture(tb testing.TB, alg bearertest.Algorithm) *fixture {
	tb.Helper()
	iss := bearertest.MustIssuer(alg, bearertest.WithIssuer(issuer), bearertest.WithAudience(audience))
	now := time.Now()
	claims := func(extra bearertest.Claims) bearertest.Claims {
		c := bearertest.Claims{
			"sub":   "auth0|5f7c8ec7c33c6c004bbafe82",
			"jti":   "b7a1f7d2-5c1e-4b8a-9d0e-3f2a6c4e8b10",
			"nbf":   now.Add(-time.Minute).Unix(),
			"azp":   "kbyuFDidLLm280LIwVFiazOqjO3ty8KH",
			"scope": "openid profile email orders:read orders:write",
			"email": "ada.lovelace@example.com",
			"roles": []string{"customer", "beta-tester"},
		}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	f := &fixture{
		alg:      string(alg),
		secret:   iss.Secret(),
		public:   iss.PublicKey(),
		token:    iss.MustMint(claims(nil)),
		wrongAud: iss.MustMint(claims(bearertest.Claims{"aud": "https://api.example.com/billing"})),
		wrongIss: iss.MustMint(claims(bearertest.Claims{"iss": "https://evil.example.com/"})),
		expired: iss.MustMint(claims(bearertest.Claims{
			"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix(),
		})),
	}
	last := f.token[len(f.token)-2]
	swap := byte('A')
	if last == 'A' {
		swap = 'B'
	}
	f.tampered = f.token[:len(f.token)-2] + string(swap) + f.token[len(f.token)-1:]
	dot := strings.LastIndexByte(f.token, '.')
	f.signature.input = []byte(f.token[:dot])
	sig, err := base64.RawURLEncoding.DecodeString(f.token[dot+1:])
	if err != nil {
		tb.Fatal(err)
	}
	f.signature.sig = sig
	return f
}

// key returns what the peer libraries take as the verification key.
func (f *fixture) key() any {
	if f.secret != nil {
		return f.secret
	}
	return f.public
}

func (f *fixture) rsa() *rsa.PublicKey        { k, _ := f.public.(*rsa.PublicKey); return k }
func (f *fixture) ecdsa() *ecdsa.PublicKey    { k, _ := f.public.(*ecdsa.PublicKey); return k }
func (f *fixture) ed25519() ed25519.PublicKey { k, _ := f.public.(ed25519.PublicKey); return k }
func request(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/orders", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

// protected is the application handler behind every middleware: it reads
// the subject the way the contender's users do and answers 204, or 500
// when the subject did not arrive.
func protected(subject func(r *http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subject(r) == "" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// mustGuard checks, before timing, that h really verifies: the token gets
// through, and a tampered, expired, foreign-audience or foreign-issuer token
// does not. A contender that skipped a check would fail here instead of
// winning the benchmark.
func mustGuard(tb testing.TB, f *fixture, h http.Handler) {
	tb.Helper()
	status := func(token string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, request(token))
		return rec.Code
	}
	if got := status(f.token); got != http.StatusNoContent {
		tb.Fatalf("valid token: status %d, want 204", got)
	}
	for name, tok := range map[string]string{
		"no token": "", "tampered": f.tampered, "expired": f.expired,
		"wrong audience": f.wrongAud, "wrong issuer": f.wrongIss,
	} {
		if got := status(tok); got < 400 {
			tb.Fatalf("%s: status %d, want a refusal", name, got)
		}
	}
}
