#!/usr/bin/env bash
# The recipe experiment behind docs/QUALITY.md: trains each recipe with each seed and measures the
# final generator with `dcgan evaluate` (Fréchet distance in the feature net's space, 3,000
# samples). Runs one after another, each on every core; results.csv gets one row per run and the
# table at the end compares each recipe with the notebook's defaults, seed by seed.
#
#   scripts/quality_experiment.sh OUT [--train FILE] [--test FILE] [--epochs N] [--seeds "1 2"]
#                                     [--recipes "notebook normal_init ..."] [--conv-dim N]
#                                     [--threads N] [--z-seeds "0 1 2"] [--eval-every N]
#                                     [--train-flags "FLAGS"]
#
# Defaults: a 10,000-image synthetic SVHN-format train set and a 2,000-image test set, made by
# scripts/make_synthetic_svhn.py into data/ on first use; conv_dim 32 (the notebook's model), 25
# epochs, seeds 1 and 2, every recipe below, every core. Each final generator is measured with 3,000
# samples from each of the z seeds (evaluation_zN.json); the table's FD is their mean. --train-flags
# adds flags to every run (e.g. "--limit 5000 --batch-size 64" for a shorter 64x64 run). On a busy
# machine, run one experiment per seed side by side (--seeds 1 and --seeds 2, the same OUT) with
# --threads 1: OpenMP threads that wait for a busy core stall every step. A finished run (its
# evaluation.json exists) is skipped, so an interrupted experiment resumes where it stopped, and a
# last call with every seed prints the whole table.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DCGAN="${DCGAN:-$ROOT/build/dcgan}"  # DCGAN=path: a frozen copy, so rebuilding build/ mid-run is safe
TRAIN=$ROOT/data/synthetic_train_32x32.mat
TEST=$ROOT/data/synthetic_test_32x32.mat
EPOCHS=25
SEEDS="1 2"
CONV_DIM=32
RECIPES=""
THREADS=0
Z_SEEDS="0 1 2"
EVAL_EVERY=5
TRAIN_FLAGS=""

# name -> `dcgan train` flags. G-EMA's decay is 0.995 (a ~200-step window): at 0.999 a 2,000-step
# run would still average in a share of its first, untrained weights.
declare -A FLAGS=(
  [notebook]=""
  [normal_init]="--weights-init normal"
  [smooth_labels]="--smooth-labels"
  [g_ema]="--g-ema 0.995"
  [normal_init+g_ema]="--weights-init normal --g-ema 0.995"
  [g_ema+batch64]="--g-ema 0.995 --batch-size 64"
  [normal_init+g_ema+batch64]="--weights-init normal --g-ema 0.995 --batch-size 64"
  [improved]="--recipe improved"  # the same flags as the row above, by name
  # Any image size (docs/QUALITY.md, "64x64"): with --train/--test of 64x64 sets (e.g. made by
  # make_svhn_synth.py --size 64) and --recipes "size64_notebook size64_pytorch_examples".
  [size64_notebook]="--image-size 64"
  [size64_pytorch_examples]="--image-size 64 --arch pytorch-examples"
  # The levers of docs/QUALITY.md, "Small data", each on top of the improved recipe.
  [improved+augment]="--recipe improved --augment color,translation,cutout"
  [improved+augment_tc]="--recipe improved --augment translation,cutout"
  [improved+hinge+sn]="--recipe improved --loss hinge --spectral-norm"
  [improved+ttur]="--recipe improved --lr-d 0.0004 --lr-g 0.0001"
  # The BatchNorm study's best 5-epoch run (docs/QUALITY.md): the notebook at 5x its learning rate.
  [lr1e-3]="--lr 0.001"
  # Its swings smoothed (docs/QUALITY.md, "The high-lr recipe"); the third is --recipe high-lr.
  [lr1e-3+g_ema]="--lr 0.001 --g-ema 0.995"
  [lr5e-4+g_ema]="--lr 0.0005 --g-ema 0.995"
  [lr1e-3+g_ema+batch64]="--lr 0.001 --g-ema 0.995 --batch-size 64"
  [lr1e-3+g_ema998]="--lr 0.001 --g-ema 0.998"
  [high-lr]="--recipe high-lr"  # the same flags as lr1e-3+g_ema+batch64, by name
  # What BatchNorm buys (docs/QUALITY.md, "BatchNorm"): with and without, two learning rates, both
  # weight inits.
  [bn_2e-4_default]=""
  [nobn_2e-4_default]="--no-batch-norm"
  [bn_1e-3_default]="--lr 0.001"
  [nobn_1e-3_default]="--no-batch-norm --lr 0.001"
  [bn_2e-4_normal]="--weights-init normal"
  [nobn_2e-4_normal]="--no-batch-norm --weights-init normal"
  [bn_1e-3_normal]="--lr 0.001 --weights-init normal"
  [nobn_1e-3_normal]="--no-batch-norm --lr 0.001 --weights-init normal"
)
ORDER="notebook normal_init smooth_labels g_ema normal_init+g_ema g_ema+batch64 normal_init+g_ema+batch64"

[[ $# -ge 1 && "$1" != -* ]] || { sed -n '2,20p' "$0"; exit 2; }
OUT="$1"; shift
while [[ $# -gt 0 ]]; do
  case "$1" in
    --train) TRAIN="$2"; shift 2 ;;
    --test) TEST="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --seeds) SEEDS="$2"; shift 2 ;;
    --recipes) RECIPES="$2"; shift 2 ;;
    --conv-dim) CONV_DIM="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --z-seeds) Z_SEEDS="$2"; shift 2 ;;
    --eval-every) EVAL_EVERY="$2"; shift 2 ;;
    --train-flags) TRAIN_FLAGS="$2"; shift 2 ;;
    *) echo "quality_experiment.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
