#!/usr/bin/env bash
# `make bench`: every performance figure of hotfix, measured side by side in
# one run on this machine, then printed as one table (medians).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-$(mktemp -d /tmp/hotfix-bench.XXXXXX)}
COUNT=${BENCH_COUNT:-10}
mkdir -p "$OUT"
echo "raw results in $OUT"

echo "== pause and call overhead (patcher, in process)"
go test -tags=hotfix -ldflags="-checklinkname=0 -s=false" -run '^$' -bench 'Pause|Call' -count "$COUNT" ./patcher | tee "$OUT/patcher.txt"
go test -ldflags="-checklinkname=0" -run '^$' -bench ShadowGet -count "$COUNT" ./internal/patchbuild/shadow | tee -a "$OUT/patcher.txt"

echo "== drop to live and memory (real host process, fresh per iteration): the test host; then one-function fixes to the example shop, go-httpbin and a NATS server, each linked whole and -slim (5 loads each)"
go test -tags=hotfix -ldflags="-checklinkname=0 -s=false" -run '^$' -bench DropToLive -benchtime "${COUNT}x" -count 1 ./tests | tee "$OUT/live.txt"
go test -tags=hotfix -ldflags="-checklinkname=0 -s=false" -run '^$' -bench Services -benchtime 5x -count 1 -timeout 90m ./tests | tee -a "$OUT/live.txt"

echo "== inlining tax on the example's hot path (catalog, not patchable)"
go build -o "$OUT/hotfix" ./cmd/hotfix
FLAGS=$(cd example/shop && "$OUT/hotfix" flags -policy hotfix.yaml)
(
	cd example/shop
	# Interleaved, so that drift of the machine hits all three alike.
	for i in $(seq "$COUNT"); do
		go test -run '^$' -bench Listing -count 1 ./catalog | sed -n 's/^BenchmarkListing/BenchmarkListing\/default/p' >>"$OUT/inline.txt"
		go test $FLAGS -run '^$' -bench Listing -count 1 ./catalog | sed -n 's/^BenchmarkListing/BenchmarkListing\/hotfix-flags/p' >>"$OUT/inline.txt"
		go test -gcflags=all=-l -run '^$' -bench Listing -count 1 ./catalog | sed -n 's/^BenchmarkListing/BenchmarkListing\/all=-l/p' >>"$OUT/inline.txt"
	done
)
cat "$OUT/inline.txt"

echo "== what allowing a third-party package costs: golang.org/x/net/http2/... allowed, with the flags hotfix flags prints (inlining: keep), and built with -l (inlining: off)"
(
	cd scripts/http2tax
	KEEP=$("$OUT/hotfix" flags -policy keep.yaml 2>/dev/null)
	OFF=$("$OUT/hotfix" flags -policy off.yaml 2>/dev/null)
	for i in $(seq "$COUNT"); do
		go test -run '^$' -bench . -count 1 . | sed -n 's/^Benchmark\([A-Za-z]*\)/BenchmarkHTTP2\1\/default/p' >>"$OUT/http2.txt"
		go test $KEEP -run '^$' -bench . -count 1 . | sed -n 's/^Benchmark\([A-Za-z]*\)/BenchmarkHTTP2\1\/allowed/p' >>"$OUT/http2.txt"
		go test $OFF -run '^$' -bench . -count 1 . | sed -n 's/^Benchmark\([A-Za-z]*\)/BenchmarkHTTP2\1\/allowed-l/p' >>"$OUT/http2.txt"
	done
)
cat "$OUT/http2.txt"

echo "== what allowing a standard package costs under inlining: off: net/http built with -l, alone and with its helpers (hotfix flags -explain)"
(
	cd scripts/stdtax
	# One test binary per build, run in turn: drift of a loaded machine
	# hits the three alike, and cpu-ns/op leaves out the waits for a CPU.
	# One P (-test.cpu 1): the client and the server take turns on it, so
	# the CPU time counts no idle P spinning for work, which varied by
	# ±15% from run to run with two Ps on a loaded machine (±8% with one).
	go test -c -o "$OUT/std.default.test" .
	go test $("$OUT/hotfix" flags -policy net-http.yaml 2>/dev/null) -c -o "$OUT/std.net-http.test" .
	go test $("$OUT/hotfix" flags -policy net-http-helpers.yaml 2>/dev/null) -c -o "$OUT/std.helpers.test" .
	for i in $(seq $((2 * COUNT))); do
		for b in default net-http helpers; do
			"$OUT/std.$b.test" -test.run '^$' -test.bench . -test.benchtime 0.5s -test.cpu 1 | sed -n "s/^Benchmark\([A-Za-z]*\)/BenchmarkStd\1\/$b/p" >>"$OUT/std.txt"
		done
	done
)
cat "$OUT/std.txt"

echo
go run ./scripts/benchtable "$OUT/patcher.txt" "$OUT/live.txt" "$OUT/inline.txt" "$OUT/http2.txt" "$OUT/std.txt"
