package bearer_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// dpopCall sends method to url with "Authorization: scheme token" and the
// given DPoP proofs.
func dpopCall(t *testing.T, method, url, scheme, token string, proofs ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", scheme+" "+token)
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, strings.Join(res.Header.Values("WWW-Authenticate"), " | "), trim(string(body)), res.Header}
}

const dpopAlgs = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"`

func TestDPoP(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	clock := func() time.Time { return now }
	iss := bearertest.MustIssuer(bearertest.RS256, bearertest.WithClock(clock))
	key := bearertest.MustDPoPKey(bearertest.ES256, bearertest.WithClock(clock))
	other := bearertest.MustDPoPKey(bearertest.EdDSA, bearertest.WithClock(clock))
	m := newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithClock(clock), bearer.WithRealm("api"), bearer.WithDPoP(bearer.DPoP{}))...)
	srv := serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := bearer.FromContext(r.Context())
		io.WriteString(w, tok.Subject()+" "+tok.DPoPThumbprint())
	})))
	url := srv.URL + "/orders"
	bound := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})
	plain := iss.MustMint(bearertest.Claims{"sub": "bob"})

	proofError := func(desc string) string {
		return `Bearer realm="api" | DPoP realm="api", ` + dpopAlgs + `, error="invalid_dpop_proof", error_description="` + desc + `"`
	}
	tokenError := func(scheme, desc string) string {
		if scheme == "DPoP" {
			return `Bearer realm="api" | DPoP realm="api", ` + dpopAlgs + `, error="invalid_token", error_description="` + desc + `"`
		}
		return `Bearer realm="api", error="invalid_token", error_description="` + desc + `" | DPoP realm="api", ` + dpopAlgs
	}
	with := func(change func(bearertest.Claims)) string {
		c := key.ProofClaims("GET", url, bound)
		change(c)
		p, err := key.ProofWith(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	header := func(h map[string]any) string {
		p, err := key.ProofWith(h, key.ProofClaims("GET", url, bound))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	cases := []struct {
		name      string
		method    string
		scheme    string
		token     string
		proofs    []string
		status    int
		challenge string
		body      string
	}{
		{name: "bound token with its proof", scheme: "DPoP", token: bound, proofs: []string{key.MustProof("GET", url, bound)}, status: 200, body: "alice " + key.Thumbprint()},
		{name: "query and fragment ignored", scheme: "DPoP", token: bound, proofs: []string{key.MustProof("GET", url+"?a=1#f", bound)}, status: 200, body: "alice " + key.Thumbprint()},
		{name: "normalized URL", scheme: "DPoP", token: bound, proofs: []string{key.MustProof("GET", strings.Replace(url, "http://", "HTTP://", 1), bound)}, status: 200, body: "alice " + key.Thumbprint()},
		{name: "plain token as Bearer", scheme: "Bearer", token: plain, status: 200, body: "bob"},
		{name: "no token", status: 401, challenge: `Bearer realm="api" | DPoP realm="api", ` + dpopAlgs},
		{name: "bound token as Bearer (RFC 9449 §7.1)", scheme: "Bearer", token: bound, status: 401, challenge: tokenError("Bearer", "token requires proof of possession")},
		{name: "bound token as Bearer with a proof", scheme: "Bearer", token: bound, proofs: []string{key.MustProof("GET", url, bound)}, status: 401, challenge: tokenError("Bearer", "token requires proof of possession")},
		{name: "unbound token as DPoP", scheme: "DPoP", token: plain, proofs: []string{key.MustProof("GET", url, plain)}, status: 401, challenge: tokenError("DPoP", "token not bound to the DPoP proof key")},
		{name: "proof by another key", scheme: "DPoP", token: bound, proofs: []string{other.MustProof("GET", url, bound)}, status: 401, challenge: tokenError("DPoP", "token not bound to the DPoP proof key")},
		{name: "no proof", scheme: "DPoP", token: bound, status: 401, challenge: proofError("DPoP proof missing")},
		{name: "two proofs", scheme: "DPoP", token: bound, proofs: []string{key.MustProof("GET", url, bound), key.MustProof("GET", url, bound)}, status: 401, challenge: proofError("more than one DPoP proof")},
		{name: "malformed proof", scheme: "DPoP", token: bound, proofs: []string{"abc"}, status: 401, challenge: proofError("malformed DPoP proof")},
		{name: "access token as proof", scheme: "DPoP", token: bound, proofs: []string{bound}, status: 401, challenge: proofError("DPoP proof type not accepted")},
		{name: "typ JWT", scheme: "DPoP", token: bound, proofs: []string{header(map[string]any{"typ": "JWT"})}, status: 401, challenge: proofError("DPoP proof type not accepted")},
		{name: "no jwk", scheme: "DPoP", token: bound, proofs: []string{header(map[string]any{"jwk": nil})}, status: 401, challenge: proofError("DPoP proof key invalid")},
		{name: "jwk of another key", scheme: "DPoP", token: bound, proofs: []string{header(map[string]any{"jwk": bearertest.MustDPoPKey(bearertest.ES256).JWK()})}, status: 401, challenge: proofError("DPoP proof signature invalid")},
		{name: "jwk of another key type", scheme: "DPoP", token: bound, proofs: []string{header(map[string]any{"jwk": other.JWK()})}, status: 401, challenge: proofError("DPoP proof algorithm not allowed")},
		{name: "private key in jwk", scheme: "DPoP", token: bound, proofs: []string{header(map[string]any{"jwk": key.PrivateJWK()})}, status: 401, challenge: proofError("DPoP proof key invalid")},
		{name: "method mismatch", method: "POST", scheme: "DPoP", token: bound, proofs: []string{key.MustProof("GET", url, bound)}, status: 401, challenge: proofError("DPoP proof method mismatch")},
		{name: "URL of another path", scheme: "DPoP", token: bound, proofs: []string{key.MustProof("GET", srv.URL+"/admin", bound)}, status: 401, challenge: proofError("DPoP proof URL mismatch")},
		{name: "URL of another host", scheme: "DPoP", token: bound, proofs: []string{key.MustProof("GET", "https://evil.example/orders", bound)}, status: 401, challenge: proofError("DPoP proof URL mismatch")},
		{name: "relative htu", scheme: "DPoP", token: bound, proofs: []string{key.MustProof("GET", "/orders", bound)}, status: 401, challenge: proofError("DPoP proof URL mismatch")},
		{name: "proof for another token", scheme: "DPoP", token: bound, proofs: []string{key.MustProof("GET", url, plain)}, status: 401, challenge: proofError("DPoP proof access token hash mismatch")},
		{name: "no ath", scheme: "DPoP", token: bound, proofs: []string{with(func(c bearertest.Claims) { delete(c, "ath") })}, status: 401, challenge: proofError("DPoP proof access token hash mismatch")},
		{name: "no jti", scheme: "DPoP", token: bound, proofs: []string{with(func(c bearertest.Claims) { delete(c, "jti") })}, status: 401, challenge: proofError("DPoP proof has no valid jti")},
		{name: "no iat", scheme: "DPoP", token: bound, proofs: []string{with(func(c bearertest.Claims) { delete(c, "iat") })}, status: 401, challenge: proofError("DPoP proof outside its time window")},
		{name: "iat at the window's start", scheme: "DPoP", token: bound, proofs: []string{with(func(c bearertest.Claims) { c["iat"] = now.Add(-bearer.DefaultDPoPWindow).Unix() })}, status: 200, body: "alice " + key.Thumbprint()},
		{name: "iat before the window", scheme: "DPoP", token: bound, proofs: []string{with(func(c bearertest.Claims) { c["iat"] = now.Add(-bearer.DefaultDPoPWindow - time.Second).Unix() })}, status: 401, challenge: proofError("DPoP proof outside its time window")},
		{name: "iat at the window's end", scheme: "DPoP", token: bound, proofs: []string{with(func(c bearertest.Claims) { c["iat"] = now.Add(bearer.DefaultDPoPWindow).Unix() })}, status: 200, body: "alice " + key.Thumbprint()},
		{name: "iat after the window", scheme: "DPoP", token: bound, proofs: []string{with(func(c bearertest.Claims) { c["iat"] = now.Add(bearer.DefaultDPoPWindow + time.Second).Unix() })}, status: 401, challenge: proofError("DPoP proof outside its time window")},
		{name: "iat as a string", scheme: "DPoP", token: bound, proofs: []string{with(func(c bearertest.Claims) { c["iat"] = "1900000000" })}, status: 401, challenge: proofError("malformed DPoP proof")},
		{name: "crit in the proof", scheme: "DPoP", token: bound, proofs: []string{header(map[string]any{"crit": []string{"x"}, "x": 1})}, status: 401, challenge: proofError("malformed DPoP proof")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "GET"
			}
			got := dpopCall(t, method, url, c.scheme, c.token, c.proofs...)
			if got.status != c.status || got.challenge != c.challenge || c.body != "" && got.body != c.body {
				t.Errorf("got %d %q %q\nwant %d %q %q", got.status, got.challenge, got.body, c.status, c.challenge, c.body)
			}
		})
	}

	t.Run("replayed proof", func(t *testing.T) {
		proof := key.MustProof("GET", url, bound)
		if got := dpopCall(t, "GET", url, "DPoP", bound, proof); got.status != 200 {
			t.Fatalf("first use: %d %s", got.status, got.challenge)
		}
		if got := dpopCall(t, "GET", url, "DPoP", bound, proof); got.status != 401 || got.challenge != proofError("DPoP proof replayed") {
			t.Errorf("replay: %d %s", got.status, got.challenge)
		}
	})
	t.Run("invalid proof does not spend its jti", func(t *testing.T) {
		c := key.ProofClaims("GET", url, bound)
		bad, _ := key.ProofWith(map[string]any{"typ": "JWT"}, c)
		good, _ := key.ProofWith(nil, c)
		dpopCall(t, "GET", url, "DPoP", bound, bad)
		if got := dpopCall(t, "GET", url, "DPoP", bound, good); got.status != 200 {
			t.Errorf("valid proof after an invalid one with its jti: %d %s", got.status, got.challenge)
		}
	})
	t.Run("Verify refuses bound tokens", func(t *testing.T) {
		if _, err := m.Verify(t.Context(), bound); !errors.Is(err, bearer.ErrTokenBinding) {
			t.Errorf("Verify: %v", err)
		}
	})
}

