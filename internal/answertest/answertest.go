// Package answertest holds the table of answers of docs/ARCHITECTURE.md as test cases,
// so that the net/http middleware and every framework adapter are checked
// against one table. The expected values are written out here, never
// computed by the code under test.
package answertest

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// Realm is the realm of the Fixture's middleware.
const Realm = "api"

// Fixture is an issuer and a middleware that trusts it, with WithRealm,
// WithIssuer and WithAudience set.
type Fixture struct {
	Issuer     *bearertest.Issuer
	Middleware *bearer.Middleware
}

// New returns a Fixture; opts come after the fixture's own options. The
// middleware is closed when the test ends.
func New(t testing.TB, opts ...bearer.Option) *Fixture {
	t.Helper()
	iss := bearertest.MustIssuer(bearertest.ES256)
	return newFixture(t, iss, iss.KeySource(), opts)
}

func newFixture(t testing.TB, iss *bearertest.Issuer, keys bearer.KeySource, opts []bearer.Option) *Fixture {
	t.Helper()
	all := append([]bearer.Option{
		bearer.WithRealm(Realm),
		bearer.WithIssuer(iss.Issuer()),
		bearer.WithAudience(iss.Audience()...),
	}, opts...)
	m, err := bearer.New(keys, all...)
	if err != nil {
		t.Fatalf("bearer.New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return &Fixture{Issuer: iss, Middleware: m}
}

// Token mints a valid token for subject alice with the given scopes.
func (f *Fixture) Token(t testing.TB, scopes string) string {
	t.Helper()
	tok, err := f.Issuer.Mint(bearertest.Claims{"sub": "alice", "scope": scopes})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Case is a request's Authorization header and the answer it must get.
type Case struct {
	Name          string
	Authorization []string // the header's values; none for nil
	Status        int      // 401, 400 ...
	Challenge     string   // the exact WWW-Authenticate value
	Description   string   // error_description, "bearer token required" without a token
	Body          string   // the exact JSON body, without trailing newline
	Cause         error    // a sentinel the error matches with errors.Is
}

// Cases returns one case per failing line of docs/ARCHITECTURE.md's table but the
// 403 and 503 ones, which depend on the route and the key source: no token,
// each kind of malformed request and each kind of bad token.
func (f *Fixture) Cases(t testing.TB) []Case {
	t.Helper()
	mint := func(header map[string]any, claims bearertest.Claims) string {
		tok, err := f.Issuer.MintWithHeader(header, claims)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	other := bearertest.MustIssuer(bearertest.ES256)
	forged, err := other.MintWithHeader(map[string]any{"kid": f.Issuer.KeyID()}, bearertest.Claims{"sub": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	past := time.Now().Add(-2 * time.Hour)
	payload := b64([]byte(`{"iss":"` + f.Issuer.Issuer() + `","aud":"` + f.Issuer.Audience()[0] + `","sub":"alice","exp":4102444800}`))
	algNone := b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + payload

	noToken := func(name string, values ...string) Case {
		return Case{name, values, http.StatusUnauthorized, `Bearer realm="api"`,
			"bearer token required", `{"error":"unauthorized","error_description":"bearer token required"}`, bearer.ErrNoToken}
	}
	badRequest := func(name, description string, values ...string) Case {
		return Case{name, values, http.StatusBadRequest,
			`Bearer realm="api", error="invalid_request", error_description="` + description + `"`,
			description, `{"error":"invalid_request","error_description":"` + description + `"}`, bearer.ErrInvalidRequest}
	}
	badToken := func(name, description string, cause error, value string) Case {
		return Case{name, []string{value}, http.StatusUnauthorized,
			`Bearer realm="api", error="invalid_token", error_description="` + description + `"`,
			description, `{"error":"invalid_token","error_description":"` + description + `"}`, cause}
	}
	return []Case{
		noToken("no header"),
		noToken("other scheme", "Basic YWxpY2U6c2VjcmV0"),
		badRequest("two headers", "multiple authorization headers", "Bearer a.b.c", "Bearer d.e.f"),
		badRequest("scheme alone", "malformed bearer credentials", "Bearer"),
		badRequest("not a b64token", "malformed bearer credentials", "Bearer abc,def"),
		badToken("malformed JWT", "malformed token", bearer.ErrMalformed, "Bearer not-a-jwt"),
		badToken("bad signature", "signature invalid", bearer.ErrSignature, "Bearer "+forged),
		badToken("expired", "token expired", bearer.ErrExpired,
			mint(nil, bearertest.Claims{"iat": past.Unix(), "exp": past.Add(time.Hour).Unix()})),
		badToken("wrong issuer", "issuer not accepted", bearer.ErrIssuer,
			mint(nil, bearertest.Claims{"iss": "https://evil.example"})),
		badToken("wrong audience", "audience not accepted", bearer.ErrAudience,
			mint(nil, bearertest.Claims{"aud": "another-api"})),
		badToken("unknown kid", "unknown signing key", bearer.ErrUnknownKey,
			mint(map[string]any{"kid": "no-such-key"}, nil)),
		badToken("alg none", "algorithm not allowed", bearer.ErrAlgorithm, "Bearer "+algNone+".c2ln"),
		badToken("alg none, empty signature", "malformed token", bearer.ErrMalformed, "Bearer "+algNone+"."),
	}
}

// ScopeChallenge is the WWW-Authenticate value of a 403 for scopes, a
// space-separated list.
func ScopeChallenge(scopes string) string {
	return `Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="` + scopes + `"`
}

// scopeBody is the JSON body of a 403 for scopes.
func scopeBody(scopes string) string {
	return `{"error":"insufficient_scope","error_description":"insufficient scope","scope":"` + scopes + `"}`
}

// RetryAfter is the Retry-After of KeysUnavailable's key server. The
// source fetches again only then, and its 503 answers say how long is
// left: RetryAfter, less the time since the server answered.
const RetryAfter = 30 * time.Second

// FreshRetryAfter reports whether d is RetryAfter less at most ten
// seconds: the time a test may take between the failed fetch and its
// request.
func FreshRetryAfter(d time.Duration) bool {
	return d > RetryAfter-10*time.Second && d <= RetryAfter
}

// KeysUnavailable returns a Fixture whose middleware verifies with a
// RemoteJWKS whose key server answers every fetch 500 with a Retry-After of
// RetryAfter: there are never keys, so an otherwise valid token gets the
// 503 of docs/ARCHITECTURE.md's table, and no fetch happens before RetryAfter. It
// returns once the first fetch has failed; the middleware and the server
// are closed when the test ends.
func KeysUnavailable(t testing.TB) *Fixture {
	t.Helper()
	srv := bearertest.NewServer(bearertest.ES256)
	t.Cleanup(srv.Close)
	srv.Keys.Fail(http.StatusInternalServerError)
	srv.Keys.SetHeader("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
	fetched := fetches{c: make(chan bearer.FetchEvent, 1)}
	// A request waits at most the key wait for a fetch in flight; none is,
	// but a short one bounds the test if that changes.
	keys := bearer.RemoteJWKS(srv.JWKSURL, bearer.RemoteKeyWait(time.Second))
	f := newFixture(t, srv.Issuer, keys, []bearer.Option{
		bearer.WithLogger(slog.New(slog.DiscardHandler)), // the failures are the point
		bearer.WithObserver(fetched),
	})
	select {
	case e := <-fetched.c:
		if e.Err == nil || e.Status != http.StatusInternalServerError {
			t.Fatalf("the first fetch: %+v, want a failed 500", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no fetch in 10s")
	}
	return f
}

// fetches is a bearer.Observer that passes on fetch events without
// waiting for a reader.
type fetches struct {
	bearer.NopObserver
	c chan bearer.FetchEvent
}

func (f fetches) KeysFetched(e bearer.FetchEvent) {
	select {
	case f.c <- e:
	default:
	}
}

// Answer is what a response said, as a client sees it.
type Answer struct {
	Status       int
	Challenge    string // WWW-Authenticate
	RetryAfter   string
	CacheControl string
	Body         string // without surrounding white space
}

// Get sends a GET request to url with the given Authorization header
// values over a real connection and returns the answer.
func Get(t testing.TB, url string, authorization ...string) Answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != nil {
		req.Header["Authorization"] = authorization
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Header.Values("WWW-Authenticate")); n > 1 {
		t.Errorf("%d WWW-Authenticate headers, want at most one", n)
	}
	return Answer{
		Status:       res.StatusCode,
		Challenge:    res.Header.Get("WWW-Authenticate"),
		RetryAfter:   res.Header.Get("Retry-After"),
		CacheControl: res.Header.Get("Cache-Control"),
		Body:         strings.TrimSpace(string(body)),
	}
}

// Check reports an error unless got is the answer of c.
func (c Case) Check(t testing.TB, got Answer) {
	t.Helper()
	Expect(t, c.Name, got, Answer{Status: c.Status, Challenge: c.Challenge, CacheControl: "no-store", Body: c.Body})
}

// Expect reports an error unless got is want.
func Expect(t testing.TB, name string, got, want Answer) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
	}
}

// The answers of the other lines of the table, as the Fixture's middleware
// gives them.
var (
	// NoToken answers a scope check on a request admitted without a token.
	NoToken = Answer{Status: http.StatusUnauthorized, Challenge: `Bearer realm="api"`, CacheControl: "no-store",
		Body: `{"error":"unauthorized","error_description":"bearer token required"}`}
	// NoPrivileges answers a failed rule that is not about scopes.
	NoPrivileges = Answer{Status: http.StatusForbidden, CacheControl: "no-store",
		Challenge: `Bearer realm="api", error="insufficient_scope", error_description="insufficient privileges"`,
		Body:      `{"error":"insufficient_scope","error_description":"insufficient privileges"}`}
	// NoKeys answers a request when no keys can be had (KeysUnavailable):
	// no challenge, since the token may be fine, and Retry-After. Check
	// answers against it with CheckNoKeys.
	NoKeys = Answer{Status: http.StatusServiceUnavailable, RetryAfter: "30", CacheControl: "no-store",
		Body: `{"error":"temporarily_unavailable","error_description":"signing keys unavailable"}`}
)

// CheckNoKeys reports an error unless got is NoKeys, with any Retry-After
// that FreshRetryAfter accepts.
func CheckNoKeys(t testing.TB, name string, got Answer) {
	t.Helper()
	if s, err := strconv.Atoi(got.RetryAfter); err == nil && FreshRetryAfter(time.Duration(s)*time.Second) {
		got.RetryAfter = NoKeys.RetryAfter
	}
	Expect(t, name, got, NoKeys)
}

// NoScope is the answer to a token without scopes, a space-separated list.
func NoScope(scopes string) Answer {
	return Answer{Status: http.StatusForbidden, Challenge: ScopeChallenge(scopes), CacheControl: "no-store", Body: scopeBody(scopes)}
}

// Case returns the case of Cases called name.
func (f *Fixture) Case(t testing.TB, name string) Case {
	t.Helper()
	for _, c := range f.Cases(t) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no case %q", name)
	return Case{}
}
