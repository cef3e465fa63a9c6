#!/usr/bin/env bash
# The device check: builds MapInverse against the GPU machine's own PyTorch, runs the
# exactness tests on CUDA, benchmarks every solver at batch 1, 16 and 128 on the shipped
# Fashion-MNIST networks and on a paper-sized class-conditional 3x64x64 U-Net, tries a
# CUDA graph, and restores images end to end with the tool on --device cuda. Writes
# device-check.log, device-check.json (one entry per step), device-benchmark.json and
# device-tests.xml under $OUT. Fits in 8 minutes: every step has its own time limit.
#
# Two halves, because the GPU machine has PyTorch, CUDA, CMake and ninja but nothing else
# and cannot download anything:
#   scripts/device-check.sh --prepare   here: copies the Debian header libraries (fmt,
#                                       CLI11, nlohmann/json, Catch2, Eigen), libpng and
#                                       zlib, and the Fashion-MNIST test set into
#                                       .device-deps/ (git-ignored)
#   scripts/device-check.sh             there, with .device-deps/ carried along
#                                       (device tool: carry [".device-deps"])
set -uo pipefail
cd "$(dirname "$0")/.."
deps=.device-deps

prepare() {
  local include=/usr/include lib=/usr/lib/x86_64-linux-gnu
  local target_lib="$deps/usr/lib/x86_64-linux-gnu"
  rm -rf "$deps"
  mkdir -p "$deps/usr/include" "$target_lib/cmake" "$deps/usr/lib/cmake" \
    "$deps/usr/share/cmake" "$deps/fashion-mnist"
  cp -a "$include"/{fmt,CLI,nlohmann,catch2,eigen3,libpng16} "$deps/usr/include/"
  cp -a "$include"/{png.h,pngconf.h,pnglibconf.h,zlib.h,zconf.h} "$deps/usr/include/"
  cp -a "$lib"/libpng16.so* "$lib"/libfmt.so* /lib/x86_64-linux-gnu/libz.so.1* "$target_lib/"
  ln -sf libz.so.1 "$target_lib/libz.so"
  cp -a "$lib/cmake/fmt" "$target_lib/cmake/"
  cp -a /usr/lib/cmake/Catch2 "$deps/usr/lib/cmake/"
  cp -a /usr/share/cmake/{CLI11,nlohmann_json} "$deps/usr/share/cmake/"
  cp -a /usr/share/eigen3 "$deps/usr/share/"
  cp -a /usr/share/datasets/fashion-mnist/t10k-* "$deps/fashion-mnist/"
  echo "prepared $deps ($(du -sh "$deps" | cut -f1)); run the check with carry [\"$deps\"]"
}

if [ "${1:-}" = "--prepare" ]; then
  prepare
  exit 0
fi

out=${OUT:-device-check-out}
mkdir -p "$out"
exec > >(tee "$out/device-check.log") 2>&1
build=build-device
steps_json="$out/device-check.json"
echo "[" > "$steps_json"
first_step=1
overall=0

# Every step stops by this many seconds after the start (8 minutes, less a margin).
budget=${MAPINVERSE_DEVICE_CHECK_SECONDS:-470}

# run_step NAME SECONDS COMMAND...: runs it under a time limit (its own, cut to what is
# left of the budget), logs and records it.
run_step() {
  local name=$1 limit=$2
  shift 2
  local left=$((budget - SECONDS))
  [ "$limit" -le "$left" ] || limit=$left
  if [ "$limit" -le 5 ]; then
    echo "=== $name: skipped, the time budget is spent"
    overall=1
    return 1
  fi
  echo "=== $name (limit ${limit} s): $*"
  local start=$SECONDS status
  timeout --kill-after=10 "$limit" "$@"
  status=$?
  local seconds=$((SECONDS - start))
  echo "=== $name: exit $status after ${seconds} s"
  [ $first_step = 1 ] || echo "," >> "$steps_json"
  first_step=0
  printf '  {"step": "%s", "exit": %d, "seconds": %d}' "$name" "$status" "$seconds" >> "$steps_json"
  [ "$status" = 0 ] || overall=1
  return "$status"
}

finish() {
  printf '\n]\n' >> "$steps_json"
  echo "device check finished after ${SECONDS} s, exit $overall"
  exit "$overall"
}

[ -d "$deps" ] || { echo "$deps is missing: run scripts/device-check.sh --prepare here and carry it"; overall=1; finish; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
python3 -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "GPU", torch.cuda.is_available())'
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
arch=$(python3 -c 'import torch; c = torch.cuda.get_device_capability(); print(f"{c[0]}.{c[1]}")' 2> /dev/null || echo 9.0)
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)

run_step configure 90 cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$PWD/$deps/usr" -DTORCH_CUDA_ARCH_LIST="$arch" \
  -DMAPINVERSE_BUILD_TRAINING=OFF -DMAPINVERSE_BUILD_EXAMPLES=OFF || finish
run_step build 240 cmake --build "$build" --parallel "$(nproc)" \
  --target device_tests benchmark_device mapinverse_cli || finish

MAPINVERSE_TEST_DEVICE=cuda run_step device-tests 60 \
  "$build/tests/device_tests" --reporter junit --out "$out/device-tests.xml"
grep -o 'tests="[0-9]*"\|failures="[0-9]*"\|errors="[0-9]*"' "$out/device-tests.xml" | head -3 || true

run_step benchmark 180 "$build/benchmarks/benchmark_device" --device cuda \
  --batches 1 16 128 --time-limit 150 --json "$out/device-benchmark.json"

# The tool end to end on the GPU: every registered solver on 16 test images, small budgets.
tool="$build/apps/mapinverse"
for solver in map-ga map-ga-pgdm pgdm dps; do
  sigma=0
  [ "$solver" = map-ga-pgdm ] && sigma=0.1
  run_step "tool-$solver" 30 "$tool" restore --device cuda --solver "$solver" \
    --data "$deps/fashion-mnist" --fmnist-range 0:16 --mask box50 --sigma-y "$sigma" \
    --time-steps 4 --iterations 5 --steps 20 --batch 16 --quiet \
    --output-dir "$out/restored-$solver"
done
finish
