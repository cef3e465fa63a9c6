#!/usr/bin/env bash
# Installs the dependencies, builds MapInverse with its tests against each LibTorch it
# supports, and runs them with CTest:
#   - Debian's LibTorch 1.13 (scripts/install-deps.sh) in BUILD (default: build), compiled
#     with clang++ (MAPINVERSE_CXX to change it): it builds every target in about half the
#     time g++ takes (docs/results/build.md);
#   - PyPI's torch 2.x (scripts/install-torch.sh) in BUILD-torch2, with the Python
#     package's extension (MAPINVERSE_BUILD_PYTHON), whose pytest suite is one CTest test,
#     compiled with g++, so that both compilers build and test every change.
# Then prints one line per LibTorch, e.g.
#   LibTorch 2.11.0 (cuda build): 250 passed, 0 failed
# and exits non-zero if a build or a test failed with either.
# Usage: scripts/test.sh [BUILD]
# MAPINVERSE_TOOLCHAINS: which to run, "debian torch2" by default.
# The torch 2.x wheel is a CUDA build: configuring needs the CUDA toolkit (nvcc), and every
# program links LibTorch's CUDA libraries; with no GPU the tests run on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
toolchains=${MAPINVERSE_TOOLCHAINS:-debian torch2}

scripts/install-deps.sh
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

summaries=()
status=0

# The code follows .clang-format (clang-format from Debian's package).
command -v clang-format >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-format >/dev/null
if git ls-files 'include/*.hpp' 'src/*.[ch]pp' 'apps/*.[ch]pp' 'training/*.[ch]pp' \
    'examples/*.cpp' 'tests/*.[ch]pp' 'benchmarks/*.cpp' 'python/src/*.[ch]pp' | xargs clang-format --dry-run --Werror; then
  echo "clang-format: the code follows .clang-format"
else
  echo "clang-format: files above differ from .clang-format (run clang-format -i on them)"
  status=1
fi

# Builds and tests one toolchain: run_suite FOLDER [CMAKE-ARGUMENTS...]
run_suite() {
  local folder=$1
  shift
  local log="$folder/ctest-output.log"
  local version kind ctest_status
  if cmake -S . -B "$folder" -DCMAKE_BUILD_TYPE=Release -DMAPINVERSE_WARNINGS_AS_ERRORS=ON \
    "${launcher[@]}" "$@" &&
    cmake --build "$folder" -j2; then
    mkdir -p "$folder"
    set +e
    OMP_NUM_THREADS=1 ctest --test-dir "$folder" --output-on-failure -j2 2>&1 | tee "$log"
    ctest_status=${PIPESTATUS[0]}
    set -e
  else
    ctest_status=build
  fi
  version=$(sed -n 's/^MAPINVERSE_TORCH_VERSION:INTERNAL=//p' "$folder/CMakeCache.txt" 2>/dev/null)
  kind=$(sed -n 's/^MAPINVERSE_TORCH_KIND:INTERNAL=//p' "$folder/CMakeCache.txt" 2>/dev/null)
  local head="LibTorch ${version:-?} (${kind:-?} build)"
  if [ "$ctest_status" = build ]; then
    summaries+=("$head: build failed")
    status=1
    return
  fi
  # CTest's closing count: "NN% tests passed, F tests failed out of T"; skipped tests
  # (exit code 77: a tool that is not installed) are in T but neither passed nor failed.
  local total failed skipped
  total=$(sed -n 's/.*tests passed, [0-9]* tests\{0,1\} failed out of \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of.*/\1/p' "$log" | tail -n 1)
  skipped=$(grep -c '\*\*\*Skipped' "$log" || true)
  if [ -z "$total" ]; then
    summaries+=("$head: no test ran")
    status=1
    return
  fi
  local line="$head: $((total - failed - skipped)) passed, $failed failed"
  [ "$skipped" -gt 0 ] && line+=", $skipped skipped"
  summaries+=("$line")
  if [ "$ctest_status" -ne 0 ] || [ "$failed" -ne 0 ]; then status=1; fi
}

for toolchain in $toolchains; do
  case $toolchain in
    debian) run_suite "$build" "-DCMAKE_CXX_COMPILER=${MAPINVERSE_CXX:-clang++}" ;;
    torch2)
      prefix=$(scripts/install-torch.sh | tail -n 1)
      # No CUDA sources here: the architecture list only spares TorchConfig.cmake its
      # GPU probe. The training programs (which made models/ with LibTorch 1.13) are
      # built by the first toolchain only, to keep CI within its time.
      run_suite "$build-torch2" "-DCMAKE_PREFIX_PATH=$prefix" -DCMAKE_CXX_COMPILER=g++ \
        -DMAPINVERSE_BUILD_TRAINING=OFF \
        "-DTORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}" -DMAPINVERSE_BUILD_PYTHON=ON \
        "-DPython3_EXECUTABLE=${MAPINVERSE_TORCH_VENV:-/opt/mapinverse/venv}/bin/python"
      ;;
    *)
      echo "MAPINVERSE_TOOLCHAINS: unknown toolchain '$toolchain' (debian, torch2)" >&2
      exit 2
      ;;
  esac
done

printf '%s\n' "${summaries[@]}"
exit $status
