// Command production wires bearer the way a service runs it in production,
// with no external provider needed: two identity providers (in-process
// test servers standing in for your company's IdP and a partner's), trusted
// side by side; the company's found through OIDC discovery; keys fetched
// and refreshed in the background; readiness and health endpoints; public,
// optional-token and scoped routes; RFC 9728 metadata; OpenTelemetry
// metrics and slog logs; graceful shutdown that stops the key refresh.
//
//	go run ./production
//
// It prints the commands to try.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/bearerauth/bearer"
	"github.com/bearerauth/bearer/bearertest"
	"github.com/bearerauth/bearer/examples/internal/demo"
	"github.com/bearerauth/bearer/otelbearer"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

const (
	audience        = "orders-api"
	partnerAudience = "https://api.example.com/orders"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	a, err := newApp(logger, "http://"+*addr)
	if err != nil {
		log.Fatal(err)
	}
	// Start serving only with keys at hand, or fail fast.
	ready, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = a.auth.Ready(ready)
	cancel()
	if err != nil {
		a.Close()
		log.Fatal(err)
	}

	// Ctrl-C drains the requests in flight first ...
	err = demo.ListenAndServe(*addr, a.routes(), func(addr string) { a.printUsage(os.Stdout, addr) })
	a.Close() // ... then stops the key refresh: nothing is left running
	if err != nil {
		log.Fatal(err)
	}
}

// app is the service and the two providers it trusts.
type app struct {
	company, partner *bearertest.Server
	auth             *bearer.Middleware
	metrics          *sdkmetric.ManualReader
}

func newApp(logger *slog.Logger, resource string) (*app, error) {
	a := &app{
		company: bearertest.NewServer(bearertest.RS256, bearertest.WithAudience(audience)),
		partner: bearertest.NewServer(bearertest.ES256, bearertest.WithAudience(partnerAudience)),
		metrics: sdkmetric.NewManualReader(),
	}
	obs, err := otelbearer.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(a.metrics)))
	if err != nil {
		a.Close()
		return nil, err
	}
	a.auth, err = bearer.New(
		bearer.Issuers(
			// The company's IdP, found through OIDC discovery; its tokens
			// are for WithAudience below.
			bearer.TrustedIssuer{Keys: bearer.Discover(a.company.URL)},
			// A partner's, with its own audience.
			bearer.TrustedIssuer{
				Issuer:   a.partner.URL,
				Keys:     bearer.RemoteJWKS(a.partner.JWKSURL),
				Audience: []string{partnerAudience},
			},
		),
		bearer.WithAudience(audience),
		bearer.WithRealm("orders"),
		// Every route reads a token if there is one; the routes that need
		// one say so with Require.
		bearer.WithMode(bearer.CredentialsOptional),
		bearer.WithSkip(bearer.SkipPaths("/healthz", "/readyz", "/metrics", bearer.ResourceMetadataPath)),
		bearer.WithResourceMetadata(bearer.ResourceMetadata{
			Resource:        resource,
			ScopesSupported: []string{"orders:read", "orders:write"},
			ResourceName:    "Orders API",
		}),
		bearer.WithLogger(logger),
		bearer.WithObserver(obs),
	)
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close stops the middleware's background work, then the providers.
func (a *app) Close() {
	if a.auth != nil {
		a.auth.Close()
	}
	a.company.Close()
	a.partner.Close()
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.auth.Check(r.Context()); err != nil {
			http.Error(w, "signing keys unavailable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	mux.HandleFunc("GET /metrics", a.dumpMetrics)
	mux.Handle("GET "+bearer.ResourceMetadataPath, a.auth.ResourceMetadataHandler())
	mux.HandleFunc("GET /catalog", catalog)
	mux.Handle("GET /orders", bearer.RequireScopes("orders:read")(http.HandlerFunc(listOrders)))
	mux.Handle("POST /orders", bearer.RequireScopes("orders:write")(http.HandlerFunc(placeOrder)))
	return a.auth.Handler(mux)
}

// catalog is public, and greets a caller with a valid token by name.
func catalog(w http.ResponseWriter, r *http.Request) {
	who := "guest"
	if tok, ok := bearer.FromContext(r.Context()); ok {
		who = tok.Subject()
	}
	writeJSON(w, http.StatusOK, map[string]any{"for": who, "items": []string{"tea", "coffee"}})
}

func listOrders(w http.ResponseWriter, r *http.Request) {
	tok, _ := bearer.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"owner": tok.Subject(), "issuer": tok.Issuer(), "orders": []string{}})
}

func placeOrder(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusCreated, map[string]any{"owner": bearer.Subject(r.Context()), "placed": true})
}

// dumpMetrics shows what the OpenTelemetry reader holds; a real service
// would export to its collector instead.
func (a *app) dumpMetrics(w http.ResponseWriter, r *http.Request) {
	var rm metricdata.ResourceMetrics
	if err := a.metrics.Collect(r.Context(), &rm); err != nil {
		http.Error(w, "collect failed", http.StatusInternalServerError)
		return
	}
	out := map[string]map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			points := map[string]float64{}
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
			out[m.Name] = points
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (a *app) printUsage(w io.Writer, addr string) {
	reader := a.company.MustMint(bearertest.Claims{"sub": "alice", "scope": "orders:read"})
	writer := a.company.MustMint(bearertest.Claims{"sub": "alice", "scope": "orders:read orders:write"})
	partner := a.partner.MustMint(bearertest.Claims{"sub": "partner-bot", "scope": "orders:read"})
	fmt.Fprintf(w, `production example listening on http://%[1]s
trusting %[2]s (discovery) and %[3]s (partner)

Tokens, valid for an hour:
  READER=%[4]s
  WRITER=%[5]s
  PARTNER=%[6]s

Try:
  curl -s http://%[1]s/readyz
  curl -s http://%[1]s/catalog                                       # anonymous
  curl -s http://%[1]s/catalog -H "Authorization: Bearer $READER"
  curl -si http://%[1]s/orders                                       # 401, with resource_metadata
  curl -s http://%[1]s/orders -H "Authorization: Bearer $PARTNER"
  curl -si -X POST http://%[1]s/orders -H "Authorization: Bearer $READER"   # 403 insufficient_scope
  curl -s -X POST http://%[1]s/orders -H "Authorization: Bearer $WRITER"
  curl -s http://%[1]s%[7]s
  curl -s http://%[1]s/metrics

Ctrl-C shuts down gracefully.
`, addr, a.company.URL, a.partner.URL, reader, writer, partner, bearer.ResourceMetadataPath)
}