func TestDPoPRequired(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.EdDSA)
	m := newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithDPoP(bearer.DPoP{Required: true, Algorithms: []string{"EdDSA"}}))...)
	srv := serve(t, m.Handler(whoami))
	bound := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})
	plain := iss.MustMint(bearertest.Claims{"sub": "bob"})

	if got := dpopCall(t, "GET", srv.URL, "DPoP", bound, key.MustProof("GET", srv.URL, bound)); got.status != 200 {
		t.Errorf("DPoP: %d %s", got.status, got.challenge)
	}
	if got := dpopCall(t, "GET", srv.URL, "Bearer", plain); got.status != 401 || got.challenge != `DPoP algs="EdDSA", error="invalid_token", error_description="DPoP required"` {
		t.Errorf("Bearer where DPoP is required: %d %s", got.status, got.challenge)
	}
	if got := dpopCall(t, "GET", srv.URL, "", ""); got.status != 401 || got.challenge != `DPoP algs="EdDSA"` {
		t.Errorf("no token: %d %s", got.status, got.challenge)
	}
	es := bearertest.MustDPoPKey(bearertest.ES256)
	esBound := iss.MustMint(bearertest.Claims{"cnf": es.Confirmation()})
	if got := dpopCall(t, "GET", srv.URL, "DPoP", esBound, es.MustProof("GET", srv.URL, esBound)); got.status != 401 || !strings.Contains(got.challenge, "DPoP proof algorithm not allowed") {
		t.Errorf("proof algorithm outside the list: %d %s", got.status, got.challenge)
	}
	for _, algs := range [][]string{{"HS256"}, {"none"}, {}} {
		if _, err := bearer.New(iss.KeySource(), anyIssuer(bearer.WithDPoP(bearer.DPoP{Algorithms: algs}))...); err == nil {
			t.Errorf("DPoP algorithms %q accepted", algs)
		}
	}
}

