# `make demo` and `make test` are all a fresh clone needs: both download the
# modules they use through the module proxy. cgo (gcc) must be present: the
# plugin package needs it.
GO ?= go
# The patcher reaches runtime.stopTheWorld by go:linkname under the build tag
# hotfix (what `hotfix flags` prints); its tests need both.
# -s=false: go test strips the binaries it runs, and tests read their own
# symbol table as the agent reads the host's.
TESTFLAGS = -tags=hotfix -ldflags="-checklinkname=0 -s=false"
export CGO_ENABLED = 1

.PHONY: all deps demo demo-arm64 test test-arm64 vet bench stress fuzz fleet-test vulns vulns-sample clean

all: test

deps:
	$(GO) mod download
	cd metrics && $(GO) mod download
	cd example/shop && $(GO) mod download

demo: deps
	./example/demo.sh

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd metrics && $(GO) vet ./...

# GO_VERSIONS: the Go toolchains to run the suite under, one after the other
# (GOTOOLCHAIN; the go command fetches one it lacks through the module
# proxy). `local` is the go on PATH. CI runs every supported release.
GO_VERSIONS ?= local
test: deps vet
	@set -e; for v in $(GO_VERSIONS); do \
		echo "== go test under GOTOOLCHAIN=$$v: unit, fuzz-seed and package tests (~2 min)"; \
		GOTOOLCHAIN=$$v $(GO) test $(TESTFLAGS) -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/tests$$'); \
		echo "== go test under GOTOOLCHAIN=$$v: end-to-end tests, real hosts and plugins (./tests, ~3 min)"; \
		GOTOOLCHAIN=$$v $(GO) test $(TESTFLAGS) -count=1 -timeout 20m ./tests/; \
	done

# linux/arm64 under qemu-user (issue 16): the patcher's unit, shape and
# stress tests, cross-built with Debian's cross C compiler and run with
# `go test -exec`; the stress test's child goes through the emulator too
# (HOTFIX_TEST_EXEC). Then the core scenario (tests/arm64_test.go): an
# arm64 host under qemu-aarch64 takes a patch made by `hotfix build` for
# it, and `verify` refuses patches across architectures. Installs the
# packages when missing (as root). `HOTFIX_STRESS=long make test-arm64`
# runs 5000 stress cycles.
ARM64_PKGS = qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
ARM64_EXEC = qemu-aarch64 -L /usr/aarch64-linux-gnu
ARM64_ENV = GOARCH=arm64 CGO_ENABLED=1 CC=aarch64-linux-gnu-gcc
test-arm64: deps
	dpkg -s $(ARM64_PKGS) >/dev/null 2>&1 || (apt-get update && apt-get install -y $(ARM64_PKGS))
	$(ARM64_ENV) $(GO) vet ./...
	$(ARM64_ENV) HOTFIX_TEST_EXEC="$(ARM64_EXEC)" $(GO) test $(TESTFLAGS) -count=1 -timeout 15m \
		-exec "$(ARM64_EXEC)" ./patcher/...
	HOTFIX_ARM64=1 $(GO) test $(TESTFLAGS) -count=1 -timeout 10m -run '^TestArm64$$' ./tests/
	$(MAKE) demo-arm64

# `make demo` with the shop and its patch cross-built for linux/arm64 and
# the shop run under qemu-aarch64 (the packages of test-arm64).
demo-arm64: deps
	DEMO_ARCH=arm64 ./example/demo.sh

# deploy/ansible/hotfix.yml against three shops on this machine
# (tests/fleet_test.go). Installs Debian's ansible if it is missing (as root).
fleet-test: deps
	command -v ansible-playbook >/dev/null || (apt-get update && apt-get install -y ansible)
	HOTFIX_FLEET=1 $(GO) test $(TESTFLAGS) -count=1 -timeout 10m -run '^TestFleet$$' -v ./tests/

# The long versions of the stress and fault tests (minutes).
stress: deps
	HOTFIX_STRESS=long $(GO) test $(TESTFLAGS) -count=1 -timeout 60m -run 'Stress' -v ./tests/ ./patcher/

# Benchmarks of every performance figure, printed as one table.
bench: deps
	./scripts/bench.sh

# Every fuzz target for FUZZTIME each (default 1m); seeds run in `make test`.
FUZZTIME ?= 1m
fuzz: deps
	./scripts/fuzz.sh $(FUZZTIME)

# The share of real security fixes in dependencies that hotfix build ships
# live: every report of the Go vulnerability database in VULNDB
# (scripts/vulns; 150 reports took 27 min on 2 cores, mostly cold caches).
# Results (JSON) in VULNS_JSON;
# compare two runs with VULNS_FLAGS="-compare OLD.json". A part at a time:
# VULNS_FLAGS="-shard 1/4" ... "-shard 4/4", then
# go run ./scripts/vulns -merge A.json,B.json,C.json,D.json -json ALL.json.
# Hosts are built with full optimization (inlining: keep, where a refusal of
# a holder outside the policy allows its package and builds again);
# VULNS_FLAGS="-inlining off" measures hosts with -l on the allowed packages.
VULNDB ?= scripts/vulns/testdata/vulndb-extract.json
VULNS_JOBS ?= 2
VULNS_JSON ?= /tmp/hotfix-vulns.json
vulns: deps
	$(GO) run ./scripts/vulns -extract $(VULNDB) -j $(VULNS_JOBS) -json $(VULNS_JSON) $(VULNS_FLAGS)

# CI's sample of the corpus: fails only on runner errors, never on refusals.
# It uses the user's caches, warm from make test (20 reports are no threat
# to the disk); a whole run uses caches of its own (-cache).
# A case over VULNS_SAMPLE_TIMEOUT is "failed" (a timeout is not a runner
# error): the sample's two largest (argo-cd, ibc-go) take 7-10 min cold.
VULNS_SAMPLE ?= 20
VULNS_SAMPLE_TIMEOUT ?= 4m
vulns-sample: deps
	$(GO) run ./scripts/vulns -extract $(VULNDB) -sample $(VULNS_SAMPLE) -seed 1 -j 2 -cache "" -timeout $(VULNS_SAMPLE_TIMEOUT) -json /tmp/hotfix-vulns-sample.json

clean:
	rm -rf bin
