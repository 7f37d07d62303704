#!/usr/bin/env bash
# Installs every Debian package that npusim's build, tests and plots need. Idempotent: packages already present
# are left alone, and apt-get runs only when something is missing. `--fuzz` adds clang and its libFuzzer and
# sanitizer runtimes (the fuzz build, scripts/fuzz.sh).
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libsystemc-dev       # SystemC 2.3.4, found through pkg-config
  libyaml-cpp-dev      # configs
  libfmt-dev           # formatting
  nlohmann-json3-dev   # traces and results.json
  libboost-program-options-dev
  libgtest-dev         # tests
  python3 python3-matplotlib  # plots/
  libopenmpi-dev openmpi-bin  # sweep --mpi and its test (the build leaves MPI out where they are missing)
)
if [ "${1:-}" = "--fuzz" ]; then
  packages+=(clang libclang-rt-14-dev)  # -fsanitize=fuzzer,address,undefined (Debian 12: clang 14)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
