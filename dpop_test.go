package bearer_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
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
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithClock(clock), bearer.WithRealm("api"), bearer.WithDPoP(bearer.DPoP{}))...)
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
		{name: "jwk of another key", scheme: "DPoP", token: bound, proofs: []string{header(map[string]any{"jwk": bearertest.MustDPoPKey(bearertest.ES256).JWK()})}, status: 401, challenge: tokenError("DPoP", "token not bound to the DPoP proof key")},
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
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{Required: true, Algorithms: []string{"EdDSA"}}))...)
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
		if _, err := bearer.New(iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{Algorithms: algs}))...); err == nil {
			t.Errorf("DPoP algorithms %q accepted", algs)
		}
	}
}

func TestDPoPDisabledRefusesBoundTokens(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
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
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{Nonces: nonces}))...)
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
	stranger := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{Nonces: bearer.HMACNonces(nil, time.Minute)}))...)
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
	srv := serve(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithClock(clock), bearer.WithDPoP(bearer.DPoP{}))...).Handler(whoami))
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
	a := serve(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(cfg))...).Handler(whoami))
	b := serve(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(cfg))...).Handler(whoami))
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
	if _, err := bearer.New(iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{BaseURL: "api.example.com"}))...); err == nil {
		t.Error("relative BaseURL accepted")
	}
}

func TestDPoPProofLimits(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})

	t.Run("WithMaxTokenSize bounds proofs", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{}), bearer.WithMaxTokenSize(len(tok)+1))...)
		srv := serve(t, m.Handler(whoami))
		c := key.ProofClaims("GET", srv.URL, tok)
		c["pad"] = strings.Repeat("x", len(tok))
		big, _ := key.ProofWith(nil, c)
		if got := dpopCall(t, "GET", srv.URL, "DPoP", tok, big); got.status != 401 || !strings.Contains(got.challenge, "malformed DPoP proof") {
			t.Errorf("proof over the size limit: %d %s", got.status, got.challenge)
		}
	})
	t.Run("jti length", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{}))...)
		srv := serve(t, m.Handler(whoami))
		c := key.ProofClaims("GET", srv.URL, tok)
		c["jti"] = strings.Repeat("j", 257)
		long, _ := key.ProofWith(nil, c)
		if got := dpopCall(t, "GET", srv.URL, "DPoP", tok, long); got.status != 401 || !strings.Contains(got.challenge, "DPoP proof has no valid jti") {
			t.Errorf("jti of 257 bytes: %d %s", got.status, got.challenge)
		}
	})
	t.Run("replay cache full", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{Replay: bearer.NewMemoryReplayCache(1)}))...)
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

// Expired ids leave the memory replay cache, on the clock of the ProofIDs:
// a full cache takes new ones once the old have lapsed.
func TestMemoryReplayCacheExpiry(t *testing.T) {
	c := bearer.NewMemoryReplayCache(1)
	ctx := t.Context()
	now := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC) // far from the wall clock
	use := func(jti string, at time.Time) bearer.ProofID {
		return bearer.ProofID{Key: "k", JTI: jti, Now: at, Until: now.Add(time.Minute)}
	}
	if fresh, err := c.Remember(ctx, use("a", now)); !fresh || err != nil {
		t.Fatalf("a: %v %v", fresh, err)
	}
	if fresh, err := c.Remember(ctx, use("a", now.Add(time.Minute-time.Nanosecond))); fresh || err != nil {
		t.Errorf("a again before its window closed: %v %v", fresh, err)
	}
	if fresh, err := c.Remember(ctx, use("b", now.Add(time.Second))); fresh || !errors.Is(err, bearer.ErrReplayCacheFull) {
		t.Errorf("b in a full cache: %v %v", fresh, err)
	}
	later := now.Add(time.Minute)
	if fresh, err := c.Remember(ctx, bearer.ProofID{Key: "k", JTI: "b", Now: later, Until: later.Add(time.Minute)}); !fresh || err != nil {
		t.Errorf("b after a lapsed: %v %v", fresh, err)
	}
	if fresh, err := c.Remember(ctx, bearer.ProofID{Key: "k", JTI: "b", Now: later, Until: later.Add(time.Minute)}); fresh || err != nil {
		t.Errorf("b again: %v %v", fresh, err)
	}
}

