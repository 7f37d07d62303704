#!/usr/bin/env bash
# Regenerates the committed decoder traces (tests/cli/decode_test.cc checks that this reproduces them byte for
# byte): the reference decoder on stories260K (../shared) over decoder/prompts/tinystories_openings.txt, greedy,
# 256 tokens at most (most stories end with EOS before), any-precision seed 2 / parent 4 calibrated on the prompts.
#   bash traces/decoded/make.sh [path/to/npusim [output folder]]
set -euo pipefail
cd "$(dirname "$0")/../.."
npusim=${1:-build/sim/npusim}
dest=${2:-traces/decoded}
common=(--model ../shared/models/stories260K/stories260K.bin --tokenizer ../shared/models/stories260K/tok512.bin
        --prompts decoder/prompts/tinystories_openings.txt --max-new-tokens 256)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
decode() {  # name, flags...
  local name=$1
  shift
  "$npusim" decode "${common[@]}" "$@" --out "$out/$name" > /dev/null
  cp "$out/$name/trace.jsonl" "$dest/stories260k_tinystories_$name.jsonl"
}
decode fp32 --precisions 16,16 --scheduler fixed      # the unquantized model (replayed as fp16)
decode uniform4 --precisions 4,4 --scheduler fixed    # uniform high: every phase at 4 bits
decode uniform3 --precisions 3,3 --scheduler fixed    # uniform low: every phase at 3 bits
decode pmpd --precisions 4,3 --scheduler static --switch-step 20  # PMPD: 4-bit prefill, passes 1..20 at 4 bits, then 3
echo "wrote $dest/stories260k_tinystories_{fp32,uniform4,uniform3,pmpd}.jsonl"