func TestDPoPDisabledRefusesBoundTokens(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	m := newMiddleware(t, iss.KeySource(), anyIssuer()...)
	srv := serve(t, m.Handler(whoami))
	bound := iss.MustMint(bearertest.Claims{"cnf": key.Confirmation()})
	got := dpopCall(t, "GET", srv.URL, "Bearer", bound, key.MustProof("GET", srv.URL, bound))
	if got.status != 401 || got.challenge != `Bearer error="invalid_token", error_description="token requires proof of possession"` {
		t.Errorf("%d %s", got.status, got.challenge)
	}
	certBound := iss.MustMint(bearertest.Claims{"cnf": map[string]any{"x5t#S256": "abc"}})
	if got := dpopCall(t, "GET", srv.URL, "Bearer", certBound); got.status != 401 {
		t.Errorf("certificate-bound token: %d", got.status)
	}
	// DPoP scheme without WithDPoP is another scheme: no token.
	if got := dpopCall(t, "GET", srv.URL, "DPoP", bound, key.MustProof("GET", srv.URL, bound)); got.status != 401 || got.challenge != "Bearer" {
		t.Errorf("DPoP scheme: %d %s", got.status, got.challenge)
	}
}

func TestDPoPNonces(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	nonces := bearer.HMACNonces([]byte("a shared secret of the instances"), time.Minute)
	m := newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithDPoP(bearer.DPoP{Nonces: nonces}))...)
	srv := serve(t, m.Handler(whoami))
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})

	// First request: no nonce. The answer says use_dpop_nonce and gives one.
	got := dpopCall(t, "GET", srv.URL, "DPoP", tok, key.MustProof("GET", srv.URL, tok))
	nonce := got.header.Get("DPoP-Nonce")
	if got.status != 401 || nonce == "" || !strings.Contains(got.challenge, `error="use_dpop_nonce"`) {
		t.Fatalf("without nonce: %d %q %s", got.status, nonce, got.challenge)
	}
	c := key.ProofClaims("GET", srv.URL, tok)
	c["nonce"] = nonce
	proof, _ := key.ProofWith(nil, c)
	if got := dpopCall(t, "GET", srv.URL, "DPoP", tok, proof); got.status != 200 {
		t.Errorf("with nonce: %d %s", got.status, got.challenge)
	}
	// Another instance with the same secret accepts the nonce; one with
	// another secret does not.
	c = key.ProofClaims("GET", srv.URL, tok)
	c["nonce"] = nonce
	proof, _ = key.ProofWith(nil, c)
	stranger := newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithDPoP(bearer.DPoP{Nonces: bearer.HMACNonces(nil, time.Minute)}))...)
	if got := dpopCall(t, "GET", serve(t, stranger.Handler(whoami)).URL, "DPoP", tok, proof); got.status != 401 {
		t.Errorf("foreign nonce: %d", got.status)
	}
	c["nonce"] = nonce[:len(nonce)-2] + "AA"
	forged, _ := key.ProofWith(nil, c)
	if got := dpopCall(t, "GET", srv.URL, "DPoP", tok, forged); got.status != 401 || !strings.Contains(got.challenge, "use_dpop_nonce") {
		t.Errorf("forged nonce: %d %s", got.status, got.challenge)
	}
}

