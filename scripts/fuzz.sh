#!/usr/bin/env bash
# Runs the fuzz targets of the module one after the other (they share the
# cores), each for the given time, and ends with one line per target:
# result, package, target, time, execs, new corpus entries.
#
#   scripts/fuzz.sh [TIME] [PACKAGES] [TARGET-REGEXP]
#   scripts/fuzz.sh 10m ./loader 'FuzzDecode|FuzzReadImage'
#
# TIME defaults to 1m, PACKAGES to ./..., the regexp to every Fuzz*.
# FUZZPARALLEL sets go test -parallel (default GOMAXPROCS workers).
# A crash leaves its input in PKG/testdata/fuzz/TARGET/: commit it with the
# fix, as a regression seed. Full logs stay in $FUZZLOG (default a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-1m}
pkgs=${2:-./...}
only=${3:-.}
log=${FUZZLOG:-$(mktemp -d /tmp/hotfix-fuzz.XXXXXX)}
mkdir -p "$log"
flags=(-tags=hotfix "-ldflags=-checklinkname=0 -s=false")
# -timeout 0 below: go test's default 10m timeout would kill a longer run.
if [[ -n "${FUZZPARALLEL:-}" ]]; then flags+=(-parallel "$FUZZPARALLEL"); fi
summary=()
status=0
for pkg in $(go list "$pkgs"); do
	targets=$(go test "${flags[0]}" -list '^Fuzz' "$pkg" | grep '^Fuzz' | grep -E "$only" || true)
	for f in $targets; do
		out="$log/${pkg##*/}-$f.log"
		echo "== $pkg $f ($t), log $out"
		res=ok
		if ! go test "${flags[@]}" -timeout 0 -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg" 2>&1 | tee "$out"; then
			res=FAIL
			status=1
		fi
		last=$(grep -E '^fuzz: elapsed' "$out" | tail -1 || true)
		execs=$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' <<<"$last")
		newc=$(sed -n 's/.*new interesting: \([0-9]*\).*/\1/p' <<<"$last")
		summary+=("$res $pkg $f $t execs=${execs:-?} new=${newc:-?}")
	done
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
