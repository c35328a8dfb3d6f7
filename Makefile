# Every module of the repository: the core and each go.mod below it.
MODULES := $(shell find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 10s
# Go minimizes every input that adds coverage for up to this long (its
# default 60s); where coverage varies from run to run (goroutines, jwx's
# internals) that can take a short run's whole time. CI sets 0: no
# minimizing; a failing input is still written to testdata/fuzz.
FUZZMINIMIZETIME ?= 60s

# The tests that count allocations skip under -race (the race detector
# allocates on its own): allocs runs them without it, in each package that
# has one (compiling only those keeps it short).
ALLOCTESTS := Allocations|CostsNothing

.PHONY: test vet staticcheck race allocs fmt bench tidy fuzz vectors modcheck apicheck release

## test: gofmt, go vet, staticcheck, go test -race, the allocation tests and modcheck in every module (what CI runs)
test: fmt vet staticcheck race allocs modcheck
	@if [ -z "$$REDIS_ADDR" ] && ! command -v redis-server >/dev/null; then \
		echo; \
		echo "!!! The Redis tests of revocation/redisrevoke were SKIPPED: no redis-server on PATH and no REDIS_ADDR."; \
		echo "!!! Install redis-server (CI does) or set REDIS_ADDR=host:port to run them."; \
	fi
	@if [ -z "$$REDIS_CLUSTER_ADDRS" ]; then \
		echo; \
		echo "!!! The Redis Cluster tests of revocation/redisrevoke were SKIPPED: no REDIS_CLUSTER_ADDRS."; \
		echo "!!! Start one with: eval \"\$$(.ci/redis-cluster start)\" (CI does)."; \
	fi

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do echo "== vet $$m"; (cd $$m && go vet ./...); done

staticcheck:
	@set -e; for m in $(MODULES); do echo "== staticcheck $$m"; (cd $$m && go run $(STATICCHECK) ./...); done

# Per test binary: a test that spins in fake time (a lost redirect limit,
# say) fails with its goroutines dumped in minutes, not at go test's
# default 10 minutes; the slowest binary, the core's, takes under a minute.
RACETIMEOUT ?= 5m
race:
	@set -e; for m in $(MODULES); do echo "== test -race $$m"; (cd $$m && go test -race -count=1 -timeout $(RACETIMEOUT) ./...); done

allocs:
	@set -e; for d in $$(grep -rlE --include='*_test.go' '^func Test[A-Za-z0-9_]*($(ALLOCTESTS))' . | xargs -n1 dirname | sort -u); do \
		echo "== allocations $$d"; (cd $$d && go test -count=1 -run '^Test[A-Za-z0-9_]*($(ALLOCTESTS))' .); \
	done

## fuzz: every fuzz target of every module, each for $(FUZZTIME) (CI runs 20000x each, without minimizing)
fuzz:
	@set -e; for d in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$d/*_test.go | sed 's/^func //' | sort -u); do \
			echo "== fuzz $$f ($$d) for $(FUZZTIME)"; \
			.ci/fuzz $$d $$f $(FUZZTIME) $(FUZZMINIMIZETIME); \
		done; \
	done

## vectors: the standard vectors' tally (Wycheproof counts, divergences, skips with reasons)
vectors:
	@out=$$(cd conformance && go test -count=1 -v -run '^TestWycheproof$$' .) || { echo "$$out"; exit 1; }; \
		echo "$$out" | grep -E '^wycheproof:|--- SKIP|^ +wycheproof_test.go:.*skip'

## bench: the side-by-side benchmarks of bench/ (not part of CI), then the ratio table
BENCHSTAT ?= median
bench:
	cd bench && go test -run '^$$' -bench . -benchmem -count 5 -timeout 60m . | tee bench.txt
	cd bench && go run ./cmd/ratios -stat $(BENCHSTAT) bench.txt

tidy:
	@set -e; for m in $(MODULES); do (cd $$m && go mod tidy); done

## modcheck: every module requires the in-repository modules at one version, with a replace to
## its directory; go mod tidy changes nothing, with the replaces and with the requirements alone
modcheck:
	@go run -C tools ./release -root .. check
	@go run -C tools ./release -root .. tidy

## apicheck: exported-API changes of every published module since its last release tag (gorelease)
apicheck:
	@go run -C tools ./release -root .. apicheck

## release: make release VERSION=v0.1.0 sets every in-repository requirement to VERSION,
## verifies (modcheck), commits and tags every published module, all or none.
## DRYRUN=1 verifies and changes nothing; VERSION=next is the next untagged version.
release:
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=vX.Y.Z [DRYRUN=1]"; exit 2; }
	@go run -C tools ./release -root .. tag $(if $(DRYRUN),-dry-run) $(VERSION)
