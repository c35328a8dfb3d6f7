package bearer_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
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

// introspected answers with what the handler reads of an introspected
// token: subject, scopes, client_id and audience.
var introspected = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	t, _ := bearer.FromContext(r.Context())
	client, _ := t.Claim("client_id")
	fmt.Fprintf(w, "%s|%s|%v|%s|%s", t.Subject(), strings.Join(t.Scopes(), ","), client, strings.Join(t.Audience(), ","), t.Issuer())
})

// newIntrospectionIdP starts a real (TCP) provider whose introspection
// endpoint requires client "orders-api" with secret "s3cret".
func newIntrospectionIdP(t *testing.T, opts ...bearertest.Option) *bearertest.Server {
	t.Helper()
	srv := bearertest.NewServer(bearertest.ES256, opts...)
	t.Cleanup(srv.Close)
	srv.RequireClientSecret("orders-api", "s3cret")
	return srv
}

func introspectionMiddleware(t *testing.T, srv *bearertest.Server, iopts []bearer.IntrospectionOption, opts ...bearer.Option) *bearer.Middleware {
	t.Helper()
	iopts = append([]bearer.IntrospectionOption{bearer.ClientSecretBasic("orders-api", "s3cret")}, iopts...)
	opts = append([]bearer.Option{bearer.WithIssuer(srv.URL), bearer.WithAudience(bearertest.DefaultAudience)}, opts...)
	return newMiddleware(t, bearer.Introspection(srv.IntrospectionURL, iopts...), opts...)
}

// An opaque token is verified by the introspection endpoint; its answer's
// members are the token's claims for handlers, rules and the standard
// checks.
func TestIntrospection(t *testing.T) {
	srv := newIntrospectionIdP(t)
	m := introspectionMiddleware(t, srv, nil)
	api := serve(t, m.Handler(bearer.RequireScopes("orders:read")(introspected)))

	tok := srv.MintOpaque(bearertest.Claims{"sub": "alice", "scope": "orders:read orders:write", "client_id": "web"})
	got := call(t, api.URL, bearerHeader(tok))
	if want := "alice|orders:read,orders:write|web|" + bearertest.DefaultAudience + "|" + srv.URL; got.status != 200 || got.body != want {
		t.Fatalf("opaque token: %d %q, want %q", got.status, got.body, want)
	}
	if n := srv.Introspection.Requests(); n != 1 {
		t.Errorf("%d introspection requests, want 1", n)
	}

	rows := []struct {
		name, tok, challenge string
		status               int
	}{
		{"unknown", "op_never-issued", "token not active", 401},
		{"inactive", srv.MintOpaque(bearertest.Claims{"active": false, "sub": "a"}), "token not active", 401},
		{"active as a string", srv.MintOpaque(bearertest.Claims{"active": "true", "sub": "a"}), "token not active", 401},
		{"expired", srv.MintOpaque(bearertest.Claims{"exp": time.Now().Add(-time.Hour).Unix()}), "token expired", 401},
		{"not yet valid", srv.MintOpaque(bearertest.Claims{"nbf": time.Now().Add(time.Hour).Unix()}), "token not yet valid", 401},
		{"no exp", srv.MintOpaque(bearertest.Claims{"exp": nil}), "token has no expiry", 401},
		{"other audience", srv.MintOpaque(bearertest.Claims{"aud": "billing"}), "audience not accepted", 401},
		{"no audience", srv.MintOpaque(bearertest.Claims{"aud": nil}), "audience not accepted", 401},
		{"other issuer", srv.MintOpaque(bearertest.Claims{"iss": "https://evil.example"}), "issuer not accepted", 401},
		{"missing scope", srv.MintOpaque(bearertest.Claims{"scope": "orders:write"}), "", 403},
		{"bound without proof", srv.MintOpaque(bearertest.Claims{"scope": "orders:read", "cnf": map[string]any{"jkt": "x"}}), "", 401},
		{"two dots: a JWS, not introspected", "a.b.c", "malformed token", 401},
	}
	for _, r := range rows {
		got := call(t, api.URL, bearerHeader(r.tok))
		if got.status != r.status || r.challenge != "" && !strings.Contains(got.challenge, `error_description="`+r.challenge+`"`) {
			t.Errorf("%s: %d %q", r.name, got.status, got.challenge)
		}
	}
	// An answer without iss belongs to the issuer configured.
	tok = srv.MintOpaque(bearertest.Claims{"iss": nil, "sub": "bob", "scope": "orders:read"})
	if got := call(t, api.URL, bearerHeader(tok)); got.status != 200 || !strings.HasSuffix(got.body, "|"+srv.URL) {
		t.Errorf("answer without iss: %d %q", got.status, got.body)
	}
	if _, err := m.Verify(t.Context(), "op_never-issued"); !errors.Is(err, bearer.ErrInactive) || !errors.Is(err, bearer.ErrInvalidToken) {
		t.Errorf("Verify of an unknown opaque token: %v", err)
	}
}

