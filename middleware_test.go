package bearer_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// whoami answers with the subject and scopes of the request's token.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	t, ok := bearer.FromContext(r.Context())
	if !ok {
		io.WriteString(w, "anonymous")
		return
	}
	io.WriteString(w, t.Subject()+" "+strings.Join(t.Scopes(), ","))
})

// serve starts a real HTTP server for h and closes it with the test.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// response is what a client sees of an answer.
type response struct {
	status    int
	challenge string
	body      string
	header    http.Header
}

// call sends a GET to url with the given header lines and returns the
// answer.
func call(t *testing.T, url string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header.Get("WWW-Authenticate"), string(body), res.Header}
}

func bearerHeader(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

func newMiddleware(t *testing.T, src bearer.KeySource, opts ...bearer.Option) *bearer.Middleware {
	t.Helper()
	m, err := bearer.New(src, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestAnswers walks docs/ARCHITECTURE.md's table of HTTP answers (RFC 6750 §3), one
// row per case, over a real server.
func TestAnswers(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256, bearertest.WithAudience("orders-api"))
	other := bearertest.MustIssuer(bearertest.ES256) // same algorithm, another key
	now := time.Now()
	m := newMiddleware(t, iss.KeySource(), bearer.WithRealm("orders"),
		bearer.WithIssuer(iss.Issuer()),
		bearer.WithAudience("orders-api"),
		bearer.WithTokenType("JWT"),
		bearer.WithExtractor(bearer.FirstOf(bearer.AuthorizationHeader(), bearer.FromCookie("token"))),
	)
	mux := http.NewServeMux()
	mux.Handle("/orders", m.Handler(bearer.RequireScopes("orders:read")(whoami)))
	mux.Handle("/orders/new", m.Handler(bearer.RequireScopes("orders:read", "orders:write")(whoami)))
	srv := serve(t, mux)

	good := iss.MustMint(bearertest.Claims{"sub": "alice", "scope": "orders:read"})
	tampered := func(tok string) string {
		parts := strings.Split(tok, ".")
		claims := `{"iss":"` + iss.Issuer() + `","aud":"orders-api","sub":"admin","scope":"orders:read","exp":9999999999}`
		parts[1] = b64url(claims)
		return strings.Join(parts, ".")
	}

	const (
		noToken     = `Bearer realm="orders"`
		bodyNoToken = `{"error":"unauthorized","error_description":"bearer token required"}`
	)
	invalid := func(desc string) (string, string) {
		return `Bearer realm="orders", error="invalid_token", error_description="` + desc + `"`,
			`{"error":"invalid_token","error_description":"` + desc + `"}`
	}
	badRequest := func(desc string) (string, string) {
		return `Bearer realm="orders", error="invalid_request", error_description="` + desc + `"`,
			`{"error":"invalid_request","error_description":"` + desc + `"}`
	}
	type row struct {
		name      string
		path      string
		header    http.Header
		status    int
		challenge string
		body      string
	}
	rows := []row{
		{name: "valid token", path: "/orders", header: bearerHeader(good), status: 200, body: "alice orders:read"},
		{name: "scheme is case-insensitive", path: "/orders", header: http.Header{"Authorization": {"bEaReR   " + good}}, status: 200, body: "alice orders:read"},
		{name: "no header", path: "/orders", status: 401, challenge: noToken, body: bodyNoToken},
		{name: "other scheme", path: "/orders", header: http.Header{"Authorization": {"Basic YWxpY2U6c2VjcmV0"}}, status: 401, challenge: noToken, body: bodyNoToken},
		{name: "DPoP scheme", path: "/orders", header: http.Header{"Authorization": {"DPoP " + good}}, status: 401, challenge: noToken, body: bodyNoToken},
	}
	add := func(name string, header http.Header, status int, challenge, body string) {
		rows = append(rows, row{name: name, path: "/orders", header: header, status: status, challenge: challenge, body: body})
	}
	c, b := badRequest("multiple authorization headers")
	add("two Authorization headers", http.Header{"Authorization": {"Bearer " + good, "Bearer " + good}}, 400, c, b)
	c, b = badRequest("malformed bearer credentials")
	add("Bearer with nothing", http.Header{"Authorization": {"Bearer"}}, 400, c, b)
	add("Bearer with spaces only", http.Header{"Authorization": {"Bearer    "}}, 400, c, b)
	add("not a b64token", http.Header{"Authorization": {"Bearer abc def"}}, 400, c, b)
	add("b64token with inner padding", http.Header{"Authorization": {"Bearer ab=c"}}, 400, c, b)
	c, b = badRequest("token sent more than one way")
	add("header and cookie", http.Header{"Authorization": {"Bearer " + good}, "Cookie": {"token=" + good}}, 400, c, b)
	c, b = invalid("malformed token")
	add("not a JWT", bearerHeader("abc"), 401, c, b)
	add("four parts", bearerHeader(good+".abc"), 401, c, b)
	add("padded base64", bearerHeader(good+"=="), 401, c, b)
	add("standard base64 alphabet", bearerHeader(strings.ReplaceAll(strings.ReplaceAll(good, "-", "+"), "_", "/")+"/"), 401, c, b)
	add("stripped signature", bearerHeader(good[:strings.LastIndexByte(good, '.')+1]), 401, c, b)
	c, b = invalid("signature invalid")
	add("tampered payload", bearerHeader(tampered(good)), 401, c, b)
	add("other key, same kid", bearerHeader(resign(t, other, good)), 401, c, b)
	c, b = invalid("algorithm not allowed")
	add("alg none", bearerHeader(b64url(`{"alg":"none","typ":"JWT"}`)+"."+strings.Split(good, ".")[1]+"."), 401, `Bearer realm="orders", error="invalid_token", error_description="malformed token"`, `{"error":"invalid_token","error_description":"malformed token"}`)
	add("alg none with a signature", bearerHeader(b64url(`{"alg":"none","typ":"JWT"}`)+"."+strings.Split(good, ".")[1]+".c2ln"), 401, c, b)
	add("HS256 against an EC key", bearerHeader(mintHeader(t, bearertest.MustIssuer(bearertest.HS256), map[string]any{"kid": iss.KeyID()}, nil)), 401, c, b)
	c, b = invalid("token expired")
	add("expired", bearerHeader(iss.MustMint(bearertest.Claims{"exp": now.Add(-time.Minute).Unix()})), 401, c, b)
	c, b = invalid("token not yet valid")
	add("not yet valid", bearerHeader(iss.MustMint(bearertest.Claims{"nbf": now.Add(time.Hour).Unix()})), 401, c, b)
	c, b = invalid("issuer not accepted")
	add("wrong issuer", bearerHeader(iss.MustMint(bearertest.Claims{"iss": "https://evil.example"})), 401, c, b)
	add("no issuer", bearerHeader(iss.MustMint(bearertest.Claims{"iss": nil})), 401, c, b)
	c, b = invalid("audience not accepted")
	add("wrong audience", bearerHeader(iss.MustMint(bearertest.Claims{"aud": "billing-api"})), 401, c, b)
	c, b = invalid("token type not accepted")
	add("wrong typ", bearerHeader(mintHeader(t, iss, map[string]any{"typ": "dpop+jwt"}, nil)), 401, c, b)
	c, b = invalid("unsupported critical header")
	add("unknown crit", bearerHeader(mintHeader(t, iss, map[string]any{"crit": []string{"exp"}, "exp": 1}, nil)), 401, c, b)
	c, b = invalid("unknown signing key")
	add("unknown kid", bearerHeader(mintHeader(t, iss, map[string]any{"kid": "nobody"}, nil)), 401, c, b)
	rows = append(rows, row{
		name: "missing scope", path: "/orders/new", header: bearerHeader(good), status: 403,
		challenge: `Bearer realm="orders", error="insufficient_scope", error_description="insufficient scope", scope="orders:read orders:write"`,
		body:      `{"error":"insufficient_scope","error_description":"insufficient scope","scope":"orders:read orders:write"}`,
	})

	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got := call(t, srv.URL+r.path, r.header)
			if got.status != r.status {
				t.Errorf("status = %d, want %d", got.status, r.status)
			}
			if got.challenge != r.challenge {
				t.Errorf("WWW-Authenticate = %q\n                   want %q", got.challenge, r.challenge)
			}
			if strings.TrimSpace(got.body) != r.body {
				t.Errorf("body = %q, want %q", got.body, r.body)
			}
			if r.status != 200 {
				if ct := got.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				if cc := got.header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q", cc)
				}
				if tok := r.header.Get("Authorization"); len(tok) > 20 && strings.Contains(got.body+got.challenge, tok[7:]) {
					t.Errorf("answer echoes the token")
				}
			}
		})
	}
}

