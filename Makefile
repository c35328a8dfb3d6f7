# Every module of the repository: the core and each go.mod below it.
MODULES := $(shell find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 10s
# Go minimizes every input that adds coverage for up to this long (its
# default 60s); where coverage varies from run to run (goroutines, jwx's
# internals) that can take a short run's whole time. CI sets 0: no
# minimizing; a failing input is still written to testdata/fuzz.
FUZZMINIMIZETIME ?= 60s

.PHONY: test vet staticcheck race fmt bench tidy fuzz vectors

## test: gofmt, go vet, staticcheck and go test -race in every module (what CI runs)
test: fmt vet staticcheck race

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do echo "== vet $$m"; (cd $$m && go vet ./...); done

staticcheck:
	@set -e; for m in $(MODULES); do echo "== staticcheck $$m"; (cd $$m && go run $(STATICCHECK) ./...); done

race:
	@set -e; for m in $(MODULES); do echo "== test -race $$m"; (cd $$m && go test -race -count=1 ./...); done

## fuzz: every fuzz target of every module, each for $(FUZZTIME) (CI runs 5s each, without minimizing)
fuzz:
	@set -e; for d in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$d/*_test.go | sed 's/^func //' | sort -u); do \
			echo "== fuzz $$f ($$d) for $(FUZZTIME)"; \
			(cd $$d && go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) .); \
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
