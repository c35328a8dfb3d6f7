package bearer_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
)

// TestWithLoggerLogsEveryRequest: WithLogger alone logs each request's
// outcome, once, at its level: verified and anonymous at Debug, rejected
// tokens and refused requests at Info with their cause.
func TestWithLoggerLogsEveryRequest(t *testing.T) {
	iss := bearertest.MustIssuer(bearertest.HS256)
	var l logs
	m := newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience(bearer.WithLogger(slog.New(&l)),
		bearer.WithMode(bearer.CredentialsOptional), bearer.WithTokenCache(0))...)
	mux := http.NewServeMux()
	mux.Handle("/", whoami)
	mux.Handle("/admin", bearer.RequireScopes("admin")(whoami))
	srv := serve(t, m.Handler(mux))
	reader := bearerHeader(iss.MustMint(bearertest.Claims{"sub": "ann", "scope": "read"}))
	for _, c := range []struct {
		path   string
		header http.Header
		logged string
	}{
		{"/", reader, "DEBUG bearer: token verified iss=" + iss.Issuer() + " sub=ann cached=false"},
		{"/", bearerHeader(iss.MustMint(bearertest.Claims{"exp": 1})),
			"INFO bearer: token rejected status=401 error=invalid_token description=token expired cause=bearer: token expired: exp 1970-01-01T00:00:01Z"},
		{"/", nil, "DEBUG bearer: request without token let through"},
		{"/admin", reader, "DEBUG bearer: token verified iss=" + iss.Issuer() + " sub=ann cached=false\n" +
			"INFO bearer: access denied status=403 error=insufficient_scope description=insufficient scope scope=admin iss=" + iss.Issuer() +
			` sub=ann cause=bearer: insufficient scope: want admin, the token has ["read"]`},
		{"/admin", nil, "DEBUG bearer: request without token let through\n" +
			"INFO bearer: access denied status=401 error= description=bearer token required cause=bearer: no token"},
	} {
		l.reset()
		call(t, srv.URL+c.path, c.header)
		got := strings.TrimSpace(l.all())
		if !strings.HasPrefix(got, c.logged) || strings.Count(got, "\n") != strings.Count(c.logged, "\n") {
			t.Errorf("%s: logged\n%s\nwant\n%s", c.path, got, c.logged)
		}
	}
}

// TestNoLoggerNoRequestLogs: without WithLogger, requests are not logged,
// not even to slog.Default().
func TestNoLoggerNoRequestLogs(t *testing.T) {
	var l logs
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(&l))
	iss := bearertest.MustIssuer(bearertest.HS256)
	srv := serve(t, newMiddleware(t, iss.KeySource(), anyIssuerAnyAudience()...).Handler(whoami))
	call(t, srv.URL, bearerHeader(iss.MustMint(bearertest.Claims{"exp": 1})))
	call(t, srv.URL, bearerHeader(iss.MustMint(nil)))
	if got := l.all(); got != "" {
		t.Errorf("logged without WithLogger:\n%s", got)
	}
}

// TestKeySourceLogLines: a fetch is logged at Debug only when it
// succeeded, as what it fetched (the key set or the discovery document);
// a failure is one warning that names the URL that failed and, for
// Discover, the issuer beside it.
func TestKeySourceLogLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		var l logs
		m := newMiddleware(t, bearer.Discover(srv.URL, bearer.RemoteHTTPClient(srv.Client())), anyAudience(bearer.WithLogger(slog.New(&l)))...)
		mustReady(t, m)
		jwks := srv.JWKSURL
		discovery := srv.URL + bearertest.DiscoveryPath
		wantLines(t, &l, "bearer: discovery document fetched", "DEBUG url="+discovery+" issuer="+srv.URL+" trigger=initial status=200")
		wantLines(t, &l, "bearer: key set fetched", "DEBUG url="+jwks+" issuer="+srv.URL+" trigger=initial status=200")

		// A key miss finds the set unchanged but for a new kid; the
		// failure is a warning, with the JWKS URL its error names.
		l.reset()
		srv.Keys.Fail(http.StatusInternalServerError)
		srv.Rotate()
		rec := send(m, srv.MustMint(nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("key miss while the set fails: %d", rec.Code)
		}
		wantLines(t, &l, "bearer: key set fetch failed", "WARN url="+jwks+" issuer="+srv.URL+" err=bearer: fetch failed: "+jwks)
		wantLines(t, &l, "bearer: key set fetched")
		wantLines(t, &l, "bearer: unknown key id", "DEBUG url="+srv.URL+" outcome=unavailable")
	})
}

// TestDiscoveryFailureLogLine: a failing discovery document is reported
// as such, with its own URL.
func TestDiscoveryFailureLogLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		srv.Discovery.Fail(http.StatusNotFound)
		var l logs
		m := newMiddleware(t, bearer.Discover(srv.URL, bearer.RemoteHTTPClient(srv.Client())), anyAudience(bearer.WithLogger(slog.New(&l)))...)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		m.Ready(ctx)
		discovery := srv.URL + bearertest.DiscoveryPath
		wantLines(t, &l, "bearer: discovery document fetch failed", "WARN url="+discovery+" issuer="+srv.URL+" err=")
		wantLines(t, &l, "bearer: discovery document fetched")
		wantLines(t, &l, "bearer: key set fetch failed")
	})
}

// TestRemoteUnknownKidExplained: the cause of an unknown kid lists what
// the fetched key set holds.
func TestRemoteUnknownKidExplained(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newIdP(t, bearertest.ES256)
		m := newRemote(t, srv, nil, anyIssuerAnyAudience()...)
		mustReady(t, m)
		tok, err := srv.MintWithHeader(map[string]any{"kid": "gone"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Verify(context.Background(), tok)
		want := `kid "gone" is not in the key set, which holds 1 key(s) with kids ["` + srv.KeyID() + `"]`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Verify: %v, want a cause with %q", err, want)
		}
	})
}

// wantLines checks the records with message msg: one per prefix of want,
// "LEVEL attr=value ...", in order; none when want is empty.
func wantLines(t *testing.T, l *logs, msg string, want ...string) {
	t.Helper()
	got := l.attrsText(msg)
	if len(got) != len(want) {
		t.Errorf("%q logged %d times, want %d:\n%s", msg, len(got), len(want), l.all())
		return
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("%q logged\n%s\nwant\n%s", msg, got[i], want[i])
		}
	}
}

// attrsText returns the records with message msg as "LEVEL attr=value ...".
func (l *logs) attrsText(msg string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.records {
		if r.Message != msg {
			continue
		}
		var b strings.Builder
		b.WriteString(r.Level.String())
		r.Attrs(func(a slog.Attr) bool {
			b.WriteString(" " + a.Key + "=" + a.Value.String())
			return true
		})
		out = append(out, b.String())
	}
	return out
}

func (l *logs) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = nil
}