// TestErrorsIs: every rejection matches its sentinel and its class, both
// from Verify and from Admit.
func TestErrorsIs(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.RS256, bearertest.WithAudience("api"))
	m := newMiddleware(t, iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience("api"),
		bearer.WithRequiredClaims("tenant"), bearer.WithTokenType("at+jwt"), bearer.WithMaxTokenSize(4096))
	at := map[string]any{"typ": "at+jwt"}
	now := time.Now()
	cases := []struct {
		name     string
		token    string
		sentinel error
		class    error
	}{
		{"malformed", "a.b.c", bearer.ErrMalformed, bearer.ErrInvalidToken},
		{"too large", strings.Repeat("a", 4097), bearer.ErrTooLarge, bearer.ErrInvalidToken},
		{"algorithm", mintHeader(t, bearertest.MustIssuer(bearertest.HS256), map[string]any{"typ": "at+jwt", "kid": iss.KeyID()}, bearertest.Claims{"tenant": "t"}), bearer.ErrAlgorithm, bearer.ErrInvalidToken},
		{"crit", mintHeader(t, iss, map[string]any{"typ": "at+jwt", "crit": []string{"x"}, "x": 1}, nil), bearer.ErrUnsupportedHeader, bearer.ErrInvalidToken},
		{"token type", mintHeader(t, iss, nil, bearertest.Claims{"tenant": "t"}), bearer.ErrTokenType, bearer.ErrInvalidToken},
		{"unknown key", mintHeader(t, iss, map[string]any{"typ": "at+jwt", "kid": "x"}, nil), bearer.ErrUnknownKey, bearer.ErrInvalidToken},
		{"signature", resign(t, bearertest.MustIssuer(bearertest.RS256), mintHeader(t, iss, at, nil)), bearer.ErrSignature, bearer.ErrInvalidToken},
		{"expired", mintHeader(t, iss, at, bearertest.Claims{"tenant": "t", "exp": now.Add(-time.Hour).Unix()}), bearer.ErrExpired, bearer.ErrInvalidToken},
		{"no expiry", mintHeader(t, iss, at, bearertest.Claims{"tenant": "t", "exp": nil}), bearer.ErrMissingClaim, bearer.ErrInvalidToken},
		{"not yet valid", mintHeader(t, iss, at, bearertest.Claims{"tenant": "t", "nbf": now.Add(time.Hour).Unix()}), bearer.ErrNotYetValid, bearer.ErrInvalidToken},
		{"issued in the future", mintHeader(t, iss, at, bearertest.Claims{"tenant": "t", "iat": now.Add(time.Hour).Unix()}), bearer.ErrNotYetValid, bearer.ErrInvalidToken},
		{"issuer", mintHeader(t, iss, at, bearertest.Claims{"tenant": "t", "iss": "x"}), bearer.ErrIssuer, bearer.ErrInvalidToken},
		{"audience", mintHeader(t, iss, at, bearertest.Claims{"tenant": "t", "aud": []string{"x", "y"}}), bearer.ErrAudience, bearer.ErrInvalidToken},
		{"required claim", mintHeader(t, iss, at, nil), bearer.ErrMissingClaim, bearer.ErrInvalidToken},
		{"required claim null", mintHeader(t, iss, at, bearertest.Claims{"tenant": json.RawMessage("null")}), bearer.ErrMissingClaim, bearer.ErrInvalidToken},
		{"exp as string", mintHeader(t, iss, at, bearertest.Claims{"tenant": "t", "exp": "9999999999"}), bearer.ErrMalformed, bearer.ErrInvalidToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Verify(context.Background(), c.token)
			if !errors.Is(err, c.sentinel) || !errors.Is(err, c.class) {
				t.Fatalf("Verify: %v; want errors.Is %v and %v", err, c.sentinel, c.class)
			}
			var e *bearer.Error
			if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != bearer.CodeInvalidToken {
				t.Fatalf("Verify: %#v, want a 401 invalid_token *Error", err)
			}
			if errors.Is(err, bearer.ErrInvalidRequest) || errors.Is(err, bearer.ErrNoToken) {
				t.Fatalf("Verify: %v matches another class", err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+c.token)
			if _, err := authenticate(m, r); !errors.Is(err, c.sentinel) {
				t.Fatalf("Admit: %v, want %v", err, c.sentinel)
			}
		})
	}

	t.Run("request classes", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/", nil)
		if _, err := authenticate(m, r); !errors.Is(err, bearer.ErrNoToken) || errors.Is(err, bearer.ErrInvalidToken) {
			t.Errorf("no token: %v", err)
		}
		r.Header.Set("Authorization", "Bearer")
		if _, err := authenticate(m, r); !errors.Is(err, bearer.ErrInvalidRequest) {
			t.Errorf("empty credentials: %v", err)
		}
	})
	t.Run("insufficient scope", func(t *testing.T) {
		tok, err := m.Verify(context.Background(), mintHeader(t, iss, at, bearertest.Claims{"tenant": "t", "scope": "a"}))
		if err != nil {
			t.Fatal(err)
		}
		err = bearer.Authorize(bearer.NewContext(context.Background(), tok), bearer.AllScopes("a", "b"))
		if !errors.Is(err, bearer.ErrInsufficientScope) {
			t.Errorf("Authorize: %v", err)
		}
		if err := bearer.Authorize(context.Background(), bearer.AllScopes("a")); !errors.Is(err, bearer.ErrNoToken) {
			t.Errorf("Authorize without token: %v", err)
		}
	})
}

