package main

import (
	"slices"
	"strings"
	"testing"
)

const sampleOutput = `goos: linux
BenchmarkHS256/floor-2         	  789324	      1000 ns/op	     512 B/op	       6 allocs/op
BenchmarkHS256/nethttp-2       	 5450050	       200 ns/op	     208 B/op	       4 allocs/op
BenchmarkHS256/nethttp-2       	 5450050	       400 ns/op	     208 B/op	       4 allocs/op
BenchmarkHS256/nethttp-2       	 5450050	       300 ns/op	     208 B/op	       4 allocs/op
BenchmarkHS256/bearer-2        	   92160	      2300 ns/op	    3232 B/op	      12 allocs/op
BenchmarkHS256/bearer-cached-2 	   92160	      9999 ns/op	     700 cpu-ns/op	    3232 B/op	      6 allocs/op
BenchmarkHS256/golang-jwt-2    	   50468	      8300 ns/op	    5616 B/op	     100 allocs/op
BenchmarkHS256/echo-2          	 5173514	       500 ns/op	     208 B/op	       5 allocs/op
BenchmarkHS256/echo-jwt-2      	   46384	      4500 ns/op	    5648 B/op	     102 allocs/op
BenchmarkParallel/HS256/bearer-2 	  92160	      1000 ns/op	    3232 B/op	      12 allocs/op
PASS
`

func TestRatios(t *testing.T) {
	res, err := parse(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	// bearer: 2300 - median(200, 300, 400) = 2000; echo-jwt: 4500 - 500 =
	// 4000, the best peer; golang-jwt: 8000.
	ns, allocs, ok := res.cost("", "HS256", "bearer")
	if !ok || ns != 2000 || allocs != 8 {
		t.Errorf("bearer cost %v ns, %v allocs (%v), want 2000 ns, 8 allocs", ns, allocs, ok)
	}
	if name, best := res.bestPeer("HS256"); name != "echo-jwt" || best != 4000 {
		t.Errorf("best peer %s at %v ns, want echo-jwt at 4000", name, best)
	}
	var out strings.Builder
	res.write(&out)
	for _, want := range []string{
		"| bearer | 2.00µs · 2.00× |",     // cost and cost / floor
		"| golang-jwt | 8.00µs · 8.00× |", // against net/http
		"| bearer | 0.50× |",              // cost / best peer
		"| echo-jwt | 97 |",               // allocs above Echo's
		"| bearer | 2.30µs → 1.00µs · 2.30× |",
		"| bearer-cached | 9.70µs · 9.70× |", // no CPU time for every row: wall time
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	res.combine = slices.Min[[]float64] // -stat min
	if ns, _, _ := res.cost("", "HS256", "bearer"); ns != 2100 {
		t.Errorf("with min: bearer cost %v ns, want 2300-200", ns)
	}
}

func TestRatiosPreferCPUTime(t *testing.T) {
	res, err := parse(strings.NewReader(`BenchmarkES256/floor-2 	100	 90000 ns/op	 60000 cpu-ns/op	0 B/op	0 allocs/op
BenchmarkES256/nethttp-2 	100	 900 ns/op	 300 cpu-ns/op	208 B/op	4 allocs/op
BenchmarkES256/bearer-2 	100	 200000 ns/op	 66300 cpu-ns/op	208 B/op	20 allocs/op
`))
	if err != nil {
		t.Fatal(err)
	}
	if ns, allocs, _ := res.cost("", "ES256", "bearer"); ns != 66000 || allocs != 16 {
		t.Errorf("cost %v ns, %v allocs; want CPU time 66000 ns, 16 allocs", ns, allocs)
	}
	var out strings.Builder
	res.write(&out)
	if !strings.Contains(out.String(), "| bearer | 66.0µs · 1.10× |") {
		t.Errorf("table:\n%s", out.String())
	}
}
