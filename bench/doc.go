// Package bench compares bearer with other Go JWT middlewares, end to end
// through net/http handlers, on the same token for every contender.
//
// Run it with `make bench` at the repository root; cmd/ratios turns the
// output of `go test -bench` into the ratio table of docs/performance.md.
package bench