// A proof is a replay for as long as its window lasts, also when the
// middleware's clock (WithClock) is not the wall clock the replay cache
// keeps its entries by.
func TestDPoPReplayWithClockBehind(t *testing.T) {
	then := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return then }
	iss := bearertest.MustIssuer(bearertest.ES256, bearertest.WithClock(clock))
	key := bearertest.MustDPoPKey(bearertest.ES256, bearertest.WithClock(clock))
	srv := serve(t, newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithClock(clock), bearer.WithDPoP(bearer.DPoP{}))...).Handler(whoami))
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})
	proof := key.MustProof("GET", srv.URL+"/orders", tok)
	if got := dpopCall(t, "GET", srv.URL+"/orders", "DPoP", tok, proof); got.status != 200 {
		t.Fatalf("first use: %d %s", got.status, got.challenge)
	}
	if got := dpopCall(t, "GET", srv.URL+"/orders", "DPoP", tok, proof); got.status != 401 || !strings.Contains(got.challenge, "DPoP proof replayed") {
		t.Errorf("replay: %d %s", got.status, got.challenge)
	}
}

func TestDPoPBaseURLAndSharedReplay(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	replay := bearer.NewMemoryReplayCache(1000)
	cfg := bearer.DPoP{BaseURL: "https://api.example.com/v1", Replay: replay}
	a := serve(t, newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithDPoP(cfg))...).Handler(whoami))
	b := serve(t, newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithDPoP(cfg))...).Handler(whoami))
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})

	// Behind a proxy the proof names the public URL, not the server's.
	proof := key.MustProof("PUT", "https://api.example.com/v1/orders/7", tok)
	if got := dpopCall(t, "PUT", a.URL+"/orders/7", "DPoP", tok, proof); got.status != 200 {
		t.Fatalf("instance A: %d %s", got.status, got.challenge)
	}
	if got := dpopCall(t, "PUT", b.URL+"/orders/7", "DPoP", tok, proof); got.status != 401 || !strings.Contains(got.challenge, "DPoP proof replayed") {
		t.Errorf("replay on instance B: %d %s", got.status, got.challenge)
	}
	if got := dpopCall(t, "PUT", b.URL+"/orders/7", "DPoP", tok, key.MustProof("PUT", b.URL+"/orders/7", tok)); got.status != 401 || !strings.Contains(got.challenge, "URL mismatch") {
		t.Errorf("server's own URL behind a proxy: %d %s", got.status, got.challenge)
	}
	if _, err := bearer.New(iss.KeySource(), anyIssuer(bearer.WithDPoP(bearer.DPoP{BaseURL: "api.example.com"}))...); err == nil {
		t.Error("relative BaseURL accepted")
	}
}

