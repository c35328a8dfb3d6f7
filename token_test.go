package bearer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/internal/answertest"
)

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// mintHeader mints a token with extra header parameters.
func mintHeader(t *testing.T, iss *bearertest.Issuer, header map[string]any, claims bearertest.Claims) string {
	t.Helper()
	tok, err := iss.MintWithHeader(header, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// resign signs tok's header and claims again with signer's key, keeping
// tok's header (kid included): what an attacker with another key produces.
func resign(t *testing.T, signer *bearertest.Issuer, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	var header map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(raw, &header); err != nil {
		t.Fatal(err)
	}
	delete(header, "alg")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	out, err := signer.Sign(header, payload)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustKeySet(t *testing.T, doc []byte) bearer.KeySource {
	t.Helper()
	src, err := bearer.KeySetJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func verify(t *testing.T, m *bearer.Middleware, tok string) *bearer.Token {
	t.Helper()
	v, err := m.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return v
}

func TestTokenAccessors(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	iss := bearertest.MustIssuer(bearertest.RS256, bearertest.WithClock(clock), bearertest.WithAudience("a", "b"))
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithClock(clock))...)
	raw := iss.MustMint(bearertest.Claims{
		"sub": "alice", "jti": "id-1", "nbf": now.Add(-time.Minute).Unix(),
		"scope":                      "read  write",
		"https://example.com/roles":  []string{"admin"},
		"name":                       "Al\u00efce \"the\" user",
		"https://example.com/tenant": map[string]any{"id": 7},
		"exp":                        now.Add(90*time.Minute).Unix() + 0,
		"iat":                        1_800_000_000.5,
	})
	tok := verify(t, m, raw)

	checks := []struct {
		name      string
		got, want any
	}{
		{"Subject", tok.Subject(), "alice"},
		{"Issuer", tok.Issuer(), iss.Issuer()},
		{"Audience", tok.Audience(), []string{"a", "b"}},
		{"ID", tok.ID(), "id-1"},
		{"Expiry", tok.Expiry(), now.Add(90 * time.Minute)},
		{"IssuedAt", tok.IssuedAt(), now.Add(500 * time.Millisecond)},
		{"NotBefore", tok.NotBefore(), now.Add(-time.Minute)},
		{"Scopes", tok.Scopes(), []string{"read", "write"}},
		{"Raw", tok.Raw(), raw},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if v, ok := tok.Claim("https://example.com/roles"); !ok || !equal(v, []any{"admin"}) {
		t.Errorf("Claim(url) = %v, %v", v, ok)
	}
	if v, ok := tok.Claim("name"); !ok || v != "Al\u00efce \"the\" user" {
		t.Errorf("Claim(name) = %v, %v", v, ok)
	}
	if v, ok := tok.Claim("exp"); !ok || v != float64(now.Add(90*time.Minute).Unix()) {
		t.Errorf("Claim(exp) = %v, %v", v, ok)
	}
	if _, ok := tok.Claim("missing"); ok {
		t.Error("Claim(missing) found")
	}
	if v, ok := tok.Header("kid"); !ok || v != iss.KeyID() {
		t.Errorf("Header(kid) = %v, %v", v, ok)
	}
	if v, ok := tok.Header("typ"); !ok || v != "JWT" {
		t.Errorf("Header(typ) = %v, %v", v, ok)
	}
	var claims struct {
		Subject string         `json:"sub"`
		Roles   []string       `json:"https://example.com/roles"`
		Tenant  map[string]int `json:"https://example.com/tenant"`
	}
	if err := tok.Decode(&claims); err != nil || claims.Subject != "alice" || claims.Roles[0] != "admin" || claims.Tenant["id"] != 7 {
		t.Errorf("Decode = %+v, %v", claims, err)
	}
}

func equal(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestEscapedNames: a member name spelled with JSON escapes is the same
// name, for the registered claims as for Claim, and for duplicates.
func TestEscapedNames(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	sign := func(payload string) string {
		tok, err := iss.Sign(nil, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok := verify(t, m, sign(`{"\u0073ub":"bob","esc\u0061ped":"v","exp":9999999999}`))
	if tok.Subject() != "bob" {
		t.Errorf("escaped sub: %q", tok.Subject())
	}
	if v, ok := tok.Claim("escaped"); !ok || v != "v" {
		t.Errorf("Claim(escaped) = %v, %v", v, ok)
	}
	if _, err := m.Verify(context.Background(), sign(`{"\u0065xp":1}`)); !errors.Is(err, bearer.ErrExpired) {
		t.Errorf("escaped exp in the past: %v", err)
	}
	if _, err := m.Verify(context.Background(), sign(`{"exp":9999999999,"\u0065xp":1}`)); !errors.Is(err, bearer.ErrMalformed) {
		t.Errorf("duplicate exp, one escaped: %v", err)
	}
	// Names equal under case folding: encoding/json, behind Decode and
	// ClaimsFrom, would read one for the other.
	for _, payload := range []string{
		`{"sub":"alice","SUB":"admin","exp":9999999999}`,
		`{"exp":9999999999,"Exp":1}`,
		`{"kid":"a","\u212aid":"b","exp":9999999999}`, // KELVIN SIGN folds to k
		`{"roles":["user"],"ROLES":["admin"],"exp":9999999999}`,
	} {
		if _, err := m.Verify(context.Background(), sign(payload)); !errors.Is(err, bearer.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", payload, err)
		}
	}
	type claims struct {
		Sub string `json:"sub"`
	}
	tok = verify(t, m, sign(`{"sub":"alice","Subject":"x","exp":9999999999}`))
	if c, err := bearer.ClaimsFrom[claims](bearer.NewContext(context.Background(), tok)); err != nil || c.Sub != tok.Subject() {
		t.Errorf("ClaimsFrom = %+v, %v; Subject %q", c, err, tok.Subject())
	}
}

func TestScopeClaims(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	cases := []struct {
		name   string
		claims bearertest.Claims
		want   []string
	}{
		{"scope string", bearertest.Claims{"scope": "a b  c"}, []string{"a", "b", "c"}},
		{"scp array (Okta)", bearertest.Claims{"scp": []string{"a", "b"}}, []string{"a", "b"}},
		{"scp string (Entra ID)", bearertest.Claims{"scp": "a b"}, []string{"a", "b"}},
		{"scope wins over scp", bearertest.Claims{"scope": "a", "scp": []string{"b"}}, []string{"a"}},
		{"none", nil, nil},
		{"empty", bearertest.Claims{"scope": ""}, nil},
	}
	for _, c := range cases {
		tok := verify(t, m, iss.MustMint(c.claims))
		if got := tok.Scopes(); !slices.Equal(got, c.want) {
			t.Errorf("%s: Scopes = %q, want %q", c.name, got, c.want)
		}
		if len(c.want) > 0 && !tok.HasScopes(c.want...) {
			t.Errorf("%s: HasScopes(%q) = false", c.name, c.want)
		}
		if tok.HasScopes("z") {
			t.Errorf("%s: HasScopes(z) = true", c.name)
		}
	}
	if _, err := m.Verify(context.Background(), iss.MustMint(bearertest.Claims{"scope": 7})); !errors.Is(err, bearer.ErrMalformed) {
		t.Errorf("numeric scope: %v", err)
	}
	// Scopes are scope-tokens separated by SP (RFC 6749 §3.3); a value
	// that another reader would split differently is refused.
	for _, claims := range []bearertest.Claims{
		{"scope": "files:read\u00a0admin"}, {"scope": "a\tb"}, {"scope": "a\nb"}, {"scope": "a\u2003b"},
		{"scope": "a\u0000b"}, {"scope": "caf\u00e9"}, {"scope": `a"b`}, {"scope": `a\b`},
		{"scp": []string{"a", "b c"}}, {"scp": []string{"a\u00a0b"}}, {"scp": "a\u00a0b"},
	} {
		if _, err := m.Verify(context.Background(), iss.MustMint(claims)); !errors.Is(err, bearer.ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", claims, err)
		}
	}
	srv := serve(t, m.Handler(bearer.RequireScopes("admin")(whoami)))
	if got := call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"scope": "files:read\u00a0admin"}))); got.status != http.StatusUnauthorized {
		t.Errorf("scope with a no-break space before admin: %d %s", got.status, got.body)
	}
}

// TestExactDecode: Decode and ClaimsFrom give a struct field only the
// member of its exact name, the one the verifier and Claim read.
func TestExactDecode(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	sign := func(payload string) *bearer.Token {
		tok, err := iss.Sign(nil, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return verify(t, m, tok)
	}
	type actor struct {
		Sub string `json:"sub"`
	}
	type embedded struct {
		Tenant string `json:"tenant"`
	}
	type claims struct {
		embedded
		Sub    string            `json:"sub"`
		Act    *actor            `json:"act"`
		Chain  []actor           `json:"chain"`
		ByName map[string]actor  `json:"by_name"`
		Extra  map[string]any    `json:"extra"`
		Raw    json.RawMessage   `json:"raw"`
		Labels map[string]string `json:"labels"`
		Level  int
	}
	decode := func(tok *bearer.Token) (claims, error) {
		return bearer.ClaimsFrom[claims](bearer.NewContext(context.Background(), tok))
	}
	for _, payload := range []string{
		`{"Sub":"admin","exp":9999999999}`,
		`{"\u017fub":"admin","exp":9999999999}`, // LATIN SMALL LETTER LONG S folds to s
		`{"SUB":"admin","exp":9999999999}`,
		`{"sub":"alice","act":{"SUB":"admin"},"exp":9999999999}`,
		`{"sub":"alice","chain":[{"sub":"a"},{"Sub":"admin"}],"exp":9999999999}`,
		`{"sub":"alice","by_name":{"x":{"\u017fub":"admin"}},"exp":9999999999}`,
		`{"sub":"alice","Tenant":"acme","exp":9999999999}`,
		`{"sub":"alice","ACT":{"sub":"admin"},"exp":9999999999}`,
		`{"sub":"alice","level":3,"exp":9999999999}`,
	} {
		tok := sign(payload)
		c, err := decode(tok)
		if err == nil {
			t.Errorf("%s: ClaimsFrom = %+v, want an error (Subject %q)", payload, c, tok.Subject())
		}
		if err := tok.Decode(&c); err == nil {
			t.Errorf("%s: Decode accepted", payload)
		}
	}
	tok := sign(`{"sub":"alice","tenant":"acme","act":{"sub":"bob"},"chain":[{"sub":"c"}],"by_name":{"X":{"sub":"d"},"y":{"sub":"e"}},` +
		`"extra":{"K":1,"j":2},"raw":{"Sub":1},"labels":{"A":"1","b":"2"},"Level":4,"exp":9999999999}`)
	c, err := decode(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sub != "alice" || c.Tenant != "acme" || c.Act.Sub != "bob" || c.Chain[0].Sub != "c" || c.ByName["X"].Sub != "d" ||
		c.ByName["y"].Sub != "e" || c.Extra["K"] != 1.0 || c.Extra["j"] != 2.0 || string(c.Raw) != `{"Sub":1}` || c.Labels["A"] != "1" || c.Level != 4 {
		t.Errorf("ClaimsFrom = %+v", c)
	}
	var all map[string]any
	if err := tok.Decode(&all); err != nil || all["sub"] != "alice" {
		t.Errorf("Decode into a map: %v, %v", all, err)
	}
	// Two fields whose names differ only in case: a member of that name
	// could go to either, so it is refused, whichever it spells.
	type twins struct {
		ID string
		Id string //lint:ignore ST1003 the point of the test
	}
	if err := sign(`{"ID":"x","exp":9999999999}`).Decode(&twins{}); err == nil {
		t.Error("Decode into twin fields accepted")
	}
}

// TestNestedDuplicates: a member name repeated at any depth, escaped or
// under case folding, makes the claims set (or header) malformed: the
// verifier would read the first, encoding/json the last.
func TestNestedDuplicates(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	for _, payload := range []string{
		`{"cnf":{"jkt":"a","jkt":"b"},"exp":9999999999}`,
		`{"act":{"sub":"a","\u0073ub":"b"},"exp":9999999999}`,
		`{"act":{"sub":"a","act":{"sub":"b","SUB":"c"}},"exp":9999999999}`,
		`{"x":[1,{"a":1,"A":2}],"exp":9999999999}`,
		`{"x":[[{"k":1,"\u212a":2}]],"exp":9999999999}`,
		`{"x":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"a":18},"exp":9999999999}`,
	} {
		tok, err := iss.Sign(nil, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Verify(context.Background(), tok); !errors.Is(err, bearer.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", payload, err)
		}
	}
	tok, err := iss.Sign(map[string]any{"x": map[string]any{"a": 1}}, []byte(`{"a":{"b":1},"c":{"b":2},"d":[{"b":1},{"b":2}],"exp":9999999999}`))
	if err != nil {
		t.Fatal(err)
	}
	verify(t, m, tok) // the same name in different objects is no duplicate
	h := strings.Split(tok, ".")
	dupHeader := b64url(`{"alg":"HS256","x":{"a":1,"a":2}}`)
	if _, err := m.Verify(context.Background(), dupHeader+"."+h[1]+"."+h[2]); !errors.Is(err, bearer.ErrMalformed) {
		t.Errorf("duplicate in a header object: %v", err)
	}
}

// TestTokenIsImmutable: what one handler does to the values it got cannot
// change what the next caller sees.
func TestTokenIsImmutable(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256, bearertest.WithAudience("a", "b"))
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	tok := verify(t, m, iss.MustMint(bearertest.Claims{"scp": []string{"x", "y"}, "roles": []string{"r"}, "obj": map[string]any{"k": "v"}}))

	tok.Audience()[0] = "changed"
	tok.Scopes()[0] = "changed"
	roles, _ := tok.Claim("roles")
	roles.([]any)[0] = "changed"
	obj, _ := tok.Claim("obj")
	obj.(map[string]any)["k"] = "changed"
	var decoded map[string]any
	tok.Decode(&decoded)
	decoded["obj"] = "changed"

	if got := tok.Audience(); got[0] != "a" {
		t.Errorf("Audience changed: %v", got)
	}
	if got := tok.Scopes(); got[0] != "x" {
		t.Errorf("Scopes changed: %v", got)
	}
	if got, _ := tok.Claim("roles"); got.([]any)[0] != "r" {
		t.Errorf("Claim changed: %v", got)
	}
	if got, _ := tok.Claim("obj"); got.(map[string]any)["k"] != "v" {
		t.Errorf("Claim changed: %v", got)
	}
	var again map[string]any
	if err := tok.Decode(&again); err != nil || again["obj"].(map[string]any)["k"] != "v" {
		t.Errorf("Decode after a change to an earlier Decode: %v %v", again, err)
	}
}

func TestContextAccessors(t *testing.T) {
	type claims struct {
		Subject string `json:"sub"`
		Tenant  string `json:"tenant"`
	}
	ctx := context.Background()
	if bearer.Subject(ctx) != "" || bearer.Scopes(ctx) != nil {
		t.Error("empty context has a subject or scopes")
	}
	if _, ok := bearer.FromContext(ctx); ok {
		t.Error("FromContext found a token in an empty context")
	}
	if _, err := bearer.ClaimsFrom[claims](ctx); !errors.Is(err, bearer.ErrNoToken) {
		t.Errorf("ClaimsFrom without token: %v", err)
	}

	iss := bearertest.MustIssuer(bearertest.ES256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	var got claims
	var sub string
	var scopes []string
	srv := serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		got, err = bearer.ClaimsFrom[claims](r.Context())
		if err != nil {
			t.Error(err)
		}
		sub, scopes = bearer.Subject(r.Context()), bearer.Scopes(r.Context())
	})))
	call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"sub": "bob", "tenant": "acme", "scope": "s1 s2"})))
	if got != (claims{"bob", "acme"}) || sub != "bob" || !slices.Equal(scopes, []string{"s1", "s2"}) {
		t.Errorf("got %+v %q %q", got, sub, scopes)
	}
}

