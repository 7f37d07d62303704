#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz for SECONDS each on a corpus seeded from the tree, and fails on any
# finding (a crash, an exception other than InputError, a sanitizer report, a leak, an input taking over 10 s or
# allocating over 2 GiB). CI runs it briefly (.ci/run); a campaign runs it longer:
#   cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DNPUSIM_FUZZ=ON -DNPUSIM_BUILD_TESTS=OFF
#   cmake --build build-fuzz -j2 && scripts/fuzz.sh build-fuzz 600
# Findings are written to WORK/findings (WORK: the third argument, default a fresh temporary folder).
set -euo pipefail
build=${1:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [WORK]}
seconds=${2:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [WORK]}
work=${3:-$(mktemp -d /tmp/npusim_fuzz.XXXXXX)}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work/findings"

seed() {  # seed TARGET FILES...: copies the files into the target's corpus
  local target=$1; shift
  mkdir -p "$work/corpus/$target"
  for f in "$@"; do cp "$f" "$work/corpus/$target/"; done
}
# fuzz_yaml reads its first byte as the document's kind: 0 NPU, 1 model, 2 run, 3 sweep.
mkdir -p "$work/corpus/fuzz_yaml"
kind=0
for dir in configs/npu configs/models configs/runs configs/sweeps; do
  for f in "$root/$dir"/*.yaml; do
    { printf "\\$(printf '%03o' "$kind")"; cat "$f"; } > "$work/corpus/fuzz_yaml/$(basename "$dir")_$(basename "$f")"
  done
  kind=$((kind + 1))
done
seed fuzz_trace "$root"/traces/samples/*.jsonl "$root"/traces/decoded/*.jsonl
seed fuzz_config_json "$root"/tests/fixtures/hf/*/config.json
seed fuzz_checkpoint "$root"/tests/fuzz/corpus/checkpoint/*
seed fuzz_tokenizer "$root"/tests/fuzz/corpus/tokenizer/*
seed fuzz_npaq "$root"/tests/fuzz/corpus/npaq/*

status=0
for target in fuzz_yaml fuzz_trace fuzz_config_json fuzz_checkpoint fuzz_tokenizer fuzz_npaq; do
  log="$work/$target.log"
  if "$build/tests/fuzz/$target" "$work/corpus/$target" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/findings/$target-" > "$log" 2>&1; then
    echo "fuzz: $target: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs," \
         "no finding"
  else
    echo "fuzz: $target: FINDING (log $log, inputs in $work/findings)"
    grep -E "ERROR|SUMMARY|terminate|what\(\)" "$log" | head -5
    status=1
  fi
done
exit $status
