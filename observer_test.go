package bearer_test

import (
	"bytes"
	"context"
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

func TestObserverHearsEachRequest(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.ES256)
	for _, mode := range []bearer.Mode{bearer.Required, bearer.AllowFailed} {
		rec := &recorder{}
		m := newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithObserver(rec), bearer.WithMode(mode),
			bearer.WithSkip(bearer.SkipPaths("/healthz")))...)
		srv := serve(t, m.Handler(whoami))
		cases := []struct {
			path   string
			header http.Header
			heard  string
		}{
			{"/", bearerHeader(iss.MustMint(bearertest.Claims{"sub": "ann"})), "verified ann"},
			{"/", bearerHeader(iss.MustMint(bearertest.Claims{"exp": 1})), "rejected token expired"},
			{"/", nil, "rejected bearer token required"},
			{"/", http.Header{"Authorization": {"Bearer"}}, "rejected malformed bearer credentials"},
			{"/healthz", nil, ""},
		}
		for _, c := range cases {
			call(t, srv.URL+c.path, c.header)
			if got := rec.take(); got != c.heard {
				t.Errorf("mode %d, %s %v: heard %q, want %q", mode, c.path, c.header, got, c.heard)
			}
		}
	}
	if _, err := bearer.New(iss.KeySource(), anyIssuer(bearer.WithObserver(nil))...); err == nil {
		t.Error("nil observer accepted")
	}
}

func TestLogObserver(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := newMiddleware(t, iss.KeySource(), anyIssuer(bearer.WithObserver(bearer.LogObserver(logger)))...)
	srv := serve(t, m.Handler(whoami))
	good := iss.MustMint(bearertest.Claims{"sub": "ann"})
	bad := iss.MustMint(bearertest.Claims{"sub": "ann", "exp": 1})
	call(t, srv.URL, bearerHeader(good))
	call(t, srv.URL, bearerHeader(bad))
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="bearer: token verified" iss=` + iss.Issuer() + ` sub=ann cached=false`,
		`level=INFO msg="bearer: token rejected" status=401 error=invalid_token description="token expired" cause="bearer: token expired"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{good, bad, string(iss.Secret())} {
		if strings.Contains(out, secret) {
			t.Error("log contains a token or the key")
		}
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
		h := newMiddleware(t, iss.KeySource(), anyIssuer(opts...)...).Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		return testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
	}
	none, nop := allocs(), allocs(bearer.WithObserver(bearer.NopObserver{}))
	if none != nop {
		t.Errorf("allocations per request: %v without an observer, %v with one that does nothing", none, nop)
	}
}

// BenchmarkObserver compares a request without an observer, with one that
// does nothing, and with LogObserver discarding its output.
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
		{"log", []bearer.Option{bearer.WithObserver(bearer.LogObserver(slog.New(slog.DiscardHandler)))}},
	} {
		b.Run(c.name, func(b *testing.B) {
			m, err := bearer.New(iss.KeySource(), anyIssuer(c.opts...)...)
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
