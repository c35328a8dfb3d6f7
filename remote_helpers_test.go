package bearer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// Helpers of the remote key source tests. Most tests run in a
// testing/synctest bubble against an in-memory bearertest.Server: time is
// fake, so refreshes, backoff and staleness are tested over hours that take
// no real time, and nothing sleeps.

var quiet = bearer.WithLogger(slog.New(slog.DiscardHandler))

// newIdP starts an in-memory identity provider; call it inside a bubble.
func newIdP(t *testing.T, alg bearertest.Algorithm, opts ...bearertest.Option) *bearertest.Server {
	t.Helper()
	srv := bearertest.NewServer(alg, append(opts, bearertest.InMemory())...)
	t.Cleanup(srv.Close)
	return srv
}

// newRemote returns a middleware verifying with srv's JWKS.
func newRemote(t *testing.T, srv *bearertest.Server, ropts []bearer.RemoteOption, opts ...bearer.Option) *bearer.Middleware {
	t.Helper()
	ropts = append([]bearer.RemoteOption{bearer.RemoteHTTPClient(srv.Client())}, ropts...)
	return newMiddleware(t, bearer.RemoteJWKS(srv.JWKSURL, ropts...), append([]bearer.Option{quiet}, opts...)...)
}

func mustReady(t *testing.T, m *bearer.Middleware) {
	t.Helper()
	if err := m.Ready(context.Background()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
}

// protected answers "hello <sub>" behind the middleware.
func protected(m *bearer.Middleware) http.Handler {
	return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", bearer.Subject(r.Context()))
	}))
}

// send sends token (if any) to the protected handler through net/http's
// handler interface, as a server would.
func send(m *bearer.Middleware, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/api", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	protected(m).ServeHTTP(rec, req)
	return rec
}

func wantOK(t *testing.T, rec *httptest.ResponseRecorder, sub string) {
	t.Helper()
	if rec.Code != http.StatusOK || rec.Body.String() != "hello "+sub {
		t.Fatalf("got %d %q (WWW-Authenticate %q), want 200 %q", rec.Code, rec.Body.String(), rec.Header().Get("WWW-Authenticate"), "hello "+sub)
	}
}

// wantInvalid checks a 401 invalid_token answer with description.
func wantInvalid(t *testing.T, rec *httptest.ResponseRecorder, description string) {
	t.Helper()
	want := `Bearer error="invalid_token", error_description="` + description + `"`
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != want {
		t.Fatalf("got %d, WWW-Authenticate %q, body %q; want 401, %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String(), want)
	}
}

// wantUnavailable checks a 503 answer: no challenge (the token may be
// fine), Retry-After retryAfter ("" for any), the fixed JSON body.
func wantUnavailable(t *testing.T, rec *httptest.ResponseRecorder, retryAfter string) {
	t.Helper()
	const body = `{"error":"temporarily_unavailable","error_description":"signing keys unavailable"}` + "\n"
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != body {
		t.Fatalf("got %d %q, want 503 %q", rec.Code, rec.Body.String(), body)
	}
	if c := rec.Header().Get("WWW-Authenticate"); c != "" {
		t.Errorf("503 with WWW-Authenticate %q", c)
	}
	got := rec.Header().Get("Retry-After")
	if got == "" || retryAfter != "" && got != retryAfter {
		t.Errorf("Retry-After %q, want %q", got, retryAfter)
	}
}

// withKeys returns the JWKS document doc with extra raw JWKs added.
func withKeys(t *testing.T, doc []byte, extra ...string) []byte {
	t.Helper()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range extra {
		set.Keys = append(set.Keys, json.RawMessage(k))
	}
	out, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// events records what an Observer hears of key sources.
type events struct {
	bearer.NopObserver
	mu      sync.Mutex
	fetches []bearer.FetchEvent
	misses  []bearer.KeyMissOutcome
	stale   []bearer.StaleEvent
	expired []bearer.StaleEvent
	fetched chan bearer.FetchEvent // every fetch, for tests in real time
}

func newEvents() *events { return &events{fetched: make(chan bearer.FetchEvent, 100)} }

func (e *events) KeysFetched(ev bearer.FetchEvent) {
	e.mu.Lock()
	e.fetches = append(e.fetches, ev)
	e.mu.Unlock()
	select {
	case e.fetched <- ev:
	default:
	}
}

func (e *events) KeyMiss(ev bearer.KeyMissEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.misses = append(e.misses, ev.Outcome)
}

func (e *events) KeysStale(ev bearer.StaleEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stale = append(e.stale, ev)
}

func (e *events) KeysExpired(ev bearer.StaleEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expired = append(e.expired, ev)
}

func (e *events) lastFetch() bearer.FetchEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fetches[len(e.fetches)-1]
}

func (e *events) triggerCount(tr bearer.FetchTrigger) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, f := range e.fetches {
		if f.Trigger == tr {
			n++
		}
	}
	return n
}

func (e *events) missCount(o bearer.KeyMissOutcome) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, m := range e.misses {
		if m == o {
			n++
		}
	}
	return n
}

func (e *events) counts() (stale, expired int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.stale), len(e.expired)
}

// logs records what a slog.Logger is told.
type logs struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

// lines returns "LEVEL message" for each record at level or above.
func (l *logs) lines(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if r.Level >= level {
			out = append(out, r.Level.String()+" "+r.Message)
		}
	}
	return slices.Clip(out)
}