func TestRealmIsQuoted(t *testing.T) {
	m := newMiddleware(t, bearertest.MustIssuer(bearertest.HS256).KeySource(), anyIssuerAnyAudience(bearer.WithRealm(`a "quoted" \ realm`))...)
	got := call(t, serve(t, m.Handler(whoami)).URL, nil)
	if want := `Bearer realm="a \"quoted\" \\ realm"`; got.challenge != want {
		t.Errorf("WWW-Authenticate = %s, want %s", got.challenge, want)
	}
	if _, err := bearer.New(bearer.Secret(make([]byte, 32)), anyIssuerAnyAudience(bearer.WithRealm("a\r\nSet-Cookie: x=y"))...); err == nil {
		t.Error("New accepted a realm with CR LF")
	}
}

func TestNoRealm(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	srv := serve(t, m.Handler(whoami))
	if got := call(t, srv.URL, nil); got.challenge != "Bearer" {
		t.Errorf("no token: WWW-Authenticate = %q, want Bearer", got.challenge)
	}
	if got := call(t, srv.URL, bearerHeader("x.y.z")); got.challenge != `Bearer error="invalid_token", error_description="malformed token"` {
		t.Errorf("bad token: WWW-Authenticate = %q", got.challenge)
	}
}

// TestAlgorithms verifies a token of every supported algorithm with each
// key source it can come from.
func TestAlgorithms(t *testing.T) {
	for _, alg := range []bearertest.Algorithm{
		bearertest.HS256, bearertest.HS384, bearertest.HS512,
		bearertest.RS256, bearertest.PS256,
		bearertest.ES256, bearertest.ES384, bearertest.ES512,
		bearertest.EdDSA,
	} {
		t.Run(string(alg), func(t *testing.T) {
			iss := bearertest.MustIssuer(alg)
			sources := map[string]bearer.KeySource{"KeySource": iss.KeySource()}
			if secret := iss.Secret(); secret != nil {
				sources["KeySetJSON"] = mustKeySet(t, iss.JWKS())
			} else {
				sources["PublicKey"] = bearer.PublicKey(iss.PublicKey())
			}
			for name, src := range sources {
				m := newMiddleware(t, src, anyIssuerAnyAudience(bearer.WithAlgorithms(string(alg)))...)
				tok, err := m.Verify(context.Background(), iss.MustMint(bearertest.Claims{"sub": "alice"}))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if tok.Subject() != "alice" {
					t.Errorf("%s: subject %q", name, tok.Subject())
				}
				if alg, _ := tok.Header("alg"); alg != string(iss.Algorithm()) {
					t.Errorf("%s: alg header %v", name, alg)
				}
			}
		})
	}
}

