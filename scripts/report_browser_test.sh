#!/usr/bin/env bash
# The browser test of report.html and `dcgan report`: trains two tiny runs (a few seconds), writes
# a compare page, renders both pages in headless chromium and checks that each screenshot is not
# blank, that the SVG curves were drawn (pixels in the plots' colours), and that the page logged no
# console message (a script error would). A page with a deliberate script error is rendered first,
# to prove that console messages are seen at all. Chromium does not log a missing image of a file://
# page, so tests/check_html.py checks the pages' markup and that every file they refer to exists.
#
#   scripts/report_browser_test.sh [DCGAN] [OUT]     # DCGAN: build/dcgan; OUT: a temp folder
#
# Exit 0: passed; 1: failed; 77: skipped, chromium is not installed (apt-get install chromium).
# The screenshots stay in OUT (report.png, compare.png) to be looked at.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DCGAN="${1:-$ROOT/build/dcgan}"
OUT="${2:-$(mktemp -d /tmp/dcgan_browser_XXXXXX)}"
CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$CHROMIUM" ]]; then
  echo "SKIP: chromium is not installed (apt-get install chromium)"
  exit 77
fi
[[ -x "$DCGAN" ]] || { echo "report_browser_test.sh: $DCGAN is not an executable" >&2; exit 1; }
mkdir -p "$OUT/runs"
OUT="$(cd "$OUT" && pwd)"
DATA="$ROOT/tests/data/tiny_v5_compressed.mat"

train() {  # train OUT_FOLDER EPOCHS [FLAGS...]
  local run="$1" epochs="$2"
  shift 2
  rm -rf "$run"
  "$DCGAN" train --data "$DATA" --out "$run" --conv-dim 4 --z-size 8 --batch-size 4 \
    --epochs "$epochs" --seed 1 --progress log --no-plot --print-every 1 --sample-size 16 \
    --threads 1 "$@" > "$run.log" 2>&1
}
train "$OUT/runs/a" 4
train "$OUT/runs/b" 3 --lr 0.001 --weights-init normal
"$DCGAN" interpolate --checkpoint "$OUT/runs/a/checkpoints/last.pt" --rows 4 --steps 8 --seed 1 \
  --out "$OUT/runs/a/samples/walk.png" > /dev/null 2>&1
# The walk is found when the page is written: rewrite report.html the way the trainer does.
"$DCGAN" train --resume "$OUT/runs/a" --epochs 5 --progress log --no-plot --threads 1 \
  > "$OUT/runs/a-resume.log" 2>&1
"$DCGAN" report "$OUT/runs/a" "$OUT/runs/b" --out "$OUT/compare.html" > /dev/null 2>&1

SANDBOX=()
[[ $(id -u) -ne 0 ]] || SANDBOX=(--no-sandbox)  # chromium refuses to run as root with its sandbox

# shoot PAGE PNG: a 1200 px wide screenshot; chromium's log (console messages included) in PNG.log.
shoot() {
  rm -f "$2"
  timeout 120 "$CHROMIUM" --headless "${SANDBOX[@]}" --disable-gpu --hide-scrollbars \
    --no-first-run --user-data-dir="$OUT/chromium-profile" --window-size=1200,3200 \
    --enable-logging=stderr --v=0 \
    --virtual-time-budget=2000 --screenshot="$2" "file://$1" > "$2.log" 2>&1 || true
  [[ -s "$2" ]] || { echo "FAIL: chromium wrote no screenshot of $1:"; tail -5 "$2.log"; return 1; }
}
# Chromium logs them as "[...:INFO:CONSOLE:1] "Uncaught ReferenceError: ...", source: ...".
console_messages() { grep -E ':CONSOLE[:(]|Uncaught|net::ERR_' "$1" || true; }

failed=0
printf '<!DOCTYPE html><html><body><p>canary</p><script>no_such_function();</script></body></html>\n' \
  > "$OUT/canary.html"
shoot "$OUT/canary.html" "$OUT/canary.png"
if [[ -z "$(console_messages "$OUT/canary.png.log")" ]]; then
  echo "FAIL: a page with a script error logged no console message: this chromium's log is not"
  echo "      understood, so the check below would prove nothing ($OUT/canary.png.log)"
  failed=1
fi

for page in runs/a/report.html compare.html; do
  png="$OUT/$(basename "$page" .html).png"
  python3 "$ROOT/tests/check_html.py" "$OUT/$page" || failed=1
  shoot "$OUT/$page" "$png" || { failed=1; continue; }
  messages="$(console_messages "$png.log")"
  if [[ -n "$messages" ]]; then
    echo "FAIL: $page logged console messages:"
    echo "$messages"
    failed=1
  fi
  # Non-blank, and the curves drawn: pixels of the first two plot colours (#0072B2, #D55E00).
  if ! python3 - "$png" <<'PY'; then failed=1; fi
import ctypes, ctypes.util, sys
# Decoded by stb_image (libstb, a dependency of dcgan itself): a pure-Python PNG decoder would take
# tens of seconds for a 1200x3200 screenshot.
stb = ctypes.CDLL(ctypes.util.find_library("stb") or "libstb.so.0")
stb.stbi_load.restype = ctypes.POINTER(ctypes.c_ubyte)
path = sys.argv[1]
w, h, n = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
data = stb.stbi_load(path.encode(), ctypes.byref(w), ctypes.byref(h), ctypes.byref(n), 3)
if not data:
    sys.exit(f"FAIL: {path}: stb_image cannot read it")
pixels = ctypes.string_at(data, w.value * h.value * 3)
stb.stbi_image_free(data)
# The background is the commonest colour of a sample of pixels; the rest is what was drawn.
sample = [pixels[i:i + 3] for i in range(0, len(pixels), 3 * 97)]
counts = {}
for rgb in sample:
    counts[rgb] = counts.get(rgb, 0) + 1
background = max(counts, key=counts.get)
drawn = 1 - counts[background] / len(sample)
# The curves' colours (#0072B2, #D55E00) as runs of pixels (a 3-byte pattern, counted by C code).
plot = [pixels.count(bytes.fromhex(c) * 2) for c in ("0072B2", "D55E00")]
print(f"{path}: {w.value}x{h.value}, {100 * drawn:.1f}% drawn on {background.hex()}, "
      f"{len(counts)} colours sampled, plot pixels {plot}")
problems = []
if drawn < 0.02 or len(counts) < 50:
    problems.append("looks blank")
if min(plot) < 50:
    problems.append("no curves drawn in the plot colours")
if problems:
    sys.exit(f"FAIL: {path}: " + ", ".join(problems))
PY
done
[[ $failed -eq 0 ]] && echo "report_browser_test: passed (screenshots in $OUT)"
exit $failed