RECIPES="${RECIPES:-$ORDER}"
for recipe in $RECIPES; do
  [[ -v "FLAGS[$recipe]" ]] || { echo "quality_experiment.sh: unknown recipe '$recipe' (known: ${!FLAGS[*]})" >&2; exit 2; }
done

# The default data is made once, by the project's own generator (about a minute).
make_synthetic() {  # FILE COUNT SEED
  [[ -f $1 ]] && return
  mkdir -p "$(dirname "$1")"
  /usr/bin/python3 "$ROOT/scripts/make_synthetic_svhn.py" "$1.partial" "$2" "$3" && mv "$1.partial" "$1"
}
[[ $TRAIN != "$ROOT/data/synthetic_train_32x32.mat" ]] || make_synthetic "$TRAIN" 10000 1
[[ $TEST != "$ROOT/data/synthetic_test_32x32.mat" ]] || make_synthetic "$TEST" 2000 2

mkdir -p "$OUT"
FEATURE_NET="$OUT/feature_net.pt"
json_number() { grep -o "\"$1\":[-0-9.e]*" "$2" | head -1 | cut -d: -f2; }
# The mean of a number over a run's evaluation_zN.json files.
mean_over_z() {
  local key=$1 run=$2 sum=0 n=0 z
  for z in $Z_SEEDS; do
    sum=$(awk -v a="$sum" -v b="$(json_number "$key" "$run/evaluation_z$z.json")" 'BEGIN { print a + b }')
    n=$((n + 1))
  done
  awk -v s="$sum" -v n="$n" 'BEGIN { printf "%.4f", s / n }'
}

for recipe in $RECIPES; do
  for seed in $SEEDS; do
    run="$OUT/$recipe/seed$seed"
    last_z=${Z_SEEDS##* }
    [[ -f "$run/evaluation_z$last_z.json" ]] && continue
    rm -rf "$run"
    # shellcheck disable=SC2086  # FLAGS holds several words on purpose
    command=("$DCGAN" train --data "$TRAIN" --out "$run" --conv-dim "$CONV_DIM" --epochs "$EPOCHS"
             --seed "$seed" --threads "$THREADS" ${FLAGS[$recipe]} $TRAIN_FLAGS --eval-every "$EVAL_EVERY" --eval-data "$TEST"
             --feature-net "$FEATURE_NET" --no-plot --progress log --print-every 1000)
    echo "== $recipe seed $seed: ${command[*]}"
    start=$SECONDS
    "${command[@]}" > "$OUT/$recipe-seed$seed.log" 2>&1
    for z in $Z_SEEDS; do
      "$DCGAN" evaluate --checkpoint "$run/checkpoints/last.pt" --data "$TEST" --count 3000 \
        --seed "$z" --threads "$THREADS" --feature-net "$FEATURE_NET" --json 2>/dev/null \
        > "$run/evaluation_z$z.json.tmp"
      mv "$run/evaluation_z$z.json.tmp" "$run/evaluation_z$z.json"
    done
    echo "   FD $(mean_over_z frechet_distance "$run") (mean over z seeds $Z_SEEDS) in $((SECONDS - start)) s"
  done
done

# One row per run; the curve's columns are quality.csv's Fréchet distances every 5 epochs.
{
  echo "recipe,seed,frechet_distance,confident_share,curve"
  for recipe in $RECIPES; do
    for seed in $SEEDS; do
      run="$OUT/$recipe/seed$seed"
      curve=$(tail -n +2 "$run/quality.csv" | cut -d, -f2 | xargs printf '%.1f ' | sed 's/ $//')
      echo "$recipe,$seed,$(mean_over_z frechet_distance "$run"),$(mean_over_z confident_share "$run"),$curve"
    done
  done
} > "$OUT/results.csv"

# The table: FD per seed and its change against the notebook's defaults with the same seed.
awk -F, 'NR > 1 { fd[$1 "," $2] = $3; conf[$1 "," $2] = $4; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
                  if (!($2 in seenseed)) { seenseed[$2] = 1; seeds[++m] = $2 } }
  END {
    printf "| recipe |"; for (j = 1; j <= m; j++) printf " FD seed %s | vs notebook |", seeds[j]; print " confident (mean) |"
    printf "|---|"; for (j = 1; j <= m; j++) printf "---:|---:|"; print "---:|"
    for (i = 1; i <= n; i++) {
      r = order[i]; printf "| %s |", r; c = 0
      for (j = 1; j <= m; j++) {
        k = r "," seeds[j]; base = fd["notebook," seeds[j]]
        printf " %.1f |", fd[k]
        if (base > 0) printf " %+.0f%% |", 100 * (fd[k] - base) / base; else printf " |"
        c += conf[k]
      }
      printf " %.1f%% |\n", 100 * c / m
    }
  }' "$OUT/results.csv" | tee "$OUT/table.md"

# One page with every run's curves, final numbers and the flags they differ in (dcgan report).
runs=()
for recipe in $RECIPES; do
  for seed in $SEEDS; do runs+=("$OUT/$recipe/seed$seed"); done
done
"$DCGAN" report "${runs[@]}" --out "$OUT/compare.html" 2>/dev/null
echo "compare page: $OUT/compare.html"
