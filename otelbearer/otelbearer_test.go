package otelbearer_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/otelbearer"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// collect returns the points of the metric name, by their attributes.
func collect(t *testing.T, reader *sdkmetric.ManualReader, name string) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	points := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelbearer.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					points[p.Attributes.Encoded(attribute.DefaultEncoder())] = float64(p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					points[p.Attributes.Encoded(attribute.DefaultEncoder())] = float64(p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					points[p.Attributes.Encoded(attribute.DefaultEncoder())] = float64(p.Count)
				}
			}
		}
	}
	return points
}

func setup(t *testing.T) (*sdkmetric.ManualReader, *otelbearer.Observer) {
	reader := sdkmetric.NewManualReader()
	obs, err := otelbearer.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	return reader, obs
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestTokenMetrics(t *testing.T) {
	reader, obs := setup(t)
	iss := bearertest.MustIssuer(bearertest.ES256)
	m, err := bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience), bearer.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer srv.Close()

	for range 3 {
		get(t, srv.URL, iss.MustMint(nil))
	}
	get(t, srv.URL, iss.MustMint(bearertest.Claims{"exp": 1}))
	get(t, srv.URL, iss.MustMint(bearertest.Claims{"exp": 2}))
	get(t, srv.URL, "")

	got := collect(t, reader, "bearer.tokens")
	want := map[string]float64{
		"bearer.cached=false,bearer.outcome=verified":                                       3,
		"bearer.error=invalid_token,bearer.outcome=rejected,bearer.reason=token expired":    2,
		"bearer.error=no_token,bearer.outcome=rejected,bearer.reason=bearer token required": 1,
	}
	if len(got) != len(want) {
		t.Errorf("points: %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("bearer.tokens{%s} = %v, want %v", k, got[k], v)
		}
	}
}

func TestKeyMetrics(t *testing.T) {
	reader, obs := setup(t)
	idp := bearertest.NewServer(bearertest.RS256)
	defer idp.Close()
	m, err := bearer.New(bearer.RemoteJWKS(idp.JWKSURL), bearer.WithIssuer(idp.URL), bearer.WithAudience(bearertest.DefaultAudience), bearer.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer srv.Close()

	// A rotated key: one key-miss fetch that finds it.
	if _, err := idp.Rotate(); err != nil {
		t.Fatal(err)
	}
	if code := get(t, srv.URL, idp.MustMint(nil)); code != 200 {
		t.Fatalf("token of the rotated key: %d", code)
	}

	url := "url.full=" + idp.JWKSURL
	fetches := collect(t, reader, "bearer.key.fetches")
	for _, k := range []string{
		"bearer.fetch.trigger=initial,bearer.outcome=success,http.response.status_code=200," + url,
		"bearer.fetch.trigger=key-miss,bearer.outcome=success,http.response.status_code=200," + url,
	} {
		if fetches[k] != 1 {
			t.Errorf("bearer.key.fetches{%s} = %v; all: %v", k, fetches[k], fetches)
		}
	}
	if d := collect(t, reader, "bearer.key.fetch.duration"); len(d) != 2 {
		t.Errorf("bearer.key.fetch.duration: %v", d)
	}
	if keys := collect(t, reader, "bearer.keys"); keys[url] != 2 {
		t.Errorf("bearer.keys = %v, want 2", keys)
	}
	if misses := collect(t, reader, "bearer.key.misses"); misses["bearer.key_miss.outcome=found,"+url] != 1 {
		t.Errorf("bearer.key.misses = %v", misses)
	}
}

func TestNilProvider(t *testing.T) {
	if _, err := otelbearer.New(nil); err == nil {
		t.Error("nil MeterProvider accepted")
	}
}

// A discovery document brings no keys: it gets no bearer.keys point, which
// would read as "no keys" to an alert.
func TestDiscoveryHasNoKeyGauge(t *testing.T) {
	reader, obs := setup(t)
	idp := bearertest.NewServer(bearertest.ES256)
	defer idp.Close()
	m, err := bearer.New(bearer.Discover(idp.URL), bearer.WithAudience(bearertest.DefaultAudience), bearer.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	keys := collect(t, reader, "bearer.keys")
	if len(keys) != 1 || keys["url.full="+idp.JWKSURL] != 1 {
		t.Errorf("bearer.keys = %v, want only the JWKS with 1 key", keys)
	}
	if n := len(collect(t, reader, "bearer.key.fetches")); n != 2 {
		t.Errorf("%d fetch series, want the discovery and the JWKS fetch", n)
	}
}

// Descriptions from validators are the application's: beyond a bound they
// are counted as "other", so the series stay bounded.
func TestReasonsBounded(t *testing.T) {
	reader, obs := setup(t)
	for i := range 200 {
		obs.TokenRejected(t.Context(), &bearer.Error{Code: bearer.CodeInvalidToken, Description: fmt.Sprintf("reason %d", i), Status: 401})
	}
	got := collect(t, reader, "bearer.tokens")
	if len(got) > 65 {
		t.Errorf("%d series, want at most 65", len(got))
	}
	if other := got["bearer.error=invalid_token,bearer.outcome=rejected,bearer.reason=other"]; other != 200-64 {
		t.Errorf("other = %v, want %d", other, 200-64)
	}
}

// TestRequestsCountedOnceAndCausesOnSpans: each request is counted once by
// how it was authenticated, anonymous ones apart from rejected tokens;
// rule refusals are counted as access denied; the causes, which say what
// was expected and what arrived, go to the span, never to a metric.
func TestRequestsCountedOnceAndCausesOnSpans(t *testing.T) {
	reader, obs := setup(t)
	spans := tracetest.NewSpanRecorder()
	tracer := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("test")
	iss := bearertest.MustIssuer(bearertest.ES256)
	m, err := bearer.New(iss.KeySource(), bearer.WithIssuer(iss.Issuer()), bearer.WithAudience(bearertest.DefaultAudience), bearer.WithObserver(obs), bearer.WithMode(bearer.CredentialsOptional), bearer.WithTokenCache(0))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mux := http.NewServeMux()
	mux.Handle("/", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	mux.Handle("/admin", bearer.RequireScopes("admin")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	traced := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), r.URL.Path)
		defer span.End()
		m.Handler(mux).ServeHTTP(w, r.WithContext(ctx))
	})
	srv := httptest.NewServer(traced)
	defer srv.Close()

	reader1 := iss.MustMint(bearertest.Claims{"scope": "read"})
	for _, c := range []struct {
		path, token string
		status      int
	}{
		{"/", "", 200},
		{"/", iss.MustMint(bearertest.Claims{"exp": 1}), 401},
		{"/admin", reader1, 403},
		{"/admin", "", 401},
	} {
		if got := get(t, srv.URL+c.path, c.token); got != c.status {
			t.Errorf("%s: %d, want %d", c.path, got, c.status)
		}
	}

	tokens := collect(t, reader, "bearer.tokens")
	for k, v := range map[string]float64{
		"bearer.outcome=anonymous":                                                       2,
		"bearer.cached=false,bearer.outcome=verified":                                    1,
		"bearer.error=invalid_token,bearer.outcome=rejected,bearer.reason=token expired": 1,
	} {
		if tokens[k] != v {
			t.Errorf("bearer.tokens{%s} = %v, want %v; all: %v", k, tokens[k], v, tokens)
		}
	}
	denied := collect(t, reader, "bearer.access.denied")
	if len(denied) != 2 || denied["bearer.error=insufficient_scope,bearer.reason=insufficient scope"] != 1 ||
		denied["bearer.error=no_token,bearer.reason=bearer token required"] != 1 {
		t.Errorf("bearer.access.denied = %v", denied)
	}
	for series := range tokens {
		if strings.Contains(series, "1970") {
			t.Errorf("a cause in a metric attribute: %s", series)
		}
	}

	causes := map[string][]string{}
	for _, s := range spans.Ended() {
		for _, e := range s.Events() {
			for _, a := range e.Attributes {
				if a.Key == "bearer.cause" {
					causes[s.Name()+" "+e.Name] = append(causes[s.Name()+" "+e.Name], a.Value.AsString())
				}
			}
		}
	}
	for k, want := range map[string]string{
		"/ bearer.token.rejected":     "bearer: token expired: exp 1970-01-01T00:00:01Z, now ",
		"/admin bearer.access.denied": `bearer: insufficient scope: want admin, the token has ["read"]`,
	} {
		if !slices.ContainsFunc(causes[k], func(c string) bool { return strings.HasPrefix(c, want) }) {
			t.Errorf("span event %s: causes %q, want %q", k, causes[k], want)
		}
	}
	for _, list := range causes {
		for _, cause := range list {
			if strings.Contains(cause, reader1) {
				t.Error("a span has the token")
			}
		}
	}
}