// TestConcurrentRequests: many requests at once, each with its own token,
// each sees its own claims.
func TestConcurrentRequests(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.EdDSA)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...)
	srv := serve(t, m.Handler(whoami))
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := "user-" + string(rune('A'+i%26)) + string(rune('a'+i/26))
			got := call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"sub": sub, "scope": sub})))
			if got.status != 200 || got.body != sub+" "+sub {
				t.Errorf("%s: %d %q", sub, got.status, got.body)
			}
		}()
	}
	wg.Wait()
}

// anyIssuerAnyAudience returns opts after the waivers of the issuer and audience
// checks, for tests about other things: New requires both checks unless
// waived, and these tests' tokens come from many issuers.
func anyIssuerAnyAudience(opts ...bearer.Option) []bearer.Option {
	return append([]bearer.Option{bearer.WithoutIssuerCheck(), bearer.WithoutAudienceCheck()}, opts...)
}

// anyIssuerOnly returns opts after the waiver of the issuer check, for
// tests that set an audience and concern other things.
func anyIssuerOnly(opts ...bearer.Option) []bearer.Option {
	return append([]bearer.Option{bearer.WithoutIssuerCheck()}, opts...)
}

// anyAudience returns opts after the waiver of the audience check, for
// tests whose key source binds the issuer (Discover, Issuers) and that
// concern other things.
func anyAudience(opts ...bearer.Option) []bearer.Option {
	return append([]bearer.Option{bearer.WithoutAudienceCheck()}, opts...)
}

