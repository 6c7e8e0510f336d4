# `make demo` and `make test` are all a fresh clone needs: both download the
# modules they use through the module proxy. cgo (gcc) must be present: the
# plugin package needs it.
GO ?= go
# Every binary that links hotfix reaches runtime.stopTheWorld by go:linkname.
TESTFLAGS = -ldflags=-checklinkname=0
export CGO_ENABLED = 1

.PHONY: all deps demo test vet bench stress fuzz clean

all: test

deps:
	$(GO) mod download
	cd example/shop && $(GO) mod download

demo: deps
	./example/demo.sh

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test: deps vet
	$(GO) test $(TESTFLAGS) -count=1 -timeout 20m ./...

bench: deps
	$(GO) test $(TESTFLAGS) -run '^$$' -bench . -count 5 ./...

fuzz: deps
	@for t in $$($(GO) test -list '^Fuzz' ./... | grep '^Fuzz'); do :; done
	./scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
