package bearer_test

import (
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/internal/bypasstest"
)

// preflightAnswer stands for a CORS handler: it answers preflights itself.
var preflightAnswer = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
})

func TestRouteRules(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithSkip(bearer.SkipPaths("/healthz", "/public/")),
		bearer.WithSkip(bearer.SkipMethods(http.MethodHead)),
		bearer.WithCORSPreflight(preflightAnswer))...)
	srv := serve(t, m.Handler(reason))

	preflight := http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}}
	cases := []struct {
		method, path string
		header       http.Header
		status       int
	}{
		{"GET", "/healthz", nil, 200},
		{"GET", "/healthz/live", nil, 200},
		{"GET", "/healthz/", nil, 200},
		{"GET", "/healthz?x=/../admin", nil, 200},
		{"GET", "/healthz/a%20b", nil, 200},
		{"GET", "/healthzz", nil, 401},
		{"GET", "/healthcheck", nil, 401},
		{"GET", "/HEALTHZ", nil, 401},
		{"GET", "/public/", nil, 200},
		{"GET", "/public/a/b", nil, 200},
		{"GET", "/public/.well-known/x", nil, 200},
		{"GET", "/public", nil, 401},
		{"GET", "/public/../admin", nil, 401},
		{"GET", "/public/%2e%2e/admin", nil, 401},
		{"GET", "/public/caf%C3%A9", nil, 401}, // not ASCII: fail closed
		{"GET", "/public/a%00", nil, 401},
		{"GET", "/admin", nil, 401},
		{"HEAD", "/admin", nil, 200},
		{"OPTIONS", "/admin", preflight, 204},
		{"OPTIONS", "/admin", http.Header{"Origin": {"https://app.example"}}, 401},
		{"OPTIONS", "/admin", http.Header{"Access-Control-Request-Method": {"POST"}}, 401},
		{"OPTIONS", "/admin", nil, 401},
		{"POST", "/admin", preflight, 401},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		// Keep the path as written: the client would clean "..".
		req.URL.Opaque = c.path
		for name, v := range c.header {
			req.Header[name] = v
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status {
			t.Errorf("%s %s %v: %d, want %d", c.method, c.path, c.header, res.StatusCode, c.status)
		}
		if c.status == 200 && string(body) != "no reason" && c.method != "HEAD" {
			t.Errorf("%s %s: %q, want the handler untouched", c.method, c.path, body)
		}
	}
}

// SkipPaths decides on the escaped path, and only on a canonical one.
func TestSkipPathsCanonicalOnly(t *testing.T) {
	skip := bearer.SkipPaths("/", "/never/") // "/": every canonical path
	for _, c := range []struct {
		raw  string // the escaped path, as the request carried it
		want bool
	}{
		{"/", true},
		{"/a/b/", true},
		{"/a/.b/c..d/e.", true},
		{"/a%20b/%41%7e/%7B%7d", true},
		{"/a:b@c/!$&'()*+,=", true},
		{"", false},
		{"*", false},
		{"a/b", false},
		{"//", false},
		{"/a//b", false},
		{"/./a", false},
		{"/a/..", false},
		{"/a/.../b", false},
		{"/a/%2e/b", false},
		{"/a/%2E%2e/b", false},
		{"/a%2fb", false},
		{"/a%2Fb", false},
		{"/a%5cb", false},
		{"/a%5Cb", false},
		{"/a%25b", false},
		{"/a%3bb", false},
		{"/a%3Bb", false},
		{"/a;b", false},
		{"/a\\b", false},
		{"/a%", false},
		{"/a%2", false},
		{"/a%zz", false},
		{"/a%00", false},
		{"/a%0A", false},
		{"/a%7F", false},
		{"/a%C3%A9", false},
		{"/a[b]", false},
	} {
		u := &url.URL{Path: c.raw, RawPath: c.raw}
		if p, err := url.PathUnescape(c.raw); err == nil {
			u.Path = p
		}
		if got := skip(&http.Request{URL: u}); got != c.want {
			t.Errorf("skip %q: %t, want %t", c.raw, got, c.want)
		}
	}
	// A RawPath that Path no longer matches (code changed Path alone) is
	// not what the request carried: some routers would still route on it.
	if skip(&http.Request{URL: &url.URL{Path: "/public", RawPath: "/admin%2Fx"}}) {
		t.Error("skipped a URL whose RawPath disagrees with its Path")
	}
	if skip(&http.Request{URL: &url.URL{Opaque: "/public"}}) {
		t.Error("skipped an opaque URL")
	}
}

// A prefix that is not canonical is a programming error.
func TestSkipPathsBadPrefix(t *testing.T) {
	for _, prefix := range []string{"", "healthz", "/a//b", "/a/../b", "/a/./", "/a%2Fb", "/a%2e", "/a;b", "/a\\b", "//"} {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, "SkipPaths prefix") {
					t.Errorf("SkipPaths(%q): recovered %v, want a panic naming the prefix", prefix, r)
				}
			}()
			bearer.SkipPaths("/ok", prefix)
		}()
	}
}

func TestSkipLeavesContextAlone(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithSkip(bearer.SkipPaths("/")))...)
	// A skipped request is not authenticated even when it has a token.
	if got := call(t, serve(t, m.Handler(reason)).URL, bearerHeader(iss.MustMint(nil))); got.body != "no reason" {
		t.Errorf("skipped request: %q", got.body)
	}
	if _, err := bearer.New(iss.KeySource(), anyIssuerAnyAudience(bearer.WithSkip(nil))...); err == nil {
		t.Error("New accepted a nil skip rule")
	}
}

// FuzzSkipPaths: a request target SkipPaths skips lies under the prefix by
// every reading a router or server behind may give its path: escaped or
// decoded, decoded twice, cleaned or not, with ";" parameters dropped or
// backslashes read as slashes.
func FuzzSkipPaths(f *testing.F) {
	for _, target := range bypasstest.Hostile {
		f.Add(target)
	}
	f.Add(bypasstest.Public + "/live/a%20b?x=1")
	f.Add(bypasstest.Public + "/%41.b/~c")
	skip := bearer.SkipPaths(bypasstest.Public)
	under := func(p string) bool {
		return p == bypasstest.Public || strings.HasPrefix(p, bypasstest.Public+"/")
	}
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target) // as net/http's server reads it
		if err != nil || !skip(&http.Request{URL: u}) {
			return
		}
		readings := []string{u.EscapedPath(), u.Path, strings.ReplaceAll(u.Path, `\`, "/")}
		if twice, err := url.PathUnescape(u.Path); err == nil {
			readings = append(readings, twice)
		}
		segments := strings.Split(u.Path, "/")
		for i, s := range segments {
			segments[i], _, _ = strings.Cut(s, ";")
		}
		readings = append(readings, strings.Join(segments, "/"))
		for _, p := range readings {
			if !under(p) || !under(path.Clean(p)) {
				t.Fatalf("skipped %q, which reads as %q (cleaned %q): not under %s", target, p, path.Clean(p), bypasstest.Public)
			}
		}
	})
}