// Without an introspection source an opaque token is malformed, and a JWT
// never reaches the introspection endpoint.
func TestIntrospectionOnlyOpaque(t *testing.T) {
	srv := newIntrospectionIdP(t)
	m := introspectionMiddleware(t, srv, nil)
	for i := 0; i < 2; i++ {
		if got := send(m, srv.MustMint(bearertest.Claims{"sub": "a"})); got.Code != 401 {
			t.Errorf("JWT without keys: %d", got.Code)
		}
	}
	if n := srv.Introspection.Requests(); n != 0 {
		t.Errorf("a JWT was introspected (%d requests)", n)
	}
	jwtOnly := newMiddleware(t, srv.KeySource(), bearer.WithIssuer(srv.URL), bearer.WithAudience(bearertest.DefaultAudience))
	wantInvalid(t, send(jwtOnly, srv.MintOpaque(nil)), "malformed token")
}

// Each client authentication reaches the endpoint as the server expects
// it; a refused one is "could not ask" (503), not a bad token.
func TestIntrospectionClientAuthentication(t *testing.T) {
	srv := newIntrospectionIdP(t)
	tok := srv.MintOpaque(bearertest.Claims{"sub": "alice"})
	check := func(name, method string, auth bearer.IntrospectionOption, status int) {
		t.Helper()
		m := newMiddleware(t, bearer.Introspection(srv.IntrospectionURL, auth), bearer.WithIssuer(srv.URL), bearer.WithAudience(bearertest.DefaultAudience))
		rec := send(m, tok)
		if rec.Code != status || srv.ClientAuthentication() != method {
			t.Errorf("%s: %d via %q, want %d via %q", name, rec.Code, srv.ClientAuthentication(), status, method)
		}
		if status == 503 && (rec.Header().Get("Retry-After") == "" || rec.Header().Get("WWW-Authenticate") != "") {
			t.Errorf("%s: 503 with headers %v", name, rec.Header())
		}
	}
	check("basic", "client_secret_basic", bearer.ClientSecretBasic("orders-api", "s3cret"), 200)
	check("post", "client_secret_post", bearer.ClientSecretPost("orders-api", "s3cret"), 200)
	check("basic, wrong secret", "client_secret_basic", bearer.ClientSecretBasic("orders-api", "wrong"), 503)
	check("post, wrong client", "client_secret_post", bearer.ClientSecretPost("billing", "s3cret"), 503)

	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for name, key := range map[string]crypto.Signer{"ES256": ec, "RS256": rk, "EdDSA": ed} {
		srv.RequireClientKey("orders-api", key.Public())
		check("private_key_jwt "+name, "private_key_jwt", bearer.PrivateKeyJWT("orders-api", key, "k1"), 200)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check("private_key_jwt, another key", "private_key_jwt", bearer.PrivateKeyJWT("orders-api", other, "k1"), 503)

	if _, err := bearer.New(bearer.Introspection(srv.IntrospectionURL, bearer.ClientSecretBasic("a", "b"), bearer.ClientSecretPost("a", "b")),
		bearer.WithIssuer(srv.URL), bearer.WithAudience("x")); err == nil {
		t.Error("two client authentications accepted")
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := bearer.New(bearer.Introspection(srv.IntrospectionURL, bearer.PrivateKeyJWT("a", small, "")),
		bearer.WithIssuer(srv.URL), bearer.WithAudience("x")); !errors.Is(err, bearer.ErrWeakKey) {
		t.Errorf("1024-bit RSA client key: %v", err)
	}
	if _, err := bearer.New(bearer.Introspection("http://idp.example.com/introspect"), bearer.WithIssuer(srv.URL), bearer.WithAudience("x")); !errors.Is(err, bearer.ErrInsecureURL) {
		t.Errorf("plain http endpoint: %v", err)
	}
}

// The endpoint down, hanging, redirecting, over-size or garbled: 503 with
// Retry-After, never 401, and nothing cached: the next request asks again.
func TestIntrospectionFaults(t *testing.T) {
	srv := newIntrospectionIdP(t)
	m := introspectionMiddleware(t, srv, []bearer.IntrospectionOption{bearer.IntrospectionTimeout(200 * time.Millisecond)})
	tok := srv.MintOpaque(bearertest.Claims{"sub": "alice"})
	wantIntrospectionUnavailable := func(name, retryAfter string) {
		t.Helper()
		before := srv.Introspection.Requests()
		for range 2 {
			rec := send(m, tok)
			const body = `{"error":"temporarily_unavailable","error_description":"token introspection unavailable"}` + "\n"
			if rec.Code != 503 || rec.Body.String() != body || rec.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("%s: %d %q %v", name, rec.Code, rec.Body.String(), rec.Header())
			}
			if got := rec.Header().Get("Retry-After"); got != retryAfter {
				t.Errorf("%s: Retry-After %q, want %q", name, got, retryAfter)
			}
		}
		if n := srv.Introspection.Requests() - before; n != 2 {
			t.Errorf("%s: %d requests for 2 tokens: a failure was cached", name, n)
		}
	}
	srv.Introspection.Fail(http.StatusInternalServerError)
	wantIntrospectionUnavailable("500", "2")
	srv.Introspection.SetHeader("Retry-After", "30")
	wantIntrospectionUnavailable("500 with Retry-After", "30")
	srv.Introspection.SetHeader("Retry-After", "")
	srv.Introspection.Hang()
	wantIntrospectionUnavailable("hang", "2")
	srv.Introspection.Serve([]byte(`{"active":true,"sub":"x","exp":` + strings.Repeat(" ", 70<<10) + `9999999999}`))
	wantIntrospectionUnavailable("over-size", "2")
	for _, garbage := range []string{`not json`, `{"active":true,"active":true}`, `{"active":true,"exp":"tomorrow"}`, `["active"]`} {
		srv.Introspection.Serve([]byte(garbage))
		wantIntrospectionUnavailable(garbage, "2")
	}
	// A redirect is never followed: the token would go to another server.
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Write([]byte(`{"active":true,"sub":"mallory","exp":9999999999}`))
	}))
	defer other.Close()
	srv.Introspection.Redirect(other.URL + "/introspect")
	wantIntrospectionUnavailable("redirect", "2")
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect was followed: %d requests elsewhere", n)
	}
	srv.Introspection.Recover()
	wantOK(t, send(m, tok), "alice")
	if _, err := m.Verify(t.Context(), srv.MintOpaque(nil)); err != nil {
		t.Fatal(err)
	}
	srv.Introspection.Fail(http.StatusBadGateway)
	_, err := m.Verify(t.Context(), srv.MintOpaque(nil))
	if !errors.Is(err, bearer.ErrIntrospectionUnavailable) || errors.Is(err, bearer.ErrInvalidToken) {
		t.Errorf("Verify with the endpoint down: %v", err)
	}
}