func TestTimeChecks(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	iss := bearertest.MustIssuer(bearertest.HS256, bearertest.WithClock(func() time.Time { return now }))
	at := func(d time.Duration) *bearer.Middleware {
		return newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithClock(func() time.Time { return now.Add(d) }))...)
	}
	exp := iss.MustMint(bearertest.Claims{"exp": now.Add(time.Minute).Unix()})
	cases := []struct {
		name    string
		m       *bearer.Middleware
		tok     string
		wantErr error
	}{
		{"before exp", at(59 * time.Second), exp, nil},
		{"at exp, within default leeway", at(time.Minute + 29*time.Second), exp, nil},
		{"at exp + leeway", at(time.Minute + bearer.DefaultLeeway), exp, bearer.ErrExpired},
		{"no leeway, at exp", newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithLeeway(0), bearer.WithClock(func() time.Time { return now.Add(time.Minute) }))...), exp, bearer.ErrExpired},
		{"nbf within leeway", at(0), iss.MustMint(bearertest.Claims{"nbf": now.Add(20 * time.Second).Unix()}), nil},
		{"nbf beyond leeway", at(0), iss.MustMint(bearertest.Claims{"nbf": now.Add(40 * time.Second).Unix()}), bearer.ErrNotYetValid},
		{"iat beyond leeway", at(0), iss.MustMint(bearertest.Claims{"iat": now.Add(time.Hour).Unix()}), bearer.ErrNotYetValid},
		{"exp: 0", at(0), iss.MustMint(bearertest.Claims{"exp": 0}), bearer.ErrExpired},
		{"fractional exp", at(0), iss.MustMint(bearertest.Claims{"exp": float64(now.Unix()) + 0.5}), nil},
		{"huge exp", at(0), iss.MustMint(bearertest.Claims{"exp": 1e300}), nil},
		{"exp as bool", at(0), iss.MustMint(bearertest.Claims{"exp": true}), bearer.ErrMalformed},
		{"exp as RFC 3339", at(0), iss.MustMint(bearertest.Claims{"exp": "2030-01-01T00:00:00Z"}), bearer.ErrMalformed},
		{"nbf as string", at(0), iss.MustMint(bearertest.Claims{"nbf": "0"}), bearer.ErrMalformed},
		{"no exp", at(0), iss.MustMint(bearertest.Claims{"exp": nil}), bearer.ErrMissingClaim},
		{"no exp, optional", newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithExpiryOptional(), bearer.WithClock(func() time.Time { return now }))...), iss.MustMint(bearertest.Claims{"exp": nil}), nil},
	}
	for _, c := range cases {
		_, err := c.m.Verify(context.Background(), c.tok)
		if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
			t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
		}
	}
}

