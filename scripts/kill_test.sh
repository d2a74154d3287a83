#!/usr/bin/env bash
# Crash-safety test: SIGKILL a tiny training run at random moments (at least $KILLS times),
# resume it after every kill, and check that
#   - checkpoints/last.pt always loads once the first checkpoint was written (dcgan generate),
#   - every resume is accepted (no exit 2 / 1), and the run finally completes with summary.json,
#   - no stale *.tmp.* file from a killed write is left behind (the final run owns the folder;
#     a decoy checkpoints/last.pt.tmp.<pid> of random bytes is planted after the first checkpoint),
#   - the result is bit-identical to an uninterrupted run with the same seed: kills only lose
#     the work since the last checkpoint, and resume replays it exactly (same generator output,
#     same losses.csv, same sample grids).
#
# Usage: scripts/kill_test.sh            (KILLS=20 EPOCHS=40 DCGAN=build/dcgan KILL_SEED=<n> to override)
# Environment:
#   DCGAN           binary (default build/dcgan)
#   KILLS           SIGKILLs to perform (default 20)
#   EPOCHS          epochs of the run (default 40; raised by 10 whenever the run finishes before
#                   all kills are done; the reference run uses the final value)
#   KILL_SEED       seed of the kill schedule, printed so a failure can be replayed
#   ALLOW_STALE_TMP 1: stale temp files at the end are a warning, not a failure
#   KEEP            1: keep the temp folder
# Exit status: 0 all checks passed, 1 a check failed.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DCGAN=${DCGAN:-$ROOT/build/dcgan}
KILLS=${KILLS:-20}
EPOCHS=${EPOCHS:-40}
KILL_SEED=${KILL_SEED:-$(( $(date +%s) % 32768 ))}
ALLOW_STALE_TMP=${ALLOW_STALE_TMP:-0}
DECOY_PID=4194303  # the highest possible pid (pid_max is at most 4194304): not a running writer
DATA=${DATA:-$ROOT/data/svhn_sample_32x32.mat}
RANDOM=$KILL_SEED