func TestDPoPProofLimits(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})

	t.Run("WithMaxTokenSize bounds proofs", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithDPoP(bearer.DPoP{}), bearer.WithMaxTokenSize(len(tok)+1))...)
		srv := serve(t, m.Handler(whoami))
		c := key.ProofClaims("GET", srv.URL, tok)
		c["pad"] = strings.Repeat("x", len(tok))
		big, _ := key.ProofWith(nil, c)
		if got := dpopCall(t, "GET", srv.URL, "DPoP", tok, big); got.status != 401 || !strings.Contains(got.challenge, "malformed DPoP proof") {
			t.Errorf("proof over the size limit: %d %s", got.status, got.challenge)
		}
	})
	t.Run("jti length", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithDPoP(bearer.DPoP{}))...)
		srv := serve(t, m.Handler(whoami))
		c := key.ProofClaims("GET", srv.URL, tok)
		c["jti"] = strings.Repeat("j", 257)
		long, _ := key.ProofWith(nil, c)
		if got := dpopCall(t, "GET", srv.URL, "DPoP", tok, long); got.status != 401 || !strings.Contains(got.challenge, "DPoP proof has no valid jti") {
			t.Errorf("jti of 257 bytes: %d %s", got.status, got.challenge)
		}
	})
	t.Run("replay cache full", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithDPoP(bearer.DPoP{Replay: bearer.NewMemoryReplayCache(1)}))...)
		srv := serve(t, m.Handler(whoami))
		if got := dpopCall(t, "GET", srv.URL, "DPoP", tok, key.MustProof("GET", srv.URL, tok)); got.status != 200 {
			t.Fatalf("first proof: %d %s", got.status, got.challenge)
		}
		// The cache holds one live id: a second proof cannot be checked
		// for replay, so it is refused, not let through unchecked.
		got := dpopCall(t, "GET", srv.URL, "DPoP", tok, key.MustProof("GET", srv.URL, tok))
		if got.status != 503 || got.header.Get("Retry-After") == "" {
			t.Errorf("second proof with a full cache: %d %v", got.status, got.header)
		}
	})
}