// Positive answers are cached up to the TTL, never beyond exp (even within
// the leeway, which would still accept the token); inactive answers are
// not cached.
func TestIntrospectionCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.RequireClientSecret("orders-api", "s3cret")
		m := newMiddleware(t, bearer.Introspection(srv.IntrospectionURL, bearer.ClientSecretBasic("orders-api", "s3cret"),
			bearer.IntrospectionHTTPClient(srv.Client()), bearer.IntrospectionCache(8, time.Minute)),
			bearer.WithIssuer(srv.URL), bearer.WithAudience(bearertest.DefaultAudience))
		requests := func(want int) {
			t.Helper()
			if n := srv.Introspection.Requests(); n != want {
				t.Fatalf("%d introspection requests, want %d", n, want)
			}
		}
		tok := srv.MintOpaque(bearertest.Claims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
		for range 3 {
			wantOK(t, send(m, tok), "alice")
		}
		requests(1)
		// Revoked at the server: the cached answer holds until the TTL.
		srv.Deactivate(tok)
		time.Sleep(59 * time.Second)
		wantOK(t, send(m, tok), "alice")
		requests(1)
		time.Sleep(2 * time.Second)
		wantInvalid(t, send(m, tok), "token not active")
		wantInvalid(t, send(m, tok), "token not active")
		requests(3)

		// exp before the TTL: the entry ends at exp, though the leeway
		// would accept the token for 30 s more.
		short := srv.MintOpaque(bearertest.Claims{"sub": "bob", "exp": time.Now().Add(10 * time.Second).Unix()})
		wantOK(t, send(m, short), "bob")
		time.Sleep(15 * time.Second)
		wantOK(t, send(m, short), "bob")
		requests(5)

		// A full cache keeps its bound: of 20 tokens, at most 8 are
		// answered from it the second time.
		many := make([]string, 20)
		for i := range many {
			many[i] = srv.MintOpaque(bearertest.Claims{"sub": fmt.Sprint(i)})
			wantOK(t, send(m, many[i]), fmt.Sprint(i))
		}
		requests(25)
		for i, tok := range many {
			wantOK(t, send(m, tok), fmt.Sprint(i))
		}
		if n := srv.Introspection.Requests(); n < 25+12 {
			t.Fatalf("%d introspection requests after sending 20 tokens twice, want at least %d: the cache holds more than 8", n, 25+12)
		}
	})
}

