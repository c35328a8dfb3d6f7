package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/examples/internal/demo"
	"github.com/bearerauth/bearer/internal/bypasstest"
	"github.com/go-chi/chi/v5"
	"github.com/rs/cors"
)

// answer is what a browser's request got.
type answer struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, method, url string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, string(body)}
}

func serve(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// A browser's preflight and its request with a token, through the example.
func TestCORS(t *testing.T) {
	a, err := newApp()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.auth.Close() })
	url := serve(t, a.routes())
	_, user := demo.Tokens(a.issuer)

	for _, path := range []string{"/api/v1/notes", "/files/report.txt"} {
		got := send(t, http.MethodOptions, url+path, "Origin", origin,
			"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
		if got.status != http.StatusNoContent || got.body != "" ||
			got.header.Get("Access-Control-Allow-Origin") != origin ||
			!strings.EqualFold(got.header.Get("Access-Control-Allow-Headers"), "authorization") {
			t.Errorf("preflight %s: %d %v %q, want rs/cors's 204 allowing authorization", path, got.status, got.header, got.body)
		}
	}
	got := send(t, http.MethodGet, url+"/api/v1/notes", "Origin", origin, "Authorization", "Bearer "+user)
	if got.status != 200 || got.body != `{"owner":"bob","version":"v1"}`+"\n" ||
		got.header.Get("Access-Control-Allow-Origin") != origin || got.header.Get("Access-Control-Expose-Headers") != "Www-Authenticate" {
		t.Errorf("with a token: %d %v %q", got.status, got.header, got.body)
	}
	// A 401 carries CORS headers too: the app can read it.
	got = send(t, http.MethodGet, url+"/api/v1/notes", "Origin", origin)
	if got.status != 401 || got.header.Get("WWW-Authenticate") != `Bearer realm="notes"` || got.header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("without a token: %d %v %q", got.status, got.header, got.body)
	}
	// Another origin's request gets no CORS headers: its browser hides the answer.
	if got := send(t, http.MethodGet, url+"/api/v1/notes", "Origin", "https://evil.example", "Authorization", "Bearer "+user); got.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("another origin allowed: %v", got.header)
	}
	// The file server answers OPTIONS, but only behind the middleware.
	for _, h := range [][]string{nil, {"Origin", origin}} {
		if got := send(t, http.MethodOptions, url+"/files/report.txt", h...); got.status != 401 || strings.Contains(got.body, "quarterly") {
			t.Errorf("OPTIONS %v: %d %q, want 401", h, got.status, got.body)
		}
	}
	if got := send(t, http.MethodGet, url+"/files/report.txt", "Authorization", "Bearer "+user); got.status != 200 || got.body != "quarterly numbers\n" {
		t.Errorf("file with a token: %d %q", got.status, got.body)
	}
	if got := send(t, http.MethodGet, url+"/healthz"); got.status != 200 {
		t.Errorf("/healthz: %d", got.status)
	}
}

// Where the middleware must come first (it wraps a file server or a proxy
// whole), WithCORSPreflight names rs/cors as the handler of preflights:
// they never reach what the middleware protects.
func TestCORSPreflightOption(t *testing.T) {
	c := cors.New(cors.Options{AllowedOrigins: []string{origin}, AllowedHeaders: []string{"Authorization"}})
	issuer := bearertest.MustIssuer(bearertest.ES256)
	m, err := bearer.New(issuer.KeySource(),
		bearer.WithIssuer(issuer.Issuer()), bearer.WithAudience(issuer.Audience()...),
		bearer.WithCORSPreflight(http.HandlerFunc(c.HandlerFunc)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	var reached atomic.Int64
	files := http.FileServerFS(files)
	url := serve(t, m.Handler(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		files.ServeHTTP(w, r)
	})))) + "/report.txt"

	got := send(t, http.MethodOptions, url, "Origin", origin, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
	if got.status != http.StatusNoContent || got.body != "" || got.header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("preflight: %d %v %q, want rs/cors's 204", got.status, got.header, got.body)
	}
	if got := send(t, http.MethodOptions, url, "Origin", origin); got.status != 401 {
		t.Errorf("OPTIONS without Access-Control-Request-Method: %d %q, want 401", got.status, got.body)
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("%d requests without a token reached the file server", n)
	}
	got = send(t, http.MethodGet, url, "Origin", origin, "Authorization", "Bearer "+issuer.MustMint(nil))
	if got.status != 200 || got.body != "quarterly numbers\n" || got.header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("with a token: %d %v %q", got.status, got.header, got.body)
	}
}

// chi routes on the escaped path (RawPath when the request has one) and
// does not clean it. With the middleware in front of the whole router and
// a skip rule, no path that skips by another reading reaches a protected
// route, and no fake preflight reaches a route that answers every method.
func TestChiHostilePaths(t *testing.T) {
	issuer := bearertest.MustIssuer(bearertest.ES256)
	token := issuer.MustMint(nil)
	var protected atomic.Int64
	route := func(w http.ResponseWriter, r *http.Request) {
		protected.Add(1)
		io.WriteString(w, bypasstest.ProtectedBody)
	}
	router := func(opts ...bearer.Option) http.Handler {
		m, err := bearer.New(issuer.KeySource(), append(opts, bearer.WithIssuer(issuer.Issuer()), bearer.WithAudience(issuer.Audience()...))...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		r := chi.NewRouter()
		r.Use(m.Handler)
		r.Get(bypasstest.Public, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, bypasstest.PublicBody) })
		r.Get("/api/{version}/users", route)
		r.HandleFunc("/files/*", route)
		return r
	}
	bypasstest.Check(t, serve(t, router(bearer.WithSkip(bearer.SkipPaths(bypasstest.Public)))), &protected, token)
	protected.Store(0)
	bypasstest.CheckPreflight(t, serve(t, router(bearer.WithCORSPreflight(bypasstest.CORS))), &protected, token)
}
