#!/usr/bin/env bash
# Builds the libFuzzer targets of the file readers with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer on the library's own code too) and runs each for
# SECONDS seconds (default 300) from the committed seed corpus.
# Usage: scripts/fuzz.sh [seconds] [build-folder]   (default: 300 build-fuzz)
# Findings are written to <build-folder>/findings/<target>/; new corpus entries stay
# in <build-folder>/corpus/<target>/ (the committed seeds are never modified).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
build=${2:-build-fuzz}

scripts/install-deps.sh
if ! command -v clang++ >/dev/null; then
  apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -g -O1"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  "-DCMAKE_CXX_FLAGS=$flags" -DMAPINVERSE_BUILD_FUZZERS=ON -DMAPINVERSE_BUILD_TESTS=OFF \
  -DMAPINVERSE_BUILD_EXAMPLES=OFF -DMAPINVERSE_BUILD_BENCHMARKS=OFF -DMAPINVERSE_INSTALL=OFF >/dev/null
cmake --build "$build" -j2 --target png_reader_fuzzer mask_reader_fuzzer idx_reader_fuzzer

# LibTorch's own static initialisers allocate memory that is never freed; leak
# detection would report those, not the readers, so it is off.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for target in png_reader mask_reader idx_reader; do
  corpus="$build/corpus/$target"
  findings="$build/findings/$target"
  mkdir -p "$corpus" "$findings"
  echo "== $target: $seconds s"
  "$build/tests/fuzz/${target}_fuzzer" "$corpus" "tests/fuzz/corpus/$target" \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -timeout=20 \
    -artifact_prefix="$findings/" -print_final_stats=1 2>&1 | tail -n 25
done
