#!/usr/bin/env bash
# Two data-parallel ranks as two nodes: two network namespaces joined by a veth pair, one rank in
# each, the store reached over the veth address (nothing on 127.0.0.1, no address outside the
# namespaces made here). Checks, with one line on each rank's stderr every time:
#   - a partition in mid-run (the link taken down): both ranks exit non-zero, each naming the other
#     as lost within --dist-timeout + 5 s, and the checkpoint still loads;
#   - a rank that joins after the timeout: rank 0 names it, the late rank cannot reach the store;
#   - a rank whose MASTER_ADDR does not resolve: exit 2, naming the address.
# Needs root (ip netns); exits 77 (skipped) with the reason where it cannot make the namespaces.
#
# Usage: tests/netns_dist_test.sh DCGAN_BINARY WORK_DIR
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DCGAN=${1:?usage: netns_dist_test.sh DCGAN_BINARY WORK_DIR}
WORK=${2:?usage: netns_dist_test.sh DCGAN_BINARY WORK_DIR}
DATA=$ROOT/data/svhn_sample_32x32.mat
TIMEOUT=5  # --dist-timeout, seconds

skip() { echo "netns_dist_test: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to make network namespaces"
command -v ip >/dev/null || skip "the ip command (iproute2) is not installed"

NS0=dcgan_n0_$$ NS1=dcgan_n1_$$
VETH0=dcv0_$$ VETH1=dcv1_$$
ADDR0=10.231.$(( $$ % 200 )).1 ADDR1=10.231.$(( $$ % 200 )).2
ip netns add "$NS0" 2>/dev/null || skip "ip netns add failed (no rights to make network namespaces)"
cleanup() {
  for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  ip netns del "$NS0" 2>/dev/null
  ip netns del "$NS1" 2>/dev/null
  ip link del "$VETH0" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NS1" || skip "ip netns add failed for the second namespace"
ip link add "$VETH0" type veth peer name "$VETH1" || skip "cannot make a veth pair"
ip link set "$VETH0" netns "$NS0" && ip link set "$VETH1" netns "$NS1" || exit 1
ip -n "$NS0" addr add "$ADDR0/24" dev "$VETH0" && ip -n "$NS1" addr add "$ADDR1/24" dev "$VETH1" || exit 1
for ns in "$NS0" "$NS1"; do ip -n "$ns" link set lo up; done
ip -n "$NS0" link set "$VETH0" up && ip -n "$NS1" link set "$VETH1" up || exit 1

rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
failures=0
fail() { echo "netns_dist_test: FAIL: $*" >&2; failures=$((failures + 1)); }
PORT=$(( 20000 + $$ % 20000 ))

# rank NS IFNAME RANK LOG MASTER_ADDR ARGS...: one rank in a namespace, in the background.
rank() {
  local ns=$1 ifname=$2 r=$3 log=$4 master=$5
  shift 5
  ip netns exec "$ns" env RANK="$r" LOCAL_RANK=0 WORLD_SIZE=2 MASTER_ADDR="$master" \
    MASTER_PORT="$PORT" GLOO_SOCKET_IFNAME="$ifname" OMP_NUM_THREADS=1 \
    "$DCGAN" train --data "$DATA" --limit 64 --conv-dim 4 --z-size 8 --batch-size 4 --seed 3 \
    --progress log --no-plot --sample-size 4 --print-every 1 --dist-timeout "$TIMEOUT" \
    --device cpu --threads 1 "$@" >"$log.out" 2>"$log.err" &
}
# wait_for PID LOG: the rank's exit status; "$LOG.seconds" holds the seconds since $since.
since=$SECONDS
wait_for() {
  wait "$1"
  local code=$?
  echo $((SECONDS - since)) >"$2.seconds"
  return $code
}
one_line_naming() {  # LOG TEXT
  local lines
  lines=$(grep -c '' "$1.err")
  [ "$lines" = 1 ] || fail "$1: $lines lines on stderr, expected one: $(cat "$1.err")"
  grep -qF -- "$2" "$1.err" || fail "$1: stderr does not name '$2': $(cat "$1.err")"
}

# 1. A partition in mid-run.
RUN=$WORK/run
rank "$NS0" "$VETH0" 0 "$WORK/p0" "$ADDR0" --out "$RUN" --epochs 1000; p0=$!
rank "$NS1" "$VETH1" 1 "$WORK/p1" "$ADDR0" --out "$RUN" --epochs 1000; p1=$!
for _ in $(seq 600); do
  [ -f "$RUN/checkpoints/last.pt" ] && [ "$(grep -c '' "$RUN/losses.csv" 2>/dev/null)" -gt 20 ] && break
  sleep 0.1
done
if [ ! -f "$RUN/checkpoints/last.pt" ]; then
  fail "no checkpoint within 60 s: $(cat "$WORK/p0.err" "$WORK/p1.err")"
else
  ip -n "$NS1" link set "$VETH1" down
  since=$SECONDS
  wait_for "$p0" "$WORK/p0"; c0=$?
  wait_for "$p1" "$WORK/p1"; c1=$?
  for r in 0 1; do
    code=$([ $r = 0 ] && echo $c0 || echo $c1)
    [ "$code" != 0 ] || fail "rank $r exited 0 after the partition"
    [ "$code" -lt 128 ] || fail "rank $r crashed (exit $code): $(cat "$WORK/p$r.err")"
    took=$(cat "$WORK/p$r.seconds")
    # Each rank gives up on a Gloo receive or a store call after the timeout, then waits up to 3 s
    # for the others to check in (rank 1 not even that: the store it would ask is rank 0's).
    limit=$((TIMEOUT + 5))
    [ "$took" -le "$limit" ] || fail "rank $r took $took s to notice the partition (--dist-timeout $TIMEOUT)"
    one_line_naming "$WORK/p$r" "rank $((1 - r)) of 2 lost"
  done
  "$DCGAN" generate --checkpoint "$RUN/checkpoints/last.pt" --count 4 --seed 1 --device cpu \
    --out "$WORK/check.png" >/dev/null 2>"$WORK/check.err" ||
    fail "the checkpoint does not load after the partition: $(cat "$WORK/check.err")"
  ip -n "$NS1" link set "$VETH1" up
fi
PORT=$((PORT + 1))

# 2. A rank that joins after the timeout.
rank "$NS0" "$VETH0" 0 "$WORK/l0" "$ADDR0" --out "$WORK/late"; l0=$!
wait_for "$l0" "$WORK/l0"; c0=$?
rank "$NS1" "$VETH1" 1 "$WORK/l1" "$ADDR0" --out "$WORK/late"; l1=$!
wait_for "$l1" "$WORK/l1"; c1=$?
[ "$c0" = 2 ] || fail "rank 0 without its peer: exit $c0, expected 2"
one_line_naming "$WORK/l0" "rank 1 did not join within $TIMEOUT s"
[ "$c1" = 2 ] || fail "the late rank: exit $c1, expected 2"
one_line_naming "$WORK/l1" "could not reach the rendezvous store at $ADDR0:$PORT"
[ ! -e "$WORK/late" ] || fail "a run folder was written by ranks that never met"
PORT=$((PORT + 1))

# 3. A MASTER_ADDR that does not resolve (.invalid never does).
since=$SECONDS
rank "$NS1" "$VETH1" 1 "$WORK/u1" no-such-node.invalid --out "$WORK/unresolved"; u1=$!
wait_for "$u1" "$WORK/u1"; c1=$?
[ "$c1" = 2 ] || fail "unresolvable MASTER_ADDR: exit $c1, expected 2"
one_line_naming "$WORK/u1" "no-such-node.invalid"
took=$(cat "$WORK/u1.seconds")
[ "$took" -le $((TIMEOUT + 5)) ] || fail "unresolvable MASTER_ADDR took $took s (--dist-timeout $TIMEOUT)"

if [ "$failures" -gt 0 ]; then
  echo "netns_dist_test: $failures check(s) failed; logs in $WORK" >&2
  exit 1
fi
echo "netns_dist_test: all checks passed"