// Concurrent requests with one token share one call; its answer reaches
// them all.
func TestIntrospectionCoalesces(t *testing.T) {
	srv := newIntrospectionIdP(t)
	m := introspectionMiddleware(t, srv, nil)
	tok := srv.MintOpaque(bearertest.Claims{"sub": "alice"})
	srv.Introspection.Hang()
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() { codes[i] = send(m, tok).Code })
	}
	for deadline := time.Now().Add(5 * time.Second); srv.Introspection.Requests() < 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let the others queue behind it
	srv.Introspection.Recover()
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("request %d: %d", i, c)
		}
	}
	if n := srv.Introspection.Requests(); n != 1 {
		t.Errorf("%d introspection requests for 20 concurrent requests with one token, want 1", n)
	}
}

// IntrospectionDiscover reads introspection_endpoint from the issuer's
// metadata, once, and binds the issuer.
func TestIntrospectionDiscover(t *testing.T) {
	srv := newIntrospectionIdP(t)
	m := newMiddleware(t, bearer.IntrospectionDiscover(srv.URL, bearer.ClientSecretPost("orders-api", "s3cret")),
		bearer.WithAudience(bearertest.DefaultAudience))
	srv.Discovery.Fail(http.StatusServiceUnavailable)
	if rec := send(m, srv.MintOpaque(bearertest.Claims{"sub": "a"})); rec.Code != 503 {
		t.Fatalf("discovery down: %d", rec.Code)
	}
	srv.Discovery.Recover()
	for i := range 3 {
		wantOK(t, send(m, srv.MintOpaque(bearertest.Claims{"sub": fmt.Sprint(i)})), fmt.Sprint(i))
	}
	if d := srv.Discovery.Requests(); d != 2 {
		t.Errorf("%d discovery requests, want 2 (one failed, one read)", d)
	}
	wantInvalid(t, send(m, srv.MintOpaque(bearertest.Claims{"iss": "https://evil.example"})), "issuer not accepted")

	// Metadata naming its endpoint twice is malformed, whichever a reader
	// would take.
	dup := newIntrospectionIdP(t)
	dup.Discovery.Serve([]byte(`{"issuer":"` + dup.URL + `","introspection_endpoint":"` + dup.IntrospectionURL + `","introspection_endpoint":"` + srv.IntrospectionURL + `"}`))
	m = newMiddleware(t, bearer.IntrospectionDiscover(dup.URL, bearer.ClientSecretPost("orders-api", "s3cret")),
		bearer.WithAudience(bearertest.DefaultAudience))
	before := srv.Introspection.Requests()
	if rec := send(m, dup.MintOpaque(nil)); rec.Code != 503 || dup.Introspection.Requests() != 0 || srv.Introspection.Requests() != before {
		t.Errorf("metadata with two endpoints: %d", rec.Code)
	}

	other := newIntrospectionIdP(t, bearertest.WithIssuer("https://idp.example.com"))
	m = newMiddleware(t, bearer.IntrospectionDiscover(other.URL, bearer.ClientSecretPost("orders-api", "s3cret")),
		bearer.WithAudience(bearertest.DefaultAudience))
	if rec := send(m, other.MintOpaque(nil)); rec.Code != 503 || other.Introspection.Requests() != 0 {
		t.Errorf("metadata of another issuer: %d, %d introspections", rec.Code, other.Introspection.Requests())
	}
}

