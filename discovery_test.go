package bearer_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

func newDiscover(t *testing.T, srv *bearertest.Server, ropts []bearer.RemoteOption, opts ...bearer.Option) *bearer.Middleware {
	t.Helper()
	ropts = append([]bearer.RemoteOption{bearer.RemoteHTTPClient(srv.Client())}, ropts...)
	return newMiddleware(t, bearer.Discover(srv.URL, ropts...), append([]bearer.Option{quiet}, opts...)...)
}

// Discover finds the keys through the discovery document, reads it once,
// and accepts only tokens of its issuer.
func TestDiscover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.RS256)
		m := newDiscover(t, srv, nil, bearer.WithAudience(bearertest.DefaultAudience))
		mustReady(t, m)
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "alice"})), "alice")

		for _, iss := range []any{srv.URL + "/", "https://evil.example", nil} {
			wantInvalid(t, send(m, srv.MustMint(bearertest.Claims{"iss": iss})), "issuer not accepted")
		}
		wantInvalid(t, send(m, srv.MustMint(bearertest.Claims{"aud": "other"})), "audience not accepted")

		time.Sleep(3 * time.Hour)
		if d, k := srv.Discovery.Requests(), srv.Keys.Requests(); d != 1 || k < 10 {
			t.Fatalf("%d discovery and %d key fetches in 3 h, want 1 and refreshes", d, k)
		}
	})
}

// WithIssuer beside Discover may only repeat the discovered issuer.
func TestDiscoverWithIssuer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		m := newDiscover(t, srv, nil, anyAudience(bearer.WithIssuer(srv.URL))...)
		mustReady(t, m)
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "a"})), "a")

		_, err := bearer.New(bearer.Discover(srv.URL, bearer.RemoteHTTPClient(srv.Client())), anyIssuerAnyAudience(bearer.WithIssuer("https://other.example"), quiet)...)
		if err == nil {
			t.Fatal("New accepted WithIssuer naming another issuer than Discover's")
		}
	})
}

// A discovery document naming another issuer is refused: no keys are
// fetched, requests get 503, and Ready says why at once (a configuration
// error: waiting would not mend it), naming both values. Such a source
// retries on the long backoff, not the short one of a source without keys.
func TestDiscoverIssuerMismatch(t *testing.T) {
	cases := []struct {
		name, given string
		opts        []bearertest.Option
		hint        bool
	}{
		{"another issuer", "", []bearertest.Option{bearertest.WithIssuer("https://other.example")}, false},
		{"trailing slash", "/", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newIdP(t, bearertest.ES256, c.opts...)
				given := srv.URL + c.given
				m := newMiddleware(t, bearer.Discover(given, bearer.RemoteHTTPClient(srv.Client())), anyAudience(quiet)...)
				wantUnavailable(t, send(m, srv.MustMint(bearertest.Claims{"iss": given})), "")
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				start := time.Now()
				err := m.Ready(ctx)
				if !errors.Is(err, bearer.ErrIssuerMismatch) || !errors.Is(err, bearer.ErrKeysUnavailable) || errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Ready: %v, want ErrIssuerMismatch and ErrKeysUnavailable", err)
				}
				if d := time.Since(start); d != 0 {
					t.Fatalf("Ready took %v to report the mismatch, want at once", d)
				}
				doc := srv.Issuer.Issuer()
				if msg := err.Error(); !strings.Contains(msg, strconv.Quote(doc)) || !strings.Contains(msg, strconv.Quote(given)) || strings.Contains(msg, "trailing slash") != c.hint {
					t.Fatalf("Ready: %q, want both %q and %q named (trailing slash hint %v)", msg, doc, given, c.hint)
				}
				if err := m.Check(context.Background()); !errors.Is(err, bearer.ErrIssuerMismatch) {
					t.Fatalf("Check: %v", err)
				}
				time.Sleep(time.Minute)
				if d, k := srv.Discovery.Requests(), srv.Keys.Requests(); d > 12 || k != 0 {
					t.Fatalf("%d discovery and %d key fetches in a minute, want the long backoff and none", d, k)
				}
			})
		})
	}
}

// Discovery failures are retried on the short cap of a source without
// keys, then the keys follow.
func TestDiscoverRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.Discovery.Fail(http.StatusServiceUnavailable)
		obs := newEvents()
		m := newDiscover(t, srv, nil, anyAudience(bearer.WithObserver(obs))...)
		time.Sleep(time.Minute)
		// Without keys, waits of [0.5, 1] s, then [0.75, 1.5] s: 40 to 80
		// attempts in 60 s.
		if d, k := srv.Discovery.Requests(), srv.Keys.Requests(); d < 40 || d > 80 || k != 0 {
			t.Fatalf("%d discovery and %d key fetches in 1 min, want 40 to 80 and none", d, k)
		}
		if e := obs.lastFetch(); e.URL != srv.URL+bearertest.DiscoveryPath || e.Status != http.StatusServiceUnavailable || e.Err == nil {
			t.Fatalf("discovery fetch event %+v", e)
		}
		srv.Discovery.Recover()
		mustReady(t, m)
		wantOK(t, send(m, srv.MustMint(bearertest.Claims{"sub": "a"})), "a")
		if e := obs.lastFetch(); e.URL != srv.JWKSURL || e.Status != http.StatusOK || e.Keys != 1 {
			t.Fatalf("key fetch event %+v", e)
		}
	})
}

