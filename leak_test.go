package bearer_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// TestMain fails the run if any test or example of the package leaves a
// goroutine behind: a remote source's owner goroutine, a connection, a
// test server. Tests in synctest bubbles are checked by synctest itself.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// These tests run in real time against TCP servers, with the sources' own
// HTTP clients, so that goleak sees every goroutine a source starts: its
// owner goroutine and its connections.

func TestCloseLeavesNoGoroutine(t *testing.T) {
	srv := bearertest.NewServer(bearertest.ES256)
	defer srv.Close()
	ignore := goleak.IgnoreCurrent()

	m, err := bearer.New(bearer.Discover(srv.URL), anyAudience(quiet)...)
	if err != nil {
		t.Fatal(err)
	}
	mustReady(t, m)
	if _, err := m.Verify(context.Background(), srv.MustMint(nil)); err != nil {
		t.Fatal(err)
	}
	srv.Rotate()
	if _, err := m.Verify(context.Background(), srv.MustMint(nil)); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	goleak.VerifyNone(t, ignore)
}

// Close ends a fetch in flight instead of waiting for it.
func TestCloseDuringHungFetch(t *testing.T) {
	arrived := make(chan struct{}, 1)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	defer hung.Close()
	ignore := goleak.IgnoreCurrent()

	// A fetch timeout far longer than the test: Close must end the fetch,
	// not wait for it.
	m, err := bearer.New(bearer.RemoteJWKS(hung.URL, bearer.RemoteFetchTimeout(time.Hour)), anyIssuerAnyAudience(quiet)...)
	if err != nil {
		t.Fatal(err)
	}
	<-arrived
	if err := m.Check(context.Background()); !errors.Is(err, bearer.ErrKeysUnavailable) {
		t.Fatalf("Check: %v", err)
	}
	closed := make(chan struct{})
	go func() {
		m.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(time.Minute): // generous: Close takes milliseconds
		t.Fatal("Close waits for the hung fetch")
	}
	goleak.VerifyNone(t, ignore)
}

// A New that fails leaves nothing running: not the sources it opened
// before the failure, not the one that failed.
func TestFailedNewLeavesNoGoroutine(t *testing.T) {
	srv := bearertest.NewServer(bearertest.ES256)
	defer srv.Close()
	ignore := goleak.IgnoreCurrent()
	for name, keys := range map[string]bearer.KeySource{
		"insecure URL": bearer.RemoteJWKS("http://idp.example.com/jwks"),
		"second issuer fails": bearer.Issuers(
			bearer.TrustedIssuer{Keys: bearer.Discover(srv.URL)},
			bearer.TrustedIssuer{Issuer: srv.URL + "/b", Keys: bearer.RemoteJWKS(srv.JWKSURL, bearer.RemoteKeyWait(-1))},
		),
		"duplicate issuer": bearer.Issuers(
			bearer.TrustedIssuer{Keys: bearer.Discover(srv.URL)},
			bearer.TrustedIssuer{Issuer: srv.URL, Keys: bearer.RemoteJWKS(srv.JWKSURL)},
		),
	} {
		if m, err := bearer.New(keys, anyIssuerAnyAudience(quiet)...); err == nil {
			m.Close()
			t.Fatalf("%s: New succeeded", name)
		}
	}
	// The source opens, then the middleware refuses the binding.
	if m, err := bearer.New(bearer.Discover(srv.URL), anyIssuerAnyAudience(quiet, bearer.WithIssuer("https://other.example"))...); err == nil {
		m.Close()
		t.Fatal("New accepted WithIssuer against Discover")
	}
	goleak.VerifyNone(t, ignore)
}