func TestOptions(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256, bearertest.WithIssuer("https://a.example"), bearertest.WithAudience("x", "api"))
	ctx := context.Background()

	t.Run("several issuers and audiences", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), bearer.WithIssuer("https://b.example", "https://a.example"), bearer.WithAudience("api", "other"))
		verify(t, m, iss.MustMint(nil))
	})
	t.Run("token type", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithTokenType("application/AT+JWT"))...)
		verify(t, m, mintHeader(t, iss, map[string]any{"typ": "at+jwt"}, nil))
		verify(t, m, mintHeader(t, iss, map[string]any{"typ": "application/at+jwt"}, nil))
		if _, err := m.Verify(ctx, mintHeader(t, iss, map[string]any{"typ": nil}, nil)); !errors.Is(err, bearer.ErrTokenType) {
			t.Errorf("no typ: %v", err)
		}
	})
	t.Run("validator", func(t *testing.T) {
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithValidator(func(_ context.Context, tok *bearer.Token) error {
			if tok.Subject() == "mallory" {
				return errors.New("internal detail: mallory is banned")
			}
			return nil
		}),
			bearer.WithValidator(func(_ context.Context, tok *bearer.Token) error {
				if tok.Subject() == "eve" {
					return &bearer.Error{Code: bearer.CodeInsufficientScope, Description: "tenant suspended", Status: 403, Err: bearer.ErrInsufficientScope}
				}
				return nil
			}))...)
		srv := serve(t, m.Handler(whoami))
		got := call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"sub": "mallory"})))
		if got.status != 401 || got.challenge != `Bearer error="invalid_token", error_description="token rejected"` || strings.Contains(got.body, "mallory") {
			t.Errorf("plain error: %d %s %s", got.status, got.challenge, got.body)
		}
		got = call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"sub": "eve"})))
		if got.status != 403 || got.challenge != `Bearer error="insufficient_scope", error_description="tenant suspended"` {
			t.Errorf("*Error: %d %s", got.status, got.challenge)
		}
		_, err := m.Verify(ctx, iss.MustMint(bearertest.Claims{"sub": "mallory"}))
		if !errors.Is(err, bearer.ErrRejected) || !errors.Is(err, bearer.ErrInvalidToken) {
			t.Errorf("Verify: %v", err)
		}
		if got := call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"sub": "bob"}))); got.status != 200 {
			t.Errorf("bob: %d", got.status)
		}
	})
	t.Run("max token size", func(t *testing.T) {
		tok := iss.MustMint(bearertest.Claims{"pad": strings.Repeat("x", 300)})
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithMaxTokenSize(len(tok)))...)
		verify(t, m, tok)
		big := iss.MustMint(bearertest.Claims{"pad": strings.Repeat("x", 301)})
		if _, err := m.Verify(ctx, big); !errors.Is(err, bearer.ErrTooLarge) {
			t.Errorf("over limit: %v", err)
		}
		huge := iss.MustMint(bearertest.Claims{"pad": strings.Repeat("x", bearer.DefaultMaxTokenSize)})
		if _, err := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...).Verify(ctx, huge); !errors.Is(err, bearer.ErrTooLarge) {
			t.Errorf("over default limit: %v", err)
		}
	})
	t.Run("error handler", func(t *testing.T) {
		var seen error
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			seen = err
			http.Error(w, "custom", http.StatusTeapot)
		}))...)
		h := m.Handler(bearer.RequireScopes("admin")(whoami))
		srv := serve(t, h)
		if got := call(t, srv.URL, bearerHeader("x.y.z")); got.status != http.StatusTeapot || !errors.Is(seen, bearer.ErrMalformed) {
			t.Errorf("bad token: %d %v", got.status, seen)
		}
		var e *bearer.Error
		if got := call(t, srv.URL, bearerHeader(iss.MustMint(nil))); got.status != http.StatusTeapot || !errors.As(seen, &e) || e.Scope != "admin" {
			t.Errorf("missing scope: %d %v", got.status, seen)
		}
	})
	t.Run("extractors", func(t *testing.T) {
		tok := iss.MustMint(bearertest.Claims{"sub": "carol"})
		cookie := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithExtractor(bearer.FromCookie("session")))...)
		query := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithExtractor(bearer.FromQuery("access_token")))...)
		if got := call(t, serve(t, cookie.Handler(whoami)).URL, http.Header{"Cookie": {"session=" + tok}}); got.body != "carol " {
			t.Errorf("cookie: %d %q", got.status, got.body)
		}
		if got := call(t, serve(t, cookie.Handler(whoami)).URL, http.Header{"Cookie": {"session=" + tok + "; session=" + tok}}); got.status != 400 {
			t.Errorf("two cookies: %d", got.status)
		}
		if got := call(t, serve(t, cookie.Handler(whoami)).URL, http.Header{"Cookie": {"session="}}); got.status != 401 || got.challenge != "Bearer" {
			t.Errorf("empty cookie: %d %q", got.status, got.challenge)
		}
		qsrv := serve(t, query.Handler(whoami))
		if got := call(t, qsrv.URL+"?access_token="+tok, nil); got.body != "carol " {
			t.Errorf("query: %d %q", got.status, got.body)
		}
		if got := call(t, qsrv.URL+"?access_token="+tok+"&access_token="+tok, nil); got.status != 400 {
			t.Errorf("two query tokens: %d", got.status)
		}
		if got := call(t, qsrv.URL, bearerHeader(tok)); got.status != 401 {
			t.Errorf("query extractor took a header: %d", got.status)
		}
	})
}