// BenchmarkDPoPProof is the cost of a normal request with a DPoP-bound
// token and a fresh ES256 proof, the yardstick of BenchmarkDPoPHugeKey.
func BenchmarkDPoPProof(b *testing.B) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	m := benchMiddleware(b, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{}))...)
	const url = "https://api.example/orders"
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer() // each proof is accepted once: sign a new one
		r := dpopRequest(url, tok, key.MustProof("GET", url, tok))
		b.StartTimer()
		if _, err := authenticate(m, r); err != nil {
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
	m := benchMiddleware(b, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{}))...)
	const url = "https://api.example/orders"
	for _, c := range []struct{ name, token string }{
		{"bound token", iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})},
		{"unbound token", iss.MustMint(bearertest.Claims{"sub": "bob"})},
	} {
		b.Run(c.name, func(b *testing.B) {
			proof, bits := hugeKeyProof(b, key.ProofClaims("GET", url, c.token), bearer.DefaultMaxTokenSize)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := authenticate(m, dpopRequest(url, c.token, proof)); err == nil {
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
	for bits := limit * 8; bits > 0; bits -= 64 {
		if proof := junkKeyProof(tb, junkRSA(bits, 1<<31-1), claims); len(proof) <= limit {
			return proof, bits
		}
	}
	tb.Fatal("no room for a key")
	return "", 0
}

// junkRSA is an RSA public key of the given size and exponent whose
// modulus is random: nobody can sign with it, but verifying with it costs
// what a real key of its size costs.
func junkRSA(bits, e int) *rsa.PublicKey {
	n := make([]byte, (bits+7)/8)
	rand.Read(n)
	n[0] |= 0x80 >> ((8 - bits%8) % 8) // exactly bits long
	n[0] &= 0xff >> ((8 - bits%8) % 8)
	n[len(n)-1] |= 1 // odd, as crypto/rsa demands
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: e}
}

// rsaJWK and rsaThumbprint are pub as a proof's jwk and its RFC 7638
// thumbprint (the members in that order, without white space).
func rsaJWK(pub *rsa.PublicKey) string {
	b64 := base64.RawURLEncoding
	return fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()), b64.EncodeToString(pub.N.Bytes()))
}

