#!/usr/bin/env bash
# The whole hotfix story on loopback, in words a newcomer can follow:
# build the shop, see its bug, ship a fix into the running process, take it
# back out. Run from the repository root: `make demo`. With DEMO_ARCH=arm64
# (`make demo-arm64`) the shop and its patch are cross-built for
# linux/arm64 and the shop runs under qemu-aarch64.
set -euo pipefail
RUN=()
if [[ "${DEMO_ARCH:-}" == arm64 ]]; then
	export GOARCH=arm64 CGO_ENABLED=1 CC=aarch64-linux-gnu-gcc
	RUN=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
fi

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/hotfix-demo.XXXXXX)
SHOP_PID=
cleanup() {
	if [[ -n "$SHOP_PID" ]] && kill -0 "$SHOP_PID" 2>/dev/null; then
		kill "$SHOP_PID"; wait "$SHOP_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step() { printf '   %s\n' "$*"; }
ms()   { date +%s%3N; }

say "1. Build the hotfix tool"
(cd "$REPO" && env -u GOARCH -u CC go build -o "$WORK/bin/hotfix" ./cmd/hotfix) # for this machine
HOTFIX="$WORK/bin/hotfix"
step "built $HOTFIX"

say "2. Check out the shop's release (a git repository with the bug in it)"
cp -r "$REPO/example/shop" "$WORK/shop"
cd "$WORK/shop"
go mod edit -replace "github.com/gohotfix/hotfix=$REPO" -replace "github.com/gohotfix/hotfix/metrics=$REPO/metrics"
git init -q . && git add -A
git -c user.name=demo -c user.email=demo@localhost commit -qm "release 1.0.0"
step "release commit $(git rev-parse --short HEAD) in $WORK/shop"

say "3. Build the release with the flags hotfix asks for"
FLAGS=$("$HOTFIX" flags -policy hotfix.yaml)
step "hotfix flags -> $FLAGS"
go build $FLAGS -o shop .
step "built ./shop"

say "4. Start the shop"
"${RUN[@]}" ./shop -addr 127.0.0.1:0 -admin 127.0.0.1:0 -policy hotfix.yaml 2>shop.log &
SHOP_PID=$!
for _ in $(seq 100); do grep -q 'shop listening' shop.log 2>/dev/null && break; sleep 0.1; done
ADDR=$(sed -n 's/.*shop listening" addr=\([^ ]*\).*/\1/p' shop.log)
ADMIN=$(sed -n 's/.*admin listening" addr=\([^ ]*\).*/\1/p' shop.log)
URL="http://$ADDR/quote?item=apple&qty=10"
step "pid $SHOP_PID listening on $ADDR; status and metrics on the private $ADMIN"

say "5. Ask for 10 apples: the shop promises 10% off from 10 items"
BUGGY=$(curl -fsS "$URL")
step "curl $URL"
step "-> $BUGGY"
step "50 cents x 10 = 5.00, with the discount it should be 4.50: that is the bug."

say "6. Write the fix and build a patch against the release"
cp "$REPO/example/_fix/pricing/pricing.go" pricing/pricing.go
git --no-pager diff --stat
step "hotfix build compares the working tree with the release commit and finds the changed functions itself:"
"$HOTFIX" build -policy hotfix.yaml -version 1.0.1 -o "$WORK/fix-1.0.1.so" 2>&1 | sed 's/^/   /'
"$HOTFIX" verify -binary ./shop -policy hotfix.yaml "$WORK/fix-1.0.1.so"

say "7. Ship it the way an operator does: copy it into the patch directory"
step "cp fix-1.0.1.so patches/.fix-1.0.1.so.part && mv it into place (what scp + rename does)"
T0=$(ms)
cp "$WORK/fix-1.0.1.so" patches/.fix-1.0.1.so.part
mv patches/.fix-1.0.1.so.part patches/fix-1.0.1.so
T1=$(ms)
FIXED=$BUGGY
for _ in $(seq 200); do
	FIXED=$(curl -fsS "$URL")
	[[ "$FIXED" != "$BUGGY" ]] && break
	sleep 0.01
done
T2=$(ms)
step "-> $FIXED"
[[ "$FIXED" == *"4.50 EUR (pid $SHOP_PID)"* ]] || { echo "the fix did not go live"; cat shop.log; exit 1; }
step "fixed answer from the same pid $SHOP_PID, $((T2 - T1)) ms after the file landed; no restart"
# The jumps answer first; the log line follows them.
for _ in $(seq 100); do grep -q 'patch applied' shop.log && break; sleep 0.05; done
grep 'patch applied' shop.log | sed 's/^/   log: /'

say "8. What the agent recorded (hotfix status), and what it tells a dashboard"
"$HOTFIX" status -policy hotfix.yaml | sed 's/^/   /'
step "curl -H 'Accept: text/plain' http://$ADMIN/hotfix (the same table, from the process itself):"
curl -fsS -H 'Accept: text/plain' "http://$ADMIN/hotfix" | sed 's/^/   /'
step "curl http://$ADMIN/metrics | grep -E '^hotfix_(patches|events_total|drop_to_live_seconds_(sum|count))':"
curl -fsS "http://$ADMIN/metrics" | grep -E '^hotfix_(patches|events_total|drop_to_live_seconds_(sum|count))' | sed 's/^/   /'

say "9. Roll back: delete the patch file"
rm patches/fix-1.0.1.so
AGAIN=$FIXED
for _ in $(seq 200); do
	AGAIN=$(curl -fsS "$URL")
	[[ "$AGAIN" == "$BUGGY" ]] && break
	sleep 0.01
done
step "-> $AGAIN"
[[ "$AGAIN" == "$BUGGY" ]] || { echo "the rollback did not happen"; cat shop.log; exit 1; }
step "the original code runs again, same pid $SHOP_PID"

say "10. Stop the shop"
kill "$SHOP_PID"; wait "$SHOP_PID" 2>/dev/null || true
SHOP_PID=
step "done: one process took a fix live and gave it back, without a restart."
