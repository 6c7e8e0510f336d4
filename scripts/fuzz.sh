#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time (default 1m).
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-1m}
for pkg in $(go list ./...); do
	for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "== $pkg $f ($t)"
		go test -ldflags=-checklinkname=0 -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
	done
done