// Signed answers (RFC 9701) are verified with the issuer's keys, which
// verify its JWT access tokens as well.
func TestIntrospectionJWTResponse(t *testing.T) {
	srv := newIntrospectionIdP(t)
	m := introspectionMiddleware(t, srv, []bearer.IntrospectionOption{bearer.IntrospectionJWTResponse(bearer.RemoteJWKS(srv.JWKSURL))})
	wantOK(t, send(m, srv.MintOpaque(bearertest.Claims{"sub": "alice"})), "alice")
	wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "jwt"})), "jwt")
	wantInvalid(t, send(m, srv.MintOpaque(bearertest.Claims{"active": false})), "token not active")

	// A plain answer, or one signed by another key, is not trusted.
	forger := bearertest.MustIssuer(bearertest.ES256, bearertest.WithIssuer(srv.URL))
	signed, _ := forger.Sign(map[string]any{"typ": "token-introspection+jwt"},
		[]byte(`{"iss":"`+srv.URL+`","aud":"orders-api","token_introspection":{"active":true,"sub":"mallory","aud":"`+bearertest.DefaultAudience+`","exp":9999999999}}`))
	for _, body := range []string{`{"active":true,"sub":"mallory","exp":9999999999}`, signed} {
		srv.Introspection.Serve([]byte(body))
		if rec := send(m, srv.MintOpaque(nil)); rec.Code != 503 {
			t.Errorf("untrusted answer %.30q: %d %q", body, rec.Code, rec.Body.String())
		}
	}
}

// In Issuers, a JWT goes by its iss to its issuer's keys and an opaque
// token to the one introspection issuer; two introspection issuers are
// refused.
func TestIntrospectionInIssuers(t *testing.T) {
	intro := newIntrospectionIdP(t)
	jwts := bearertest.NewServer(bearertest.RS256)
	t.Cleanup(jwts.Close)
	m := newMiddleware(t, bearer.Issuers(
		bearer.TrustedIssuer{Issuer: jwts.URL, Keys: bearer.RemoteJWKS(jwts.JWKSURL), Audience: []string{bearertest.DefaultAudience}},
		bearer.TrustedIssuer{Issuer: intro.URL, Keys: bearer.Introspection(intro.IntrospectionURL, bearer.ClientSecretBasic("orders-api", "s3cret")), Audience: []string{"orders"}},
	))
	wantOK(t, send(m, jwts.MustMint(bearertest.Claims{"sub": "jwt"})), "jwt")
	wantOK(t, send(m, intro.MintOpaque(bearertest.Claims{"sub": "opaque", "aud": "orders"})), "opaque")
	wantOK(t, send(m, intro.MintOpaque(bearertest.Claims{"sub": "no-iss", "iss": nil, "aud": "orders"})), "no-iss")
	// The introspection issuer's audience, not the other one's.
	wantInvalid(t, send(m, intro.MintOpaque(bearertest.Claims{"sub": "x"})), "audience not accepted")
	// An endpoint vouching for the other issuer's token is not believed.
	wantInvalid(t, send(m, intro.MintOpaque(bearertest.Claims{"iss": jwts.URL})), "issuer not accepted")
	if n := intro.Introspection.Requests(); n != 4 {
		t.Errorf("%d introspections, want 4 (the JWT is never introspected)", n)
	}

	_, err := bearer.New(bearer.Issuers(
		bearer.TrustedIssuer{Issuer: "https://a.example", Keys: bearer.Introspection(intro.IntrospectionURL), Audience: []string{"x"}},
		bearer.TrustedIssuer{Issuer: "https://b.example", Keys: bearer.Introspection(intro.IntrospectionURL), Audience: []string{"x"}},
	))
	if err == nil {
		t.Error("two introspection issuers accepted")
	}
}