func rsaThumbprint(pub *rsa.PublicKey) string {
	sum := sha256.Sum256([]byte(rsaJWK(pub)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// junkKeyProof is an RS256 proof with claims whose jwk is pub and whose
// signature is random bytes below pub's modulus: refused, at the cost of
// whatever checks run before the refusal.
func junkKeyProof(tb testing.TB, pub *rsa.PublicKey, claims bearertest.Claims) string {
	tb.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	sig := make([]byte, (pub.N.BitLen()+7)/8)
	rand.Read(sig)
	sig[0] = 0
	b64 := base64.RawURLEncoding
	header := `{"typ":"dpop+jwt","alg":"RS256","jwk":` + rsaJWK(pub) + `}`
	return b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString(payload) + "." + b64.EncodeToString(sig)
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

// The proof's key is checked against the token's binding, and against the
// key bounds, before its signature: the answers show the order, and
// BenchmarkDPoPHugeKey the cost.
func TestDPoPBindingBeforeSignature(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	stranger := bearertest.MustDPoPKey(bearertest.ES256)
	srv := serve(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{}))...).Handler(whoami))
	url := srv.URL + "/orders"
	bound := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})
	plain := iss.MustMint(bearertest.Claims{"sub": "bob"})
	type row struct{ name, token, proof, desc string }
	// rsaRow is a row whose proof carries pub, with a junk signature, and
	// a token bound to pub, or with toPub false to key.
	rsaRow := func(name string, pub *rsa.PublicKey, toPub bool, desc string) row {
		tok := bound
		if toPub {
			tok = iss.MustMint(bearertest.Claims{"sub": "carol", "cnf": map[string]any{"jkt": rsaThumbprint(pub)}})
		}
		return row{name, tok, junkKeyProof(t, pub, key.ProofClaims("GET", url, tok)), desc}
	}
	spoiled := stranger.MustProof("GET", url, bound)
	spoiled = spoiled[:len(spoiled)-4] + "AAAA"
	var padded map[string]any // the bound key's jwk, padded past 1 KiB
	if err := json.Unmarshal(key.JWK(), &padded); err != nil {
		t.Fatal(err)
	}
	padded["kid"] = strings.Repeat("k", 1024)
	long, err := key.ProofWith(map[string]any{"jwk": padded}, key.ProofClaims("GET", url, bound))
	if err != nil {
		t.Fatal(err)
	}
	cases := []row{
		{"jwk over 1 KiB, not parsed", bound, long, "DPoP proof key invalid"},
		{"unbound token, malformed proof", plain, "abc", "token not bound to the DPoP proof key"},
		{"unbound token, huge RSA key", plain, junkKeyProof(t, junkRSA(20000, 1<<31-1), key.ProofClaims("GET", url, plain)), "token not bound to the DPoP proof key"},
		{"a stranger's key, spoiled signature", bound, spoiled, "token not bound to the DPoP proof key"},
		rsaRow("a stranger's huge RSA key", junkRSA(20000, 1<<31-1), false, "DPoP proof key invalid"),
		rsaRow("a stranger's RSA key within the bounds", junkRSA(2048, 65537), false, "token not bound to the DPoP proof key"),
		rsaRow("bound to an RSA key over 4096 bits", junkRSA(4096+8, 65537), true, "DPoP proof key invalid"),
		rsaRow("bound to an RSA key with e = 2³¹−1", junkRSA(2048, 1<<31-1), true, "DPoP proof key invalid"),
		rsaRow("bound to an RSA key with e = 65539", junkRSA(2048, 65539), true, "DPoP proof key invalid"),
		rsaRow("bound to an RSA key with e = 1", junkRSA(2048, 1), true, "DPoP proof key invalid"),
		// Within the bounds the key is taken, and the junk signature refused.
		rsaRow("bound to a 4096-bit RSA key", junkRSA(4096, 65537), true, "DPoP proof signature invalid"),
		rsaRow("bound to an RSA key with e = 3", junkRSA(2048, 3), true, "DPoP proof signature invalid"),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := dpopCall(t, "GET", url, "DPoP", c.token, c.proof)
			if got.status != 401 || !strings.Contains(got.challenge, `error_description="`+c.desc+`"`) {
				t.Errorf("got %d %s\nwant 401 %q", got.status, got.challenge, c.desc)
			}
		})
	}
}