// problemJSON answers with an RFC 9457 problem document, and with the
// realm of the middleware that answers, which MiddlewareFrom must find.
func problemJSON(w http.ResponseWriter, r *http.Request, err error) {
	e, _ := bearer.ErrorFrom(r.Context())
	m := bearer.MiddlewareFrom(r.Context())
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(map[string]any{
		"type":   "https://api.example.com/problems/" + e.Code,
		"title":  e.Description,
		"status": e.Status,
		"found":  m != nil && errors.Is(err, e.Err),
	})
}

// TestErrorHandlerKeepsTheChallenge: a custom body costs none of the
// headers RFC 6750 and RFC 9449 call for, and the handler finds the
// middleware (its realm) and the error in the request's context.
func TestErrorHandlerKeepsTheChallenge(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	idp := bearertest.NewServer(bearertest.ES256)
	defer idp.Close()
	idp.Keys.Fail(http.StatusInternalServerError)
	for _, c := range []struct {
		name   string
		keys   bearer.KeySource
		opts   []bearer.Option
		header http.Header
		path   string
		status int
		want   http.Header
	}{
		{"no token", iss.KeySource(), nil, nil, "/", 401,
			http.Header{"Www-Authenticate": {`Bearer realm="api"`}}},
		{"expired", iss.KeySource(), nil, bearerHeader(iss.MustMint(bearertest.Claims{"exp": 1})), "/", 401,
			http.Header{"Www-Authenticate": {`Bearer realm="api", error="invalid_token", error_description="token expired"`}}},
		{"missing scope", iss.KeySource(), nil, bearerHeader(iss.MustMint(nil)), "/admin", 403,
			http.Header{"Www-Authenticate": {`Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="admin"`}}},
		{"token required by the route", iss.KeySource(), []bearer.Option{bearer.WithMode(bearer.CredentialsOptional)}, nil, "/me", 401,
			http.Header{"Www-Authenticate": {`Bearer realm="api"`}}},
		{"keys unavailable", bearer.RemoteJWKS(idp.JWKSURL, bearer.RemoteHTTPClient(idp.Client()), bearer.RemoteKeyWait(time.Millisecond)),
			[]bearer.Option{bearer.WithLogger(slog.New(slog.DiscardHandler))}, bearerHeader(idp.MustMint(nil)), "/", 503,
			http.Header{"Retry-After": nil, "Www-Authenticate": nil}},
		{"DPoP", iss.KeySource(), []bearer.Option{bearer.WithDPoP(bearer.DPoP{Algorithms: []string{"ES256"}})}, nil, "/", 401,
			http.Header{"Www-Authenticate": {`Bearer realm="api"`, `DPoP realm="api", algs="ES256"`}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newMiddleware(t, c.keys, anyIssuerAnyAudience(append([]bearer.Option{bearer.WithRealm("api"), bearer.WithErrorHandler(problemJSON)}, c.opts...)...)...)
			mux := http.NewServeMux()
			mux.Handle("/", whoami)
			mux.Handle("/admin", bearer.RequireScopes("admin")(whoami))
			mux.Handle("/me", bearer.RequireToken(whoami))
			got := call(t, serve(t, m.Handler(mux)).URL+c.path, c.header)
			var problem struct {
				Status int  `json:"status"`
				Found  bool `json:"found"`
			}
			json.Unmarshal([]byte(got.body), &problem)
			if got.status != c.status || problem.Status != c.status || !problem.Found ||
				got.header.Get("Content-Type") != "application/problem+json" || got.header.Get("Cache-Control") != "no-store" {
				t.Errorf("got %d %s %q %q, want %d, a problem document with the middleware and the error", got.status,
					got.header.Get("Content-Type"), got.header.Get("Cache-Control"), got.body, c.status)
			}
			for name, want := range c.want {
				if name == "Retry-After" {
					if got.header.Get(name) == "" {
						t.Errorf("no Retry-After")
					}
					continue
				}
				if !slices.Equal(got.header[name], want) {
					t.Errorf("%s: %q, want %q", name, got.header[name], want)
				}
			}
		})
	}
}

// TestRequireToken: behind a middleware that lets requests without a token
// through, RequireToken refuses them, and lets any valid token through
// whatever its scopes.
func TestRequireToken(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithMode(bearer.CredentialsOptional), bearer.WithRealm("api"))...)
	srv := serve(t, m.Handler(bearer.RequireToken(whoami)))
	if got := call(t, srv.URL, nil); got.status != 401 || got.challenge != `Bearer realm="api"` {
		t.Errorf("no token: %d %q", got.status, got.challenge)
	}
	if got := call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"sub": "ann"}))); got.status != 200 || got.body != "ann " {
		t.Errorf("token without scopes: %d %q", got.status, got.body)
	}
}

// authenticate admits r as Handler does and returns its token: the
// middleware's verdict, with no answer written.
func authenticate(m *bearer.Middleware, r *http.Request) (*bearer.Token, error) {
	r, err := m.Admit(r)
	if err != nil {
		return nil, err
	}
	t, _ := bearer.FromContext(r.Context())
	return t, nil
}

// challengeOf is the WWW-Authenticate challenge m answers err with.
func challengeOf(m *bearer.Middleware, err error) string {
	h := http.Header{}
	m.SetErrorHeaders(h, nil, err)
	return h.Get("WWW-Authenticate")
}
