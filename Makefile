# Every module of the repository: the core and each go.mod below it.
MODULES := $(shell find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 10s

.PHONY: test vet staticcheck race fmt bench tidy

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

## bench: the side-by-side benchmarks of bench/ (not part of CI), then the ratio table
BENCHSTAT ?= median
bench:
	cd bench && go test -run '^$$' -bench . -benchmem -count 5 -timeout 60m . | tee bench.txt
	cd bench && go run ./cmd/ratios -stat $(BENCHSTAT) bench.txt

tidy:
	@set -e; for m in $(MODULES); do (cd $$m && go mod tidy); done
