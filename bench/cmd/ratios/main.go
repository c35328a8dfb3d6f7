// Command ratios reads the output of `go test -bench` in the bench module
// and prints the comparison as Markdown tables: what each middleware costs
// on top of its bare framework, as a multiple of the raw signature check
// ("floor") and of the best peer, with its own allocations per request.
//
// Usage:
//
//	go test -run '^$' -bench . -benchmem -count 5 | tee bench.txt
//	go run ./cmd/ratios bench.txt
//
// Serial rows are compared by CPU time (cpu-ns/op, which the benchmarks
// report) where present, by wall time otherwise; scaling by wall time.
// With -count above 1 the median of the runs is used; -stat min takes the
// fastest run instead, which suits a machine shared with other work (noise
// only ever adds time). Benchmark names are
// ALG/CONTENDER (Parallel/ALG/CONTENDER for b.RunParallel). "nethttp",
// "echo" and "gin" are the bare frameworks; a contender whose name starts
// with "echo" or "gin" is measured against that framework, any other against
// net/http. Contenders whose name contains "bearer" are ours; the others are
// the peers.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	stat := flag.String("stat", "median", "how runs of one benchmark combine: median or min")
	flag.Parse()
	if *stat != "median" && *stat != "min" {
		fmt.Fprintln(os.Stderr, "ratios: -stat is median or min")
		os.Exit(2)
	}
	in := io.Reader(os.Stdin)
	if flag.NArg() > 0 {
		var readers []io.Reader
		for _, name := range flag.Args() {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintln(os.Stderr, "ratios:", err)
				os.Exit(1)
			}
			defer f.Close()
			readers = append(readers, f)
		}
		in = io.MultiReader(readers...)
	}
	res, err := parse(in)
	if err == nil && *stat == "min" {
		res.combine = slices.Min[[]float64]
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
	if len(res.algs) == 0 {
		fmt.Fprintln(os.Stderr, "ratios: no benchmark results in the input")
		os.Exit(1)
	}
	res.write(os.Stdout)
}

// sample is one benchmark's measurements over its runs.
type sample struct {
	wall, cpu, allocs []float64
}

// ns is the time per operation the serial tables use: CPU time when every
// serial run of the input reported it, else wall time, never a mix.
func (r *results) ns(s *sample) []float64 {
	if r.cpu {
		return s.cpu
	}
	return s.wall
}

// results holds the samples by group ("" for serial, "Parallel"), then
// algorithm, then contender, and the order in which names first appeared.
type results struct {
	samples    map[string]*sample // key: group/alg/contender
	combine    func([]float64) float64
	cpu        bool // every serial run has cpu-ns/op
	algs       []string
	contenders []string
	parallel   []string // contenders with a parallel row
}

var line = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func parse(r io.Reader) (*results, error) {
	res := &results{samples: make(map[string]*sample), combine: median}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		parts := strings.Split(m[1], "/")
		group := ""
		if len(parts) == 3 && parts[0] == "Parallel" {
			group, parts = parts[0], parts[1:]
		}
		if len(parts) != 2 {
			continue
		}
		alg, name := parts[0], parts[1]
		// The measurements come as value-unit pairs.
		metrics := map[string]float64{}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", sc.Text(), err)
			}
			metrics[fields[i+1]] = v
		}
		ns, ok := metrics["ns/op"]
		if !ok {
			continue
		}
		allocs, ok := metrics["allocs/op"]
		if !ok {
			allocs = math.NaN()
		}
		key := group + "/" + alg + "/" + name
		s := res.samples[key]
		if s == nil {
			s = &sample{}
			res.samples[key] = s
			if group == "" {
				addOnce(&res.algs, alg)
				addOnce(&res.contenders, name)
			} else {
				addOnce(&res.parallel, name)
			}
		}
		s.wall = append(s.wall, ns)
		if cpu, ok := metrics["cpu-ns/op"]; ok {
			s.cpu = append(s.cpu, cpu)
		}
		s.allocs = append(s.allocs, allocs)
	}
	res.cpu = true
	for key, s := range res.samples {
		if !strings.HasPrefix(key, "Parallel/") && len(s.cpu) != len(s.wall) {
			res.cpu = false
		}
	}
	return res, sc.Err()
}