// htu matches the request URL after RFC 3986 §6.2.2 and §6.2.3
// normalization and nothing more (RFC 9449 §4.3).
func TestDPoPHTUNormalization(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	srv := serve(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{BaseURL: "https://api.example.com"}))...).Handler(whoami))
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})
	for _, c := range []struct {
		name, path, htu string
		ok              bool
	}{
		{"same URL", "/orders/7", "https://api.example.com/orders/7", true},
		{"scheme and host case", "/orders/7", "HTTPS://API.Example.COM/orders/7", true},
		{"default port", "/orders/7", "https://api.example.com:443/orders/7", true},
		{"empty port", "/orders/7", "https://api.example.com:/orders/7", true},
		{"empty path", "/", "https://api.example.com", true},
		{"encoded unreserved characters", "/a~b-c", "https://api.example.com/a%7Eb%2Dc", true},
		{"hex digit case", "/a%2Fb", "https://api.example.com/a%2fb", true},
		{"another port", "/orders/7", "https://api.example.com:8443/orders/7", false},
		{"another scheme", "/orders/7", "http://api.example.com/orders/7", false},
		{"path case", "/orders/7", "https://api.example.com/Orders/7", false},
		{"encoded slash in htu", "/orders/7", "https://api.example.com/orders%2F7", false},
		{"encoded slash in the request", "/orders%2F7", "https://api.example.com/orders/7", false},
		{"encoded reserved character", "/a!b", "https://api.example.com/a%21b", false},
		{"dot segments", "/orders/7", "https://api.example.com/x/../orders/7", false},
		{"userinfo", "/orders/7", "https://alice:secret@api.example.com/orders/7", false},
		{"empty userinfo", "/orders/7", "https://@api.example.com/orders/7", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := dpopCall(t, "GET", srv.URL+c.path, "DPoP", tok, key.MustProof("GET", c.htu, tok))
			if c.ok && got.status != 200 || !c.ok && (got.status != 401 || !strings.Contains(got.challenge, "DPoP proof URL mismatch")) {
				t.Errorf("htu %s for %s: %d %s", c.htu, c.path, got.status, got.challenge)
			}
		})
	}
}

// The replay cache hears only of proofs signed by the key their token is
// bound to, and in memory no one key may fill it.
func TestDPoPReplayBounds(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})

	t.Run("stored after the binding check", func(t *testing.T) {
		stranger := bearertest.MustDPoPKey(bearertest.ES256)
		srv := serve(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{Replay: bearer.NewMemoryReplayCache(1)}))...).Handler(whoami))
		for range 3 { // a token holder's proofs with another key take no room
			if got := dpopCall(t, "GET", srv.URL, "DPoP", tok, stranger.MustProof("GET", srv.URL, tok)); got.status != 401 {
				t.Fatalf("proof by a stranger: %d %s", got.status, got.challenge)
			}
		}
		if got := dpopCall(t, "GET", srv.URL, "DPoP", tok, key.MustProof("GET", srv.URL, tok)); got.status != 200 {
			t.Errorf("proof by the bound key: %d %s", got.status, got.challenge)
		}
	})
	t.Run("one key's share", func(t *testing.T) {
		srv := serve(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithDPoP(bearer.DPoP{Replay: bearer.NewMemoryReplayCache(32)}))...).Handler(whoami))
		for i := range 2 { // 32/16
			if got := dpopCall(t, "GET", srv.URL, "DPoP", tok, key.MustProof("GET", srv.URL, tok)); got.status != 200 {
				t.Fatalf("proof %d: %d %s", i, got.status, got.challenge)
			}
		}
		got := dpopCall(t, "GET", srv.URL, "DPoP", tok, key.MustProof("GET", srv.URL, tok))
		if got.status != 503 || got.header.Get("Retry-After") == "" {
			t.Errorf("proof over the key's share: %d %v", got.status, got.header)
		}
		other := bearertest.MustDPoPKey(bearertest.EdDSA)
		otherTok := iss.MustMint(bearertest.Claims{"sub": "bob", "cnf": other.Confirmation()})
		if got := dpopCall(t, "GET", srv.URL, "DPoP", otherTok, other.MustProof("GET", srv.URL, otherTok)); got.status != 200 {
			t.Errorf("another key beside it: %d %s", got.status, got.challenge)
		}
	})
	t.Run("memory cache", func(t *testing.T) {
		c := bearer.NewMemoryReplayCache(32)
		now := time.Now()
		at := func(key, jti string) bearer.ProofID {
			return bearer.ProofID{Key: key, JTI: jti, Now: now, Until: now.Add(time.Minute)}
		}
		for _, jti := range []string{"1", "2"} {
			if fresh, err := c.Remember(t.Context(), at("a", jti)); !fresh || err != nil {
				t.Fatalf("a %s: %v %v", jti, fresh, err)
			}
		}
		if fresh, err := c.Remember(t.Context(), at("a", "3")); fresh || !errors.Is(err, bearer.ErrReplayKeyQuota) {
			t.Errorf("a 3: %v %v", fresh, err)
		}
		if fresh, err := c.Remember(t.Context(), at("a", "1")); fresh || err != nil {
			t.Errorf("a 1 again, over the share: %v %v", fresh, err)
		}
		if fresh, err := c.Remember(t.Context(), at("b", "1")); !fresh || err != nil {
			t.Errorf("b 1: %v %v", fresh, err)
		}
		now = now.Add(time.Minute) // a's ids lapse, and its share is free again
		if fresh, err := c.Remember(t.Context(), at("a", "3")); !fresh || err != nil {
			t.Errorf("a 3 a minute later: %v %v", fresh, err)
		}
	})
}

