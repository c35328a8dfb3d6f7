package fiberbearer_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/adapters/fiberbearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/internal/answertest"
	"github.com/bearerauth/bearer/internal/bypasstest"
	"github.com/gofiber/fiber/v3"
	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: the suite's
// remote key source, a Fiber server, a connection. fasthttp keeps two of
// its own: the process-wide Date header ticker, and each stopped server's
// worker cleaner, which notices the stop after its sleep (up to 10s).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"))
}

// hello answers with the subject of the token, after checking that both
// accessors find the same token.
func hello(c fiber.Ctx) error {
	tok, ok := fiberbearer.FromContext(c)
	inContext, _ := bearer.FromContext(c.Context())
	if tok != inContext {
		return c.Status(http.StatusInternalServerError).SendString("accessors disagree")
	}
	if !ok {
		return c.SendString("anonymous")
	}
	return c.SendString(tok.Subject())
}

// app is the app of answertest.App.
func app(m *bearer.Middleware) *fiber.App {
	a := fiber.New()
	a.Use(fiberbearer.Middleware(m))
	a.Get("/", hello)
	a.Get("/read", fiberbearer.RequireScopes("read"), hello)
	admin := a.Group("/admin", fiberbearer.RequireScopes("admin", "audit"))
	admin.Get("/users", hello)
	a.Get("/bob", fiberbearer.Require(bearer.ClaimEquals("sub", "bob")), hello)
	return a
}

// serve serves a on a real connection, fasthttp's, until the test ends,
// and returns its URL.
func serve(t testing.TB, a *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		if err := a.Shutdown(); err != nil {
			t.Error(err)
		}
		<-done
	})
	return "http://" + ln.Addr().String()
}

// proxy is a net/http handler in front of a Fiber server, for
// answertest.Run, which serves http.Handlers: it forwards every header
// value both ways.
func proxy(t testing.TB, a *fiber.App) http.Handler {
	u, err := url.Parse(serve(t, a))
	if err != nil {
		t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = &http.Transport{DisableKeepAlives: true} // nothing left open at the end
	return p
}

func TestAnswers(t *testing.T) {
	answertest.Run(t, func(m *bearer.Middleware) http.Handler { return proxy(t, app(m)) })
}

// A method, path and query reach the core as they arrived: a DPoP proof
// made for them passes, others fail.
func TestDPoP(t *testing.T) {
	f := answertest.New(t, bearer.WithDPoP(bearer.DPoP{}))
	a := fiber.New()
	a.Use(fiberbearer.Middleware(f.Middleware))
	a.Put("/orders/:id", hello)
	url := serve(t, a)
	key := bearertest.MustDPoPKey(bearertest.ES256)
	tok := f.Issuer.MustMint(bearertest.Claims{"sub": "alice", "cnf": key.Confirmation()})

	send := func(method, path, proof string) (int, string) {
		req, _ := http.NewRequest(method, url+path, nil)
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", proof)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, strings.Join(res.Header.Values("WWW-Authenticate"), " | ")
	}
	if code, c := send("PUT", "/orders/7?x=1", key.MustProof("PUT", url+"/orders/7?x=1", tok)); code != 200 {
		t.Fatalf("proof for the request: %d %s", code, c)
	}
	if code, c := send("PUT", "/orders/8", key.MustProof("PUT", url+"/orders/7", tok)); code != 401 || !strings.Contains(c, "URL mismatch") {
		t.Errorf("proof for another URL: %d %s", code, c)
	}
	if code, c := send("PUT", "/orders/7", key.MustProof("GET", url+"/orders/7", tok)); code != 401 || !strings.Contains(c, "method mismatch") {
		t.Errorf("proof for another method: %d %s", code, c)
	}
	if code, c := send("PUT", "/orders/7", key.MustProof("PUT", url+"/orders/7", tok)); code != 200 {
		t.Errorf("a second proof: %d %s", code, c)
	}
}

// Skip rules see the path Fiber routes on, undecoded: a public prefix
// skips, and no path that only looks public reaches a private route.
func TestSkipPaths(t *testing.T) {
	f := answertest.New(t, bearer.WithSkip(bearer.SkipPaths("/public")))
	a := fiber.New()
	a.Use(fiberbearer.Middleware(f.Middleware))
	a.Get("/public/*", hello)
	a.Get("/admin/*", hello)
	url := serve(t, a)
	for path, want := range map[string]int{
		"/public/a":              http.StatusOK,
		"/public":                http.StatusOK, // "/public/*" matches it
		"/admin/a":               http.StatusUnauthorized,
		"/public/..%2fadmin/a":   http.StatusUnauthorized,
		"/public/../admin/a":     http.StatusUnauthorized,
		"/admin/..%2fpublic/a":   http.StatusUnauthorized,
		"/admin/../public/a":     http.StatusUnauthorized,
		"/admin/%2e%2e/public/a": http.StatusUnauthorized,
		"//public/a":             http.StatusUnauthorized,
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		// Raw, so that no client cleans the path.
		conn.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
		buf := make([]byte, 64)
		n, _ := conn.Read(buf)
		conn.Close()
		status, _, _ := strings.Cut(strings.TrimPrefix(string(buf[:n]), "HTTP/1.1 "), " ")
		if status != strconv.Itoa(want) {
			t.Errorf("%s: %s, want %d", path, status, want)
		}
	}
}

// Config.Next skips the middleware, the Fiber way.
func TestNext(t *testing.T) {
	f := answertest.New(t)
	a := fiber.New()
	a.Use(fiberbearer.New(fiberbearer.Config{Middleware: f.Middleware, Next: func(c fiber.Ctx) bool { return c.Path() == "/health" }}))
	a.Get("/health", hello)
	a.Get("/", hello)
	url := serve(t, a)
	answertest.Expect(t, "/health", answertest.Get(t, url+"/health"), answertest.Answer{Status: http.StatusOK, Body: "anonymous"})
	answertest.Expect(t, "/", answertest.Get(t, url+"/"), answertest.NoToken)
}

// An error handler set with bearer.WithErrorHandler answers, as it does in
// the net/http middleware, for the middleware and for RequireScopes, and
// its headers replace those set before.
func TestErrorHandler(t *testing.T) {
	f := answertest.New(t, bearer.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		var e *bearer.Error
		errors.As(err, &e)
		w.Header().Set("X-Seen", r.URL.Path)
		w.WriteHeader(e.Status)
		w.Write([]byte("custom: " + e.Description))
	}))
	a := fiber.New()
	a.Use(func(c fiber.Ctx) error { c.Set("X-Seen", "before"); return c.Next() })
	a.Use(fiberbearer.Middleware(f.Middleware))
	a.Get("/read", fiberbearer.RequireScopes("read"), hello)
	url := serve(t, a)
	for _, c := range []struct{ auth, body string }{
		{"Bearer not-a-jwt", "custom: malformed token"},
		{"Bearer " + f.Token(t, ""), "custom: insufficient scope"},
	} {
		req, _ := http.NewRequest("GET", url+"/read", nil)
		req.Header.Set("Authorization", c.auth)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got := answertest.Get(t, url+"/read", c.auth)
		if got.Body != c.body || res.Header.Values("X-Seen")[0] != "/read" || len(res.Header.Values("X-Seen")) != 1 {
			t.Errorf("%s: %+v, X-Seen %q", c.auth, got, res.Header.Values("X-Seen"))
		}
		res.Body.Close()
	}
}

func TestPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"Middleware(nil)": func() { fiberbearer.Middleware(nil) },
		"RequireScopes":   func() { fiberbearer.RequireScopes(`"quoted"`) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

// The core sees the request as net/http would show it: skip rules and
// extractors read the method, URL, Host, remote address and every value of
// every header; the token comes from a cookie here.
func TestRequest(t *testing.T) {
	seen := make(chan *http.Request, 1)
	f := answertest.New(t,
		bearer.WithExtractor(bearer.FromCookie("at")),
		bearer.WithSkip(func(r *http.Request) bool { seen <- r; return false }))
	a := fiber.New()
	a.Use(fiberbearer.Middleware(f.Middleware))
	a.Post("/orders/:id", hello)
	url := serve(t, a)
	req, _ := http.NewRequest(http.MethodPost, url+"/orders/a%20b?q=1&q=2", strings.NewReader("body"))
	req.Host = "api.example"
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.AddCookie(&http.Cookie{Name: "at", Value: f.Token(t, "")})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("token in a cookie: %d", res.StatusCode)
	}
	r := <-seen
	if r.Method != http.MethodPost || r.URL.Path != "/orders/a b" || r.URL.EscapedPath() != "/orders/a%20b" ||
		r.URL.RawQuery != "q=1&q=2" || r.RequestURI != "/orders/a%20b?q=1&q=2" || r.Host != "api.example" ||
		!strings.HasPrefix(r.RemoteAddr, "127.0.0.1:") || r.TLS != nil {
		t.Errorf("request %s %s %q host %s from %s", r.Method, r.URL, r.RequestURI, r.Host, r.RemoteAddr)
	}
	if got := r.Header.Values("X-Multi"); len(got) != 2 || got[0] != "one" || got[1] != "two" || r.Header.Get("Host") != "" {
		t.Errorf("header %v", r.Header)
	}
}

// protectedRoute answers bypasstest.ProtectedBody and counts its requests.
func protectedRoute(hits *atomic.Int64) fiber.Handler {
	return func(c fiber.Ctx) error {
		hits.Add(1)
		return c.SendString(bypasstest.ProtectedBody)
	}
}

// Fiber routes on the path as it arrived, neither decoded nor cleaned, and
// case-insensitively: no path that skips by another reading reaches a
// protected route.
func TestHostilePaths(t *testing.T) {
	f := answertest.New(t, bearer.WithSkip(bearer.SkipPaths(bypasstest.Public)))
	var protected atomic.Int64
	a := fiber.New()
	a.Use(fiberbearer.Middleware(f.Middleware))
	a.Get(bypasstest.Public, func(c fiber.Ctx) error { return c.SendString(bypasstest.PublicBody) })
	a.Get("/api/:version/users", protectedRoute(&protected))
	a.Get("/files/*", protectedRoute(&protected))
	bypasstest.Check(t, serve(t, a), &protected, f.Token(t, ""))
}

// Preflights go to the CORS handler of WithCORSPreflight, never to a route
// registered with All.
func TestCORSPreflight(t *testing.T) {
	f := answertest.New(t, bearer.WithCORSPreflight(bypasstest.CORS))
	var protected atomic.Int64
	a := fiber.New()
	a.Use(fiberbearer.Middleware(f.Middleware))
	a.All("/files/*", protectedRoute(&protected))
	bypasstest.CheckPreflight(t, serve(t, a), &protected, f.Token(t, ""))
}