func TestCredentialsOptional(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithMode(bearer.CredentialsOptional), bearer.WithRealm("shop"))...)
	mux := http.NewServeMux()
	mux.Handle("/", m.Handler(whoami))
	mux.Handle("/admin", m.Handler(bearer.RequireScopes("admin")(whoami)))
	srv := serve(t, mux)

	if got := call(t, srv.URL, nil); got.status != 200 || got.body != "anonymous" {
		t.Errorf("no token: %d %q", got.status, got.body)
	}
	if got := call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"sub": "dan"}))); got.body != "dan " {
		t.Errorf("token: %d %q", got.status, got.body)
	}
	if got := call(t, srv.URL, bearerHeader("bad.token.here")); got.status != 401 {
		t.Errorf("bad token: %d", got.status)
	}
	if got := call(t, srv.URL, http.Header{"Authorization": {"Bearer"}}); got.status != 400 {
		t.Errorf("malformed request: %d", got.status)
	}
	if got := call(t, srv.URL+"/admin", nil); got.status != 401 || got.challenge != `Bearer realm="shop"` {
		t.Errorf("anonymous on a scoped route: %d %q", got.status, got.challenge)
	}
}

func TestConfigErrors(t *testing.T) {
	ok := make([]byte, 64)
	cases := []struct {
		name string
		src  bearer.KeySource
		opts []bearer.Option
		is   error
	}{
		{"nil source", nil, nil, nil},
		{"short secret", bearer.Secret(make([]byte, 31)), nil, bearer.ErrWeakKey},
		{"secret short for HS512", bearer.Secret(make([]byte, 32)), []bearer.Option{bearer.WithAlgorithms("HS256", "HS512")}, bearer.ErrWeakKey},
		{"secret with RS256 only", bearer.Secret(ok), []bearer.Option{bearer.WithAlgorithms("RS256")}, nil},
		{"unknown algorithm", bearer.Secret(ok), []bearer.Option{bearer.WithAlgorithms("none")}, nil},
		{"no algorithm", bearer.Secret(ok), []bearer.Option{bearer.WithAlgorithms()}, nil},
		{"negative leeway", bearer.Secret(ok), []bearer.Option{bearer.WithLeeway(-time.Second)}, nil},
		{"zero max size", bearer.Secret(ok), []bearer.Option{bearer.WithMaxTokenSize(0)}, nil},
		{"empty issuer", bearer.Secret(ok), []bearer.Option{bearer.WithIssuer("")}, nil},
		{"empty audience", bearer.Secret(ok), []bearer.Option{bearer.WithAudience()}, nil},
		{"nil extractor", bearer.Secret(ok), []bearer.Option{bearer.WithExtractor(nil)}, nil},
		{"nil error handler", bearer.Secret(ok), []bearer.Option{bearer.WithErrorHandler(nil)}, nil},
		{"nil validator", bearer.Secret(ok), []bearer.Option{bearer.WithValidator(nil)}, nil},
		{"nil clock", bearer.Secret(ok), []bearer.Option{bearer.WithClock(nil)}, nil},
		{"empty token type", bearer.Secret(ok), []bearer.Option{bearer.WithTokenType("application/")}, nil},
		{"unsupported key", bearer.PublicKey("not a key"), nil, nil},
		{"EC key with RS256 only", bearer.PublicKey(bearertest.MustIssuer(bearertest.ES256).PublicKey()), []bearer.Option{bearer.WithAlgorithms("RS256")}, nil},
	}
	for _, c := range cases {
		m, err := bearer.New(c.src, anyIssuerAnyAudience(c.opts...)...)
		if err == nil {
			m.Close()
			t.Errorf("%s: New succeeded", c.name)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v, want %v", c.name, err, c.is)
		}
	}
}