// HMACNonces go by the middleware's clock: a nonce lasts its lifetime,
// and one issued ahead of the clock (by an instance whose clock is ahead)
// is refused.
func TestHMACNoncesClock(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	iss := bearertest.MustIssuer(bearertest.ES256, bearertest.WithClock(clock))
	key := bearertest.MustDPoPKey(bearertest.ES256, bearertest.WithClock(clock))
	nonces := bearer.HMACNonces([]byte("a shared secret of the instances"), time.Minute)
	srv := serve(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithClock(clock), bearer.WithDPoP(bearer.DPoP{Nonces: nonces}))...).Handler(whoami))
	tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation(), "exp": now.Add(24 * time.Hour).Unix()})
	nonce := func() string {
		t.Helper()
		got := dpopCall(t, "GET", srv.URL, "DPoP", tok, key.MustProof("GET", srv.URL, tok))
		if got.status != 401 || got.header.Get("DPoP-Nonce") == "" {
			t.Fatalf("no nonce: %d %s", got.status, got.challenge)
		}
		return got.header.Get("DPoP-Nonce")
	}
	with := func(nonce string) response {
		c := key.ProofClaims("GET", srv.URL, tok)
		c["nonce"] = nonce
		p, err := key.ProofWith(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		return dpopCall(t, "GET", srv.URL, "DPoP", tok, p)
	}
	start := now
	n := nonce()
	now = start.Add(59 * time.Second)
	if got := with(n); got.status != 200 {
		t.Errorf("nonce within its lifetime: %d %s", got.status, got.challenge)
	}
	now = start.Add(2 * time.Minute)
	if got := with(n); got.status != 401 || !strings.Contains(got.challenge, "use_dpop_nonce") {
		t.Errorf("nonce past its lifetime: %d %s", got.status, got.challenge)
	}
	now = start.Add(time.Hour)
	ahead := nonce()
	now = start
	if got := with(ahead); got.status != 401 || !strings.Contains(got.challenge, "use_dpop_nonce") {
		t.Errorf("nonce issued an hour ahead: %d %s", got.status, got.challenge)
	}
}

// The replay cache goes by the middleware's clock: with that clock
// standing still (as in FuzzDPoPProof), the window never closes, so a
// proof stays a replay however much real time passes.
func TestDPoPReplayOnTheMiddlewareClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		frozen := time.Unix(1_900_000_000, 0)
		clock := func() time.Time { return frozen }
		iss := bearertest.MustIssuer(bearertest.ES256, bearertest.WithClock(clock))
		key := bearertest.MustDPoPKey(bearertest.ES256, bearertest.WithClock(clock))
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithClock(clock), bearer.WithDPoP(bearer.DPoP{}))...)
		const url = "https://api.example/orders"
		tok := iss.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})
		proof := key.MustProof("GET", url, tok)
		if _, err := authenticate(m, dpopRequest(url, tok, proof)); err != nil {
			t.Fatalf("first use: %v", err)
		}
		time.Sleep(2 * bearer.DefaultDPoPWindow) // the bubble's clock, which time.Now reads, moves on
		if _, err := authenticate(m, dpopRequest(url, tok, proof)); !errors.Is(err, bearer.ErrDPoPProof) {
			t.Errorf("replay two windows of real time later: %v, want ErrDPoPProof", err)
		}
	})
}
