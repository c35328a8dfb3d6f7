package bearer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// Credentials a key-source URL carries (https://user:pass@…) are the
// provider's secret: they never appear in logs, errors or events.

const (
	secretUser = "alice-the-user"
	secretPass = "s3cret-pass"
)

func withCredentials(u string) string {
	return strings.Replace(u, "://", "://"+secretUser+":"+secretPass+"@", 1)
}

// shown records everything a middleware shows: log lines (through
// WithLogger, at every level) and events.
type shown struct {
	bearer.Observer
	mu   sync.Mutex
	logs bytes.Buffer
	text []string
}

func newShown() *shown { return &shown{Observer: bearer.NopObserver{}} }

func (s *shown) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

func (s *shown) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (s *shown) add(v any) {
	s.mu.Lock()
	s.text = append(s.text, fmt.Sprintf("%+v", v))
	s.mu.Unlock()
}

func (s *shown) KeysFetched(e bearer.FetchEvent) { s.add(e); s.Observer.KeysFetched(e) }
func (s *shown) KeyMiss(e bearer.KeyMissEvent)   { s.add(e); s.Observer.KeyMiss(e) }
func (s *shown) KeysStale(e bearer.StaleEvent)   { s.add(e); s.Observer.KeysStale(e) }
func (s *shown) KeysExpired(e bearer.StaleEvent) { s.add(e); s.Observer.KeysExpired(e) }

// check fails when the credentials appear in anything shown or in errs.
func (s *shown) check(t *testing.T, errs ...error) {
	t.Helper()
	s.mu.Lock()
	all := s.logs.String() + strings.Join(s.text, "\n")
	s.mu.Unlock()
	for _, err := range errs {
		if err != nil {
			all += "\n" + err.Error() + fmt.Sprintf("%+v", err)
		}
	}
	if !strings.Contains(all, "xxxxx@") {
		t.Errorf("no redacted URL shown: the test sees nothing\n%s", all)
	}
	for _, secret := range []string{secretUser, secretPass} {
		if strings.Contains(all, secret) {
			t.Errorf("%q shown:\n%s", secret, all)
		}
	}
}

// A provider behind credentials that fails: warnings, stale and expired
// keys, recovery, key misses, Ready, Check, Verify and Refresh errors.
func TestCredentialsRedactedRemoteJWKS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		s := newShown()
		m := newMiddleware(t, bearer.RemoteJWKS(withCredentials(srv.JWKSURL), bearer.RemoteHTTPClient(srv.Client()), bearer.RemoteMaxStaleness(time.Hour)),
			issuedBy(srv, bearer.WithLogger(s.logger()), bearer.WithObserver(s))...)
		mustReady(t, m)
		send(m, mustMintKid(t, srv, randomKid()))
		srv.Keys.Fail(http.StatusInternalServerError)
		refreshErr := m.Refresh(context.Background())
		time.Sleep(3 * time.Hour) // stale, then expired
		_, verifyErr := m.Verify(context.Background(), srv.MustMint(nil))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		readyErr := m.Ready(ctx)
		checkErr := m.Check(context.Background())
		srv.Keys.Serve([]byte(`{"keys":[]}`)) // a bad set: its error names the URL
		time.Sleep(time.Minute)
		srv.Keys.Recover()
		mustReady(t, m)
		if refreshErr == nil || verifyErr == nil || readyErr == nil || checkErr == nil {
			t.Fatalf("errors %v, %v, %v, %v: the test sees nothing", refreshErr, verifyErr, readyErr, checkErr)
		}
		s.check(t, refreshErr, verifyErr, readyErr, checkErr)
	})
}

// Discover with a jwks_uri that carries credentials.
func TestCredentialsRedactedDiscover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		doc, _ := json.Marshal(map[string]string{"issuer": srv.URL, "jwks_uri": withCredentials(srv.JWKSURL)})
		srv.Discovery.Serve(doc)
		srv.Keys.Fail(http.StatusBadGateway)
		s := newShown()
		m := newMiddleware(t, bearer.Discover(srv.URL, bearer.RemoteHTTPClient(srv.Client())), anyAudience(bearer.WithLogger(s.logger()), bearer.WithObserver(s))...)
		time.Sleep(time.Minute)
		s.check(t, m.Check(context.Background()))
	})
}

// A connection that fails (net/http's own errors keep the user name) and
// URLs that New refuses.
func TestCredentialsRedactedErrors(t *testing.T) {
	s := newShown()
	m := newMiddleware(t, bearer.RemoteJWKS(withCredentials("http://127.0.0.1:1/jwks"), bearer.RemoteKeyWait(100*time.Millisecond)),
		anyIssuerAnyAudience(bearer.WithLogger(s.logger()), bearer.WithObserver(s))...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	readyErr := m.Ready(ctx)
	_, verifyErr := m.Verify(context.Background(), bearertest.MustIssuer(bearertest.ES256).MustMint(nil))
	var newErrs []error
	for _, u := range []string{
		withCredentials("https://[::1"),             // malformed
		withCredentials("ftp://idp.example/keys"),   // not https
		withCredentials("https://idp.example/?x#y"), // Discover: a query
	} {
		for _, src := range []bearer.KeySource{bearer.RemoteJWKS(u), bearer.Discover(u)} {
			if m, err := bearer.New(src, anyIssuerAnyAudience(quiet)...); err == nil {
				m.Close()
			} else {
				newErrs = append(newErrs, err)
			}
		}
	}
	if len(newErrs) < 5 {
		t.Fatalf("New refused %d of 6 bad URLs", len(newErrs))
	}
	s.check(t, append(newErrs, readyErr, verifyErr)...)
}

// Introspection endpoints are URLs too: their credentials never reach an
// error either, whether the call fails to connect or the issuer's metadata
// cannot be read.
func TestCredentialsRedactedIntrospection(t *testing.T) {
	s := newShown()
	var errs []error
	logs := []bearer.Option{bearer.WithLogger(s.logger()), bearer.WithObserver(s)}
	for src, trust := range map[bearer.KeySource]func(...bearer.Option) []bearer.Option{
		bearer.Introspection(withCredentials("http://127.0.0.1:1/introspect")): anyIssuerAnyAudience,
		bearer.IntrospectionDiscover(withCredentials("http://127.0.0.1:1")):    anyAudience, // it binds the issuer
	} {
		m := newMiddleware(t, src, trust(logs...)...)
		_, err := m.Verify(context.Background(), "an-opaque-token")
		if !errors.Is(err, bearer.ErrIntrospectionUnavailable) && !errors.Is(err, bearer.ErrKeysUnavailable) {
			t.Fatalf("Verify: %v, want the endpoint unavailable", err)
		}
		errs = append(errs, err, errors.Unwrap(err))
	}
	s.check(t, errs...)
}