[ -x "$DCGAN" ] || { echo "kill_test: $DCGAN not built (run scripts/build.sh)" >&2; exit 1; }
[ -f "$DATA" ] || { echo "kill_test: $DATA missing" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dcgan_kill_test.XXXXXX")
RUN=$WORK/killed
REF=$WORK/reference
LOG=$WORK/train.log
child=0
cleanup() {
  if [ "$child" -ne 0 ]; then kill -KILL "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kill_test: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Everything that changes what is computed; --epochs is passed separately (it may grow).
ARGS=(--data "$DATA" --conv-dim 4 --limit 256 --batch-size 16 --seed 7 --print-every 1
      --progress log --no-plot --device cpu)

failures=0
fail() { echo "kill_test: FAIL: $*" >&2; failures=$((failures + 1)); }

# A random sleep of 0.05-1.5 s.
random_sleep() { local ms=$((50 + RANDOM % 1451)); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }

tmp_files() { find "$1" -name '*.tmp.*' -printf '%P\n' 2>/dev/null | sort; }

checkpoint_loads() {
  "$DCGAN" generate --checkpoint "$1" --count 4 --seed 1 --device cpu --out "$WORK/check.png" \
    >"$WORK/check.out" 2>"$WORK/check.err"
}

start_time=$(date +%s)
echo "kill_test: $KILLS kills, $EPOCHS epochs, kill schedule seed $KILL_SEED (KILL_SEED=$KILL_SEED to replay), in $WORK"

kills=0 resumes=0 fresh_starts=0 extensions=0 checkpoint_seen=0
finished=0
while [ "$finished" -eq 0 ]; do
  if [ -f "$RUN/checkpoints/last.pt" ]; then
    cmd=("$DCGAN" train --resume "$RUN" --epochs "$EPOCHS")
    kind=resume
  else
    cmd=("$DCGAN" train "${ARGS[@]}" --epochs "$EPOCHS" --out "$RUN")
    kind=fresh
  fi
  echo "=== $kind (kills so far $kills): ${cmd[*]}" >>"$LOG"

  if [ "$kills" -ge "$KILLS" ]; then
    # All kills done: let the run finish.
    "${cmd[@]}" >>"$LOG" 2>&1
    rc=$?
    [ "$kind" = resume ] && resumes=$((resumes + 1))
    if [ "$rc" -ne 0 ]; then
      fail "final $kind exited $rc (see the end of the log below)"
      tail -5 "$LOG" >&2
      break
    fi
    finished=1
    break
  fi

  "${cmd[@]}" >>"$LOG" 2>&1 &
  child=$!
  delay=$(random_sleep)
  sleep "$delay"
  kill -KILL "$child" 2>/dev/null  # harmless if it already exited: the pid stays ours until waited for
  wait "$child" 2>/dev/null  # (no "Killed" job message)
  rc=$?
  child=0
  [ "$kind" = resume ] && resumes=$((resumes + 1))
  [ "$kind" = fresh ] && fresh_starts=$((fresh_starts + 1))

  if [ "$rc" -eq 0 ]; then
    # Finished before the kill: train further so that all kills happen during training.
    extensions=$((extensions + 1))
    EPOCHS=$((EPOCHS + 10))
    echo "kill_test: run finished before kill $((kills + 1)); extending to $EPOCHS epochs"
    continue
  fi
  if [ "$rc" -ne 137 ]; then
    fail "$kind exited $rc before it was killed (expected to be still running or exit 0):"
    tail -3 "$LOG" >&2
    break
  fi
  kills=$((kills + 1))

  if [ -f "$RUN/checkpoints/last.pt" ]; then
    if [ "$checkpoint_seen" -eq 0 ]; then
      # A decoy: what a write killed before its rename leaves behind (a pid that is not running).
      # Resume must neither load it nor leave it lying around.
      head -c 4096 /dev/urandom >"$RUN/checkpoints/last.pt.tmp.$DECOY_PID"
      echo "kill_test: planted the stale temp file checkpoints/last.pt.tmp.$DECOY_PID (random bytes)"
    fi
    checkpoint_seen=1
    if ! checkpoint_loads "$RUN/checkpoints/last.pt"; then
      fail "kill $kills (after ${delay}s of $kind): checkpoints/last.pt does not load: $(cat "$WORK/check.err")"
      break
    fi
    state="last.pt loads ($(grep -o 'epoch [0-9]* done' "$LOG" | tail -1))"
  elif [ "$checkpoint_seen" -eq 1 ]; then
    fail "kill $kills (after ${delay}s of $kind): checkpoints/last.pt disappeared"
    break
  else
    state="no checkpoint yet"
  fi
  stale=$(tmp_files "$RUN" | tr '\n' ' ')
  printf 'kill %2d after %ss of %-6s: %s%s\n' "$kills" "$delay" "$kind" "$state" "${stale:+; temp files: $stale}"
  # A summary.json here means the kill came after the run completed; the next resume must then
  # be refused (already finished), so train further instead.
  if [ -f "$RUN/summary.json" ] && grep -q "\"epochs\": $EPOCHS," "$RUN/summary.json"; then
    extensions=$((extensions + 1))
    EPOCHS=$((EPOCHS + 10))
    echo "kill_test: killed after the run completed; extending to $EPOCHS epochs"
  fi
done
loop_seconds=$(( $(date +%s) - start_time ))

stale_count=0
identical="not compared"
if [ "$failures" -eq 0 ]; then
  # The finished run.
  if [ ! -f "$RUN/summary.json" ]; then
    fail "no summary.json after the final run"
  else
    done_epochs=$(sed -n 's/^ *"epochs": *\([0-9]*\),*$/\1/p' "$RUN/summary.json")
    [ "$done_epochs" = "$EPOCHS" ] || fail "summary.json says $done_epochs epochs, expected $EPOCHS"
  fi
  rows=$(($(wc -l <"$RUN/losses.csv") - 1))
  [ "$rows" -eq $((EPOCHS * 16)) ] || fail "losses.csv has $rows rows, expected $((EPOCHS * 16)) (one per step)"
  for f in "$RUN/samples/progress.png" "$RUN/samples/epoch_$(printf '%03d' "$EPOCHS").png"; do
    [ -f "$f" ] || fail "missing $f"
  done

  # Stale temp files from killed writes (and the decoy): the final run started after the last
  # kill and owned the folder, so it should have removed them.
  stale=$(tmp_files "$RUN")
  if [ -n "$stale" ]; then
    stale_count=$(echo "$stale" | wc -l)
    msg="$stale_count stale temp file(s) left in the run folder after the final run (resume does not remove leftovers of killed writes): $(echo "$stale" | tr '\n' ' ')"
    if [ "$ALLOW_STALE_TMP" != 1 ]; then fail "$msg"; else echo "kill_test: warning: $msg"; fi
  fi

  # The uninterrupted reference run with the same seed and the same final epoch count.
  if ! "$DCGAN" train "${ARGS[@]}" --epochs "$EPOCHS" --out "$REF" >"$WORK/reference.log" 2>&1; then
    fail "reference run failed: $(tail -1 "$WORK/reference.log")"
  else
    identical=yes
    for run in "$RUN" "$REF"; do
      "$DCGAN" generate --checkpoint "$run/checkpoints/last.pt" --seed 1 --count 16 --device cpu \
        --out "$run.png" >/dev/null 2>"$WORK/generate.err" || fail "generate from $run failed: $(cat "$WORK/generate.err")"
    done
    if ! cmp -s "$RUN.png" "$REF.png"; then
      identical=no
      fail "generated images differ between the killed-and-resumed run and the uninterrupted run"
    fi
    if ! cmp -s "$RUN/losses.csv" "$REF/losses.csv"; then
      identical=no
      fail "losses.csv differs from the uninterrupted run's: $(diff "$RUN/losses.csv" "$REF/losses.csv" | head -3 | tr '\n' ' ')"
    fi
    for f in samples/progress.png "samples/epoch_$(printf '%03d' "$EPOCHS").png"; do
      if ! cmp -s "$RUN/$f" "$REF/$f"; then
        identical=no
        fail "$f differs from the uninterrupted run's"
      fi
    done
  fi
fi

if [ "$failures" -ne 0 ]; then
  echo "--- last lines of the training log ($LOG):" >&2
  tail -5 "$LOG" >&2
fi
echo "kill_test: kills $kills/$KILLS, resumes $resumes (fresh restarts before the first checkpoint: $fresh_starts," \
     "extensions: $extensions), final epochs $EPOCHS, stale temp files $stale_count," \
     "identical to uninterrupted run: $identical, $(( $(date +%s) - start_time )) s (kill loop ${loop_seconds} s)"
if [ "$failures" -ne 0 ]; then
  echo "kill_test: FAILED ($failures check(s)); replay with KILL_SEED=$KILL_SEED" >&2
  exit 1
fi
echo "kill_test: OK"