func addOnce(list *[]string, s string) {
	if !slices.Contains(*list, s) {
		*list = append(*list, s)
	}
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v) == 0 {
		return math.NaN()
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func isBare(name string) bool { return name == "nethttp" || name == "echo" || name == "gin" }

func isOurs(name string) bool { return strings.Contains(name, "bearer") }

// baseline is the bare framework a contender runs in.
func baseline(name string) string {
	for _, fw := range []string{"echo", "gin"} {
		if strings.HasPrefix(name, fw) {
			return fw
		}
	}
	return "nethttp"
}

// cost is what a contender adds to its bare framework, in ns and
// allocations per request; ok is false when a measurement is missing.
func (r *results) cost(group, alg, name string) (ns, allocs float64, ok bool) {
	s, base := r.samples[group+"/"+alg+"/"+name], r.samples[group+"/"+alg+"/"+baseline(name)]
	if s == nil || base == nil {
		return 0, 0, false
	}
	return r.combine(r.ns(s)) - r.combine(r.ns(base)), r.combine(s.allocs) - r.combine(base.allocs), true
}

func (r *results) floor(alg string) (float64, bool) {
	s := r.samples["/"+alg+"/floor"]
	if s == nil {
		return 0, false
	}
	return r.combine(r.ns(s)), true
}

// bestPeer is the lowest cost among the peers for alg.
func (r *results) bestPeer(alg string) (name string, ns float64) {
	ns = math.Inf(1)
	for _, c := range r.contenders {
		if isBare(c) || c == "floor" || isOurs(c) {
			continue
		}
		if v, _, ok := r.cost("", alg, c); ok && v < ns {
			name, ns = c, v
		}
	}
	return name, ns
}

func (r *results) write(w io.Writer) {
	rows := slices.DeleteFunc(slices.Clone(r.contenders), func(c string) bool { return isBare(c) || c == "floor" })

	unit := "ns/op (wall time)"
	if r.cpu {
		unit = "cpu-ns/op (CPU time of the process, garbage collection included)"
	}
	fmt.Fprintf(w, "Middleware cost per request: %s minus the bare framework's\n", unit)
	fmt.Fprintln(w, "(net/http, Echo or Gin), and that cost divided by the raw signature check (floor).")
	fmt.Fprintln(w)
	r.table(w, "contender", func(alg string) string {
		if f, ok := r.floor(alg); ok {
			return fmt.Sprintf("%s (floor)", duration(f))
		}
		return "–"
	}, rows, func(alg, c string) string {
		ns, _, ok := r.cost("", alg, c)
		f, fok := r.floor(alg)
		if !ok || !fok {
			return "–"
		}
		return fmt.Sprintf("%s · %.2f×", duration(ns), ns/f)
	})

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Middleware cost divided by the best peer's (< 1 is faster than every peer):")
	fmt.Fprintln(w)
	r.table(w, "contender", func(alg string) string {
		name, _ := r.bestPeer(alg)
		if name == "" {
			return "–"
		}
		return "best: " + name
	}, rows, func(alg, c string) string {
		ns, _, ok := r.cost("", alg, c)
		_, best := r.bestPeer(alg)
		if !ok || math.IsInf(best, 1) {
			return "–"
		}
		return fmt.Sprintf("%.2f×", ns/best)
	})

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Allocations per request of the middleware (allocs/op minus the bare framework's):")
	fmt.Fprintln(w)
	r.table(w, "contender", nil, rows, func(alg, c string) string {
		_, allocs, ok := r.cost("", alg, c)
		if !ok || math.IsNaN(allocs) {
			return "–"
		}
		return strconv.FormatFloat(allocs, 'f', -1, 64)
	})

	if len(r.parallel) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Scaling: wall-time ns/op serial → with b.RunParallel on all cores, and the speed-up (ideal: the core count):")
		fmt.Fprintln(w)
		r.table(w, "contender", nil, r.parallel, func(alg, c string) string {
			s, p := r.samples["/"+alg+"/"+c], r.samples["Parallel/"+alg+"/"+c]
			if s == nil || p == nil {
				return "–"
			}
			serial, parallel := r.combine(s.wall), r.combine(p.wall)
			return fmt.Sprintf("%s → %s · %.2f×", duration(serial), duration(parallel), serial/parallel)
		})
	}
}

// table writes a Markdown table with one column per algorithm; sub, when
// set, adds a first row under the header.
func (r *results) table(w io.Writer, corner string, sub func(alg string) string, rows []string, cell func(alg, row string) string) {
	fmt.Fprintf(w, "| %s |", corner)
	for _, a := range r.algs {
		fmt.Fprintf(w, " %s |", a)
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", len(r.algs)))
	if sub != nil {
		fmt.Fprint(w, "| |")
		for _, a := range r.algs {
			fmt.Fprintf(w, " %s |", sub(a))
		}
		fmt.Fprintln(w)
	}
	for _, row := range rows {
		fmt.Fprintf(w, "| %s |", row)
		for _, a := range r.algs {
			fmt.Fprintf(w, " %s |", cell(a, row))
		}
		fmt.Fprintln(w)
	}
}

// duration formats ns the way benchstat does: 850ns, 2.31µs, 105µs.
func duration(ns float64) string {
	switch {
	case math.Abs(ns) < 1e3:
		return fmt.Sprintf("%.0fns", ns)
	case math.Abs(ns) < 1e4:
		return fmt.Sprintf("%.2fµs", ns/1e3)
	case math.Abs(ns) < 1e5:
		return fmt.Sprintf("%.1fµs", ns/1e3)
	}
	return fmt.Sprintf("%.0fµs", ns/1e3)
}