func TestHMACAlgorithms(t *testing.T) {
	secret := make([]byte, 64)
	hs512 := bearertest.MustIssuer(bearertest.HS512)
	// By default Secret verifies HS256 only.
	m := newMiddleware(t, bearer.Secret(hs512.Secret()), anyIssuerAnyAudience()...)
	if _, err := m.Verify(context.Background(), hs512.MustMint(nil)); !errors.Is(err, bearer.ErrAlgorithm) {
		t.Errorf("HS512 by default: %v", err)
	}
	m = newMiddleware(t, bearer.Secret(hs512.Secret()), anyIssuerAnyAudience(bearer.WithAlgorithms("HS512"))...)
	verify(t, m, hs512.MustMint(nil))

	// The secret is copied: changing the caller's slice changes nothing.
	hs256 := bearertest.MustIssuer(bearertest.HS256)
	copy(secret, hs256.Secret())
	m = newMiddleware(t, bearer.Secret(secret[:32]), anyIssuerAnyAudience()...)
	secret[0] ^= 0xff
	verify(t, m, hs256.MustMint(nil))
}

func TestAuthenticateWritesNothing(t *testing.T) {
	m := newMiddleware(t, bearer.Secret(make([]byte, 32)), anyIssuerAnyAudience()...)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	if _, err := authenticate(m, r); err == nil {
		t.Fatal("no error")
	}
	m.WriteError(w, r, bearer.ErrKeysUnavailable)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || w.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("503 answer: %d %v", w.Code, w.Header())
	}
	var nilM *bearer.Middleware
	w = httptest.NewRecorder()
	nilM.WriteError(w, r, errors.New("anything"))
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Bearer error="invalid_token", error_description="token rejected"` || strings.Contains(w.Body.String(), "anything") {
		t.Errorf("nil middleware, foreign error: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

// TestNumericDateYearOne: the earliest NumericDates are dates, not
// "absent": an exp of year 1 has expired, even where exp is optional.
func TestNumericDateYearOne(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithExpiryOptional())...)
	for _, exp := range []any{-62135596800, -62135596801, -1e18} {
		if _, err := m.Verify(context.Background(), iss.MustMint(bearertest.Claims{"exp": exp})); !errors.Is(err, bearer.ErrExpired) {
			t.Errorf("exp %v: %v, want ErrExpired", exp, err)
		}
	}
}

// TestErrorsAreCopies: a handler that changes the *Error it got does not
// change the answer to the next request.
func TestErrorsAreCopies(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithMode(bearer.AllowFailed))...)
	expired := iss.MustMint(bearertest.Claims{"exp": 1})
	_, err := m.Verify(context.Background(), expired)
	var e *bearer.Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	e.Description = "changed"
	srv := serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := bearer.ErrorFrom(r.Context())
		w.Write([]byte(got.Description))
		got.Description = "changed too"
	})))
	for range 2 {
		if got := call(t, srv.URL, bearerHeader(expired)); got.body != "token expired" {
			t.Errorf("reason %q, want token expired", got.body)
		}
	}
	tok := verify(t, m, iss.MustMint(nil))
	ctx := bearer.NewContext(context.Background(), tok)
	err = bearer.Authorize(ctx, bearer.AllScopes("admin"))
	errors.As(err, &e)
	e.Scope = "changed"
	if err := bearer.Authorize(ctx, bearer.AllScopes("admin")); !errors.As(err, &e) || e.Scope != "admin" {
		t.Errorf("scope %q, want admin", e.Scope)
	}
}

func TestHasScopesMany(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	var scopes []string
	for i := range 70 {
		scopes = append(scopes, fmt.Sprintf("s%d", i))
	}
	tok := verify(t, m, iss.MustMint(bearertest.Claims{"scope": strings.Join(scopes, " ")}))
	for _, n := range []int{1, 63, 64, 65, 70} {
		if !tok.HasScopes(scopes[:n]...) {
			t.Errorf("HasScopes of the first %d scopes = false", n)
		}
		if tok.HasScopes(append(slices.Clone(scopes[:n]), "missing")...) {
			t.Errorf("HasScopes of %d scopes and a missing one = true", n)
		}
	}
	if !tok.HasScopes("s1", "s1") || !tok.HasScopes() {
		t.Error("HasScopes with a repeated scope, or none, = false")
	}
}

// TestDecodeAllocations: the exact-name check learns a claims type's
// fields once per middleware, not on every Decode: handlers decode into
// one type on every request (17 allocations a Decode before, 10 after).
func TestDecodeAllocations(t *testing.T) {
	if answertest.RaceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience))
	tok, err := m.Verify(t.Context(), iss.MustMint(bearertest.Claims{"sub": "a", "tier": "gold", "roles": []string{"x", "y"}}))
	if err != nil {
		t.Fatal(err)
	}
	type claims struct {
		Sub   string   `json:"sub"`
		Tier  string   `json:"tier"`
		Roles []string `json:"roles"`
	}
	decode := func() {
		var c claims
		if err := tok.Decode(&c); err != nil || c.Tier != "gold" {
			t.Fatalf("Decode: %+v, %v", c, err)
		}
	}
	decode()
	if n := testing.AllocsPerRun(200, decode); n > 10 {
		t.Fatalf("%v allocations per Decode, want at most 10", n)
	}
}
