package answertest

import (
	"net/http"
	"testing"

	"github.com/bearerauth/bearer"
)

// discard is a ResponseWriter that keeps nothing, so that measurements
// count the handler's allocations, not the recorder's.
type discard http.Header

func (d discard) Header() http.Header       { return http.Header(d) }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// request returns a GET / with the Authorization header authorization.
func request(authorization string) *http.Request {
	r, err := http.NewRequest(http.MethodGet, "/", nil)
	if err != nil {
		panic(err)
	}
	r.Header.Set("Authorization", authorization)
	return r
}

// Bench benchmarks h answering GET / with the Authorization header
// authorization, without a network, and reports allocations.
func Bench(b *testing.B, h http.Handler, authorization string) {
	r, w := request(authorization), discard{}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// AllocsPerRequest returns the average number of allocations h makes
// answering GET / with the Authorization header authorization.
func AllocsPerRequest(h http.Handler, authorization string) float64 {
	r, w := request(authorization), discard{}
	return testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) })
}

// okHandler answers 204: the cheapest handler, so that measurements show
// the middleware.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
})

// Pair is a handler with and without what is measured.
type Pair struct{ With, Without http.Handler }

// Middleware is the net/http middleware m on okHandler, and okHandler.
func Middleware(m *bearer.Middleware) Pair {
	return Pair{m.Handler(okHandler), okHandler}
}

// Scopes is bearer.RequireScopes(scopes...) behind m on okHandler, and m on
// okHandler.
func Scopes(m *bearer.Middleware, scopes ...string) Pair {
	return Pair{m.Handler(bearer.RequireScopes(scopes...)(okHandler)), m.Handler(okHandler)}
}

// Added returns the allocations per request p.With makes beyond
// p.Without, answering GET / with the Authorization header authorization.
func (p Pair) Added(authorization string) float64 {
	return AllocsPerRequest(p.With, authorization) - AllocsPerRequest(p.Without, authorization)
}

// Benchmark runs the four handlers of a net/http pair and a framework pair
// as sub-benchmarks that report allocations. What the adapter adds is the
// difference between the framework's two, less the difference between the
// net/http ones.
func Benchmark(b *testing.B, authorization string, netHTTP, framework Pair) {
	BenchmarkPair(b, "net-http", authorization, netHTTP)
	BenchmarkPair(b, "framework", authorization, framework)
}

// BenchmarkPair runs p.Without and p.With as sub-benchmarks
// name-without and name-with.
func BenchmarkPair(b *testing.B, name, authorization string, p Pair) {
	b.Run(name+"-without", func(b *testing.B) { Bench(b, p.Without, authorization) })
	b.Run(name+"-with", func(b *testing.B) { Bench(b, p.With, authorization) })
}

// CheckOverhead reports an error if what framework measures allocates more
// than max per request beyond what netHTTP measures.
func CheckOverhead(t *testing.T, authorization string, netHTTP, framework Pair, max float64) {
	t.Helper()
	CheckAdded(t, netHTTP.Added(authorization), framework.Added(authorization), max)
}

// CheckAdded reports an error if an adapter that adds adapter allocations
// per request adds more than max beyond netHTTP, what the net/http
// middleware adds.
func CheckAdded(t *testing.T, netHTTP, adapter, max float64) {
	t.Helper()
	if RaceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	t.Logf("allocations per request: net/http %.1f, adapter %.1f", netHTTP, adapter)
	if adapter > netHTTP+max {
		t.Errorf("the adapter allocates %.1f per request, net/http %.1f: more than %.0f over it", adapter, netHTTP, max)
	}
}
