package bearer_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/internal/answertest"
)

// recorder is an Observer that writes down what it hears.
type recorder struct {
	bearer.NopObserver
	mu  sync.Mutex
	log []string
}

func (r *recorder) TokenVerified(_ context.Context, t *bearer.Token, cached bool) {
	if cached {
		r.add("verified " + t.Subject() + " from the cache")
		return
	}
	r.add("verified " + t.Subject())
}

func (r *recorder) TokenRejected(_ context.Context, e *bearer.Error) {
	r.add("rejected " + e.Description)
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, s)
}

// take returns what was heard since the last call.
func (r *recorder) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := strings.Join(r.log, "; ")
	r.log = nil
	return s
}

func (r *recorder) Anonymous(context.Context) { r.add("anonymous") }

func (r *recorder) AccessDenied(_ context.Context, t *bearer.Token, e *bearer.Error) {
	if t == nil {
		r.add("denied " + e.Description)
		return
	}
	r.add("denied " + t.Subject() + " " + e.Description)
}

// TestObserverHearsEachRequest counts the events of each request: exactly
// one of verified, rejected and anonymous, and a denial when a rule
// refuses it afterwards, whatever the Mode.
func TestObserverHearsEachRequest(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	good := bearerHeader(iss.MustMint(bearertest.Claims{"sub": "ann", "scope": "read"}))
	admin := bearerHeader(iss.MustMint(bearertest.Claims{"sub": "ann", "scope": "admin"}))
	expired := bearerHeader(iss.MustMint(bearertest.Claims{"exp": 1}))
	malformed := http.Header{"Authorization": {"Bearer"}}
	type row struct {
		path   string
		header http.Header
		heard  string
	}
	always := []row{
		{"/", good, "verified ann"},
		{"/admin", admin, "verified ann"},
		{"/admin", good, "verified ann; denied ann insufficient scope"},
		{"/any", good, "verified ann"},
		{"/healthz", nil, ""},
	}
	for _, c := range []struct {
		mode bearer.Mode
		rows []row
	}{
		{bearer.Required, []row{
			{"/", expired, "rejected token expired"},
			{"/", nil, "rejected bearer token required"},
			{"/", malformed, "rejected malformed bearer credentials"},
			{"/any", nil, "rejected bearer token required"},
		}},
		{bearer.CredentialsOptional, []row{
			{"/", expired, "rejected token expired"},
			{"/", nil, "anonymous"},
			{"/any", nil, "anonymous; denied bearer token required"},
			{"/admin", nil, "anonymous; denied bearer token required"},
		}},
		{bearer.AllowFailed, []row{
			{"/", expired, "rejected token expired"},
			{"/", nil, "anonymous"},
			{"/", malformed, "rejected malformed bearer credentials"},
			{"/admin", expired, "rejected token expired; denied bearer token required"},
		}},
	} {
		rec := &recorder{}
		m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithObserver(rec), bearer.WithMode(c.mode),
			bearer.WithSkip(bearer.SkipPaths("/healthz")), bearer.WithTokenCache(0))...)
		mux := http.NewServeMux()
		mux.Handle("/", whoami)
		mux.Handle("/admin", bearer.RequireScopes("admin")(whoami))
		mux.Handle("/any", bearer.RequireToken(whoami))
		srv := serve(t, m.Handler(mux))
		for i, r := range append(always, c.rows...) {
			call(t, srv.URL+r.path, r.header)
			if got := rec.take(); got != r.heard {
				t.Errorf("%v, request %d (%s): heard %q, want %q", c.mode, i, r.path, got, r.heard)
			}
		}
	}
	if _, err := bearer.New(iss.KeySource(), anyIssuerAnyAudience(bearer.WithObserver(nil))...); err == nil {
		t.Error("nil observer accepted")
	}
}

// TestNoObserverCostsNothing: without an observer, and with one that does
// nothing, a request allocates the same.
func TestNoObserverCostsNothing(t *testing.T) {
	if answertest.RaceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	iss := bearertest.MustIssuer(bearertest.HS256)
	tok := iss.MustMint(nil)
	allocs := func(opts ...bearer.Option) float64 {
		h := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(opts...)...).Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		return testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
	}
	none, nop := allocs(), allocs(bearer.WithObserver(bearer.NopObserver{}))
	if none != nop {
		t.Errorf("allocations per request: %v without an observer, %v with one that does nothing", none, nop)
	}
	// A logger at Info logs nothing of a verified token, and pays nothing
	// for it.
	if logged := allocs(bearer.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))); logged != none {
		t.Errorf("allocations per verified request: %v without a logger, %v with one at Info", none, logged)
	}
}

// BenchmarkObserver compares a request without an observer, with one that
// does nothing, and with WithLogger discarding its output.
//
//	go test -run '^$' -bench Observer -benchmem .
func BenchmarkObserver(b *testing.B) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	tok := iss.MustMint(nil)
	for _, c := range []struct {
		name string
		opts []bearer.Option
	}{
		{"none", nil},
		{"nop", []bearer.Option{bearer.WithObserver(bearer.NopObserver{})}},
		{"log", []bearer.Option{bearer.WithLogger(slog.New(slog.DiscardHandler))}},
		{"log-info", []bearer.Option{bearer.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}},
	} {
		b.Run(c.name, func(b *testing.B) {
			m, err := bearer.New(iss.KeySource(), anyIssuerAnyAudience(c.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}