// Expired ids leave the memory replay cache: a full cache takes new ones
// once the old have lapsed.
func TestMemoryReplayCacheExpiry(t *testing.T) {
	c := bearer.NewMemoryReplayCache(1)
	ctx := t.Context()
	if fresh, err := c.Remember(ctx, "a", time.Now().Add(-time.Second)); !fresh || err != nil {
		t.Fatalf("a: %v %v", fresh, err)
	}
	if fresh, err := c.Remember(ctx, "b", time.Now().Add(time.Minute)); !fresh || err != nil {
		t.Errorf("b after a lapsed: %v %v", fresh, err)
	}
	if fresh, err := c.Remember(ctx, "c", time.Now().Add(time.Minute)); fresh || !errors.Is(err, bearer.ErrReplayCacheFull) {
		t.Errorf("c in a full cache: %v %v", fresh, err)
	}
	if fresh, err := c.Remember(ctx, "b", time.Now().Add(time.Minute)); fresh || err != nil {
		t.Errorf("b again: %v %v", fresh, err)
	}
}

// BenchmarkDPoPProof is the cost of a normal request with a DPoP-bound
// token and a fresh ES256 proof, the yardstick of BenchmarkDPoPHugeKey.
func BenchmarkDPoPProof(b *testing.B) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	m := benchMiddleware(b, iss.KeySource(), bearer.WithDPoP(bearer.DPoP{}))
	const url = "https://api.example/orders"
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer() // each proof is accepted once: sign a new one
		r := dpopRequest(url, tok, key.MustProof("GET", url, tok))
		b.StartTimer()
		if _, err := m.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDPoPHugeKey is the cost of a proof an attacker makes as
// expensive as the proof size allows: an RSA key with the largest modulus
// that fits and the largest exponent crypto/rsa takes (2³¹−1), presented
// with a bound token (bound to another key) and with an unbound one. The
// signature is junk: only the work done before refusing it counts.
func BenchmarkDPoPHugeKey(b *testing.B) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	m := benchMiddleware(b, iss.KeySource(), bearer.WithDPoP(bearer.DPoP{}))
	const url = "https://api.example/orders"
	for _, c := range []struct{ name, token string }{
		{"bound token", iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})},
		{"unbound token", iss.MustMint(bearertest.Claims{"sub": "bob"})},
	} {
		b.Run(c.name, func(b *testing.B) {
			proof, bits := hugeKeyProof(b, key.ProofClaims("GET", url, c.token), bearer.DefaultMaxTokenSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Authenticate(dpopRequest(url, c.token, proof)); err == nil {
					b.Fatal("a proof with a junk signature accepted")
				}
			}
			b.ReportMetric(float64(bits), "modulus-bits")
		})
	}
}

// hugeKeyProof returns a proof with claims, no longer than limit, whose
// jwk is an RSA key with the largest modulus that fits and e = 2³¹−1, and
// the modulus's size in bits.
func hugeKeyProof(tb testing.TB, claims bearertest.Claims, limit int) (string, int) {
	tb.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	for size := limit; size > 0; size -= 8 {
		n := make([]byte, size)
		rand.Read(n)
		n[0] |= 0x80   // the full size
		n[size-1] |= 1 // odd, as crypto/rsa demands
		sig := make([]byte, size)
		rand.Read(sig)
		sig[0] = 1 // below the modulus
		header := fmt.Sprintf(`{"typ":"dpop+jwt","alg":"RS256","jwk":{"kty":"RSA","n":%q,"e":"f____w"}}`, b64.EncodeToString(n))
		proof := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString(payload) + "." + b64.EncodeToString(sig)
		if len(proof) <= limit {
			return proof, size * 8
		}
	}
	tb.Fatal("no room for a key")
	return "", 0
}

// dpopRequest is a GET of url with a DPoP token and proof.
func dpopRequest(url, token, proof string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, url, nil)
	r.Header.Set("Authorization", "DPoP "+token)
	r.Header.Set("DPoP", proof)
	return r
}

// benchMiddleware is newMiddleware for benchmarks.
func benchMiddleware(b *testing.B, src bearer.KeySource, opts ...bearer.Option) *bearer.Middleware {
	b.Helper()
	m, err := bearer.New(src, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}