// Malformed documents are failed discoveries.
func TestDiscoverBadDocuments(t *testing.T) {
	for name, doc := range map[string]string{
		"garbage":                    "<html></html>",
		"no jwks_uri":                `{"issuer":"ISSUER"}`,
		"bad jwks_uri":               `{"issuer":"ISSUER","jwks_uri":"::"}`,
		"plain http to another host": `{"issuer":"ISSUER","jwks_uri":"http://idp.example.com/jwks"}`,
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newIdP(t, bearertest.ES256)
				srv.Discovery.Serve([]byte(replaceIssuer(doc, srv.URL)))
				obs := newEvents()
				m := newDiscover(t, srv, nil, anyAudience(bearer.WithObserver(obs))...)
				wantUnavailable(t, send(m, srv.MustMint(nil)), "")
				if e := obs.lastFetch(); e.Err == nil || srv.Keys.Requests() != 0 {
					t.Fatalf("fetch event %+v, %d key fetches; want a failed discovery and none", e, srv.Keys.Requests())
				}
			})
		})
	}
}

func replaceIssuer(doc, iss string) string {
	var v map[string]any
	if json.Unmarshal([]byte(doc), &v) != nil {
		return doc
	}
	v["issuer"] = iss
	b, _ := json.Marshal(v)
	return string(b)
}

// An https issuer may not send us to a plain-http jwks_uri, not even on
// loopback.
func TestDiscoverRefusesPlainHTTPJWKSURI(t *testing.T) {
	var tlsSrv *httptest.Server
	tlsSrv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": tlsSrv.URL, "jwks_uri": "http://127.0.0.1:1/jwks"})
	}))
	defer tlsSrv.Close()
	obs := newEvents()
	m := newMiddleware(t, bearer.Discover(tlsSrv.URL, bearer.RemoteHTTPClient(tlsSrv.Client())), anyAudience(bearer.WithObserver(obs), quiet)...)
	e := <-obs.fetched
	if e.URL != tlsSrv.URL+bearertest.DiscoveryPath || e.Status != http.StatusOK || !errors.Is(e.Err, bearer.ErrInsecureURL) {
		t.Fatalf("discovery fetch event %+v, want ErrInsecureURL", e)
	}
	if err := m.Check(context.Background()); !errors.Is(err, bearer.ErrKeysUnavailable) {
		t.Fatalf("Check: %v", err)
	}
}

// A discovery document is read as strictly as a token: a member named twice
// (exactly or under case folding), where encoding/json would take the last,
// leaves the source without keys and fetches nothing. The scheme of
// jwks_uri is case-insensitive (RFC 3986 §3.1).
func TestDiscoverDocumentReadStrictly(t *testing.T) {
	for name, c := range map[string]struct {
		doc  string
		keys bool
	}{
		"jwks_uri twice":       {`{"issuer":"ISSUER","jwks_uri":"https://evil.example/keys","jwks_uri":"JWKS"}`, false},
		"issuer twice":         {`{"issuer":"https://evil.example","issuer":"ISSUER","jwks_uri":"JWKS"}`, false},
		"issuer, then Issuer":  {`{"issuer":"ISSUER","Issuer":"https://evil.example","jwks_uri":"JWKS"}`, false},
		"issuer not a string":  {`{"issuer":["ISSUER"],"jwks_uri":"JWKS"}`, false},
		"the control":          {`{"issuer":"ISSUER","jwks_uri":"JWKS"}`, true},
		"scheme in mixed case": {`{"issuer":"ISSUER","jwks_uri":"MIXED"}`, true},
	} {
		t.Run(name, func(t *testing.T) {
			var tlsSrv *httptest.Server
			iss := bearertest.MustIssuer(bearertest.ES256)
			tlsSrv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/keys" {
					w.Write(iss.JWKS())
					return
				}
				doc := strings.ReplaceAll(c.doc, "ISSUER", tlsSrv.URL)
				doc = strings.ReplaceAll(doc, "MIXED", "hTtPs"+strings.TrimPrefix(tlsSrv.URL, "https")+"/keys")
				w.Write([]byte(strings.ReplaceAll(doc, "JWKS", tlsSrv.URL+"/keys")))
			}))
			defer tlsSrv.Close()
			m := newMiddleware(t, bearer.Discover(tlsSrv.URL, bearer.RemoteHTTPClient(tlsSrv.Client())), anyAudience(quiet)...)
			// Enough for a good document on loopback; a bad one never brings keys.
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			if err := m.Ready(ctx); (err == nil) != c.keys {
				t.Fatalf("Ready: %v, want keys %v", err, c.keys)
			}
		})
	}
}