// Credentials in a key-source URL never reach an attribute: url.full is
// the URL with its userinfo redacted.
func TestCredentialsNotInAttributes(t *testing.T) {
	reader, obs := setup(t)
	idp := bearertest.NewServer(bearertest.ES256)
	defer idp.Close()
	const user, pass = "alice-the-user", "s3cret-pass"
	keysURL := strings.Replace(idp.JWKSURL, "://", "://"+user+":"+pass+"@", 1)
	m, err := bearer.New(bearer.RemoteJWKS(keysURL), bearer.WithIssuer(idp.URL), bearer.WithAudience(bearertest.DefaultAudience), bearer.WithObserver(obs), bearer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	m.Verify(t.Context(), idp.MustMint(nil))
	idp.Rotate()
	m.Verify(t.Context(), idp.MustMint(nil)) // a key miss
	idp.Keys.Fail(http.StatusInternalServerError)
	m.Refresh(t.Context()) // a failed fetch

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, sm := range rm.ScopeMetrics {
		for _, metric := range sm.Metrics {
			var sets []attribute.Set
			switch d := metric.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			}
			for _, s := range sets {
				all = append(all, metric.Name+"{"+s.Encoded(attribute.DefaultEncoder())+"}")
			}
		}
	}
	joined := strings.Join(all, "\n")
	want := "url.full=" + strings.Replace(idp.JWKSURL, "://", "://xxxxx@", 1)
	if !strings.Contains(joined, want) || !strings.Contains(joined, "bearer.key_miss.outcome=found") || !strings.Contains(joined, "bearer.outcome=failure") {
		t.Fatalf("attributes without %s, a key miss or a failed fetch:\n%s", want, joined)
	}
	for _, secret := range []string{user, pass} {
		if strings.Contains(joined, secret) {
			t.Errorf("%q in the attributes:\n%s", secret, joined)
		}
	}
}