// Revocation and DPoP work on introspected tokens as on JWTs.
func TestIntrospectionRevocationAndDPoP(t *testing.T) {
	srv := newIntrospectionIdP(t)
	revoker, _ := bearer.NewMemoryRevoker()
	m := introspectionMiddleware(t, srv, nil, bearer.WithRevocation(revoker), bearer.WithDPoP(bearer.DPoP{}))
	api := serve(t, m.Handler(whoami))

	tok := srv.MintOpaque(bearertest.Claims{"sub": "alice", "jti": "t-1"})
	if got := call(t, api.URL, bearerHeader(tok)); got.status != 200 {
		t.Fatalf("%d %s", got.status, got.body)
	}
	revoker.RevokeID(t.Context(), srv.URL, "t-1", time.Now().Add(time.Hour))
	if got := call(t, api.URL, bearerHeader(tok)); got.status != 401 || !strings.Contains(got.challenge, "token revoked") {
		t.Errorf("revoked: %d %q", got.status, got.challenge)
	}

	key := bearertest.MustDPoPKey(bearertest.ES256)
	bound := srv.MintOpaque(bearertest.Claims{"sub": "bob", "cnf": key.Confirmation()})
	h := http.Header{"Authorization": {"DPoP " + bound}, "DPoP": {key.MustProof("GET", api.URL, bound)}}
	if got := call(t, api.URL, h); got.status != 200 || got.body != "bob " {
		t.Errorf("DPoP-bound opaque token with its proof: %d %q %q", got.status, got.body, got.challenge)
	}
	if got := call(t, api.URL, bearerHeader(bound)); got.status != 401 {
		t.Errorf("DPoP-bound opaque token as a bearer token: %d", got.status)
	}
}

// BenchmarkIntrospection compares an introspected token answered from the
// cache with a JWT, cached and not, each through Verify.
func BenchmarkIntrospection(b *testing.B) {
	srv := bearertest.NewServer(bearertest.ES256)
	defer srv.Close()
	opts := []bearer.Option{bearer.WithIssuer(srv.URL), bearer.WithAudience(bearertest.DefaultAudience)}
	intro, _ := bearer.New(bearer.Introspection(srv.IntrospectionURL), opts...)
	defer intro.Close()
	jwt, _ := bearer.New(srv.KeySource(), opts...)
	defer jwt.Close()
	uncached, _ := bearer.New(srv.KeySource(), append(opts, bearer.WithTokenCache(0))...)
	defer uncached.Close()
	claims := bearertest.Claims{"sub": "alice", "scope": "orders:read", "client_id": "web", "jti": "j-1"}
	run := func(name string, m *bearer.Middleware, tok string) {
		b.Run(name, func(b *testing.B) {
			if _, err := m.Verify(b.Context(), tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Verify(b.Context(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("introspection-cached", intro, srv.MintOpaque(claims))
	run("jwt-cached", jwt, srv.MustMint(claims))
	run("jwt-ES256-uncached", uncached, srv.MustMint(claims))
}

// A flood of made-up opaque tokens, each of which needs a call, reaches
// the endpoint at most IntrospectionConcurrency calls at a time; the
// requests beyond wait within the timeout, then get 503.
func TestIntrospectionConcurrencyBound(t *testing.T) {
	srv := newIntrospectionIdP(t)
	m := introspectionMiddleware(t, srv, []bearer.IntrospectionOption{bearer.IntrospectionConcurrency(2), bearer.IntrospectionTimeout(300 * time.Millisecond)})
	srv.Introspection.Hang()
	var wg sync.WaitGroup
	codes := make([]int, 10)
	for i := range codes {
		wg.Go(func() { codes[i] = send(m, fmt.Sprintf("op_made-up-%d", i)).Code })
	}
	time.Sleep(150 * time.Millisecond) // every request has arrived; the first calls hang
	if n := srv.Introspection.Requests(); n != 2 {
		t.Errorf("%d calls in flight for a bound of 2", n)
	}
	wg.Wait()
	for i, c := range codes {
		if c != 503 {
			t.Errorf("request %d: %d, want 503", i, c)
		}
	}
}
