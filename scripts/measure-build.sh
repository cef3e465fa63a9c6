#!/usr/bin/env bash
# Measures what the structure of the headers costs, side by side in one run:
#   1. compiler time of a file that includes only <mapinverse/mapinverse.hpp> against one
#      that includes only <torch/torch.h> (-fsyntax-only, alternating, 5 rounds each);
#   2. with --clean-build REV..., the wall time of a clean Release build of every target
#      (no ccache) of each git revision, one after the other. Suffixes pick CMake's
#      generator (:make, the default, as scripts/test.sh uses, or :ninja) and the compiler
#      (:gcc, the default, g++; or :clang, clang++, as scripts/test.sh uses for Debian's
#      LibTorch), e.g. HEAD:clang or 88689d5:ninja:gcc.
# Usage: scripts/measure-build.sh [--clean-build REV[:make|:ninja][:gcc|:clang] ...]
#        (run on an otherwise idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

torch_api=$(dirname "$(find /usr/include /usr/local/include -path '*torch/csrc/api/include/torch/torch.h' 2>/dev/null | head -1)")
torch_api=${torch_api%/torch}
mkdir -p "$work/gen/mapinverse"
sed -e 's/@PROJECT_VERSION_MAJOR@/0/;s/@PROJECT_VERSION_MINOR@/0/;s/@PROJECT_VERSION_PATCH@/0/' \
    -e 's/@PROJECT_VERSION@/0/;s|@MAPINVERSE_MODEL_DIRECTORY@|models|' \
    cmake/version.hpp.in > "$work/gen/mapinverse/version.hpp"
echo '#include <mapinverse/mapinverse.hpp>' > "$work/umbrella.cpp"
echo '#include <torch/torch.h>' > "$work/torch.cpp"

seconds() {  # wall seconds of one -fsyntax-only compile
  local start end
  start=$(date +%s.%N)
  g++ -std=c++17 -fsyntax-only -I"$root/include" -I"$work/gen" -I"$torch_api" "$1"
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.2f}')"
}

echo "g++ -fsyntax-only, wall seconds (5 alternating rounds):"
umbrella=(); torch=()
for round in 1 2 3 4 5; do
  umbrella+=("$(seconds "$work/umbrella.cpp")")
  torch+=("$(seconds "$work/torch.cpp")")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 3p; }
mu=$(median "${umbrella[@]}"); mt=$(median "${torch[@]}")
echo "  <mapinverse/mapinverse.hpp>: ${umbrella[*]}  median $mu"
echo "  <torch/torch.h>:             ${torch[*]}  median $mt"
echo "  ratio (medians): $(python3 -c "print(f'{$mu / $mt:.3f}')")"
echo "  preprocessed lines: mapinverse.hpp $(g++ -std=c++17 -E -I"$root/include" -I"$work/gen" \
  "$work/umbrella.cpp" | wc -l), torch.h $(g++ -std=c++17 -E -I"$torch_api" "$work/torch.cpp" | wc -l)"

if [ "${1:-}" = "--clean-build" ]; then
  shift
  for spec in "$@"; do
    IFS=: read -r -a parts <<< "$spec"
    revision=${parts[0]}
    generator=make
    compiler=gcc
    for part in "${parts[@]:1}"; do
      case $part in
        make | ninja) generator=$part ;;
        gcc | clang) compiler=$part ;;
        *) echo "measure-build.sh: unknown suffix '$part' in $spec (make, ninja, gcc, clang)" >&2
           exit 2 ;;
      esac
    done
    cmake_generator="Unix Makefiles"
    [ "$generator" = ninja ] && cmake_generator=Ninja
    cxx=g++
    [ "$compiler" = clang ] && cxx=clang++
    tree="$work/tree-$revision-$generator-$compiler"
    log="$work/build-$revision-$generator-$compiler.log"
    git worktree add --detach "$tree" "$revision" > /dev/null 2>&1
    start=$(date +%s)
    CCACHE_DISABLE=1 cmake -S "$tree" -B "$tree/build" -G "$cmake_generator" \
      -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" 2>&1
    CCACHE_DISABLE=1 cmake --build "$tree/build" -j2 > "$log" 2>&1 \
      || { echo "build of $revision failed: see tail below"; tail -20 "$log"; }
    end=$(date +%s)
    # Programs and libraries linked (both generators print one "Linking" line for each).
    linked=$(grep -c "Linking CXX" "$log" || true)
    echo "clean Release build of $revision ($(git rev-parse --short "$revision")), $cmake_generator, $cxx:" \
      "$((end - start)) s, $linked programs and libraries linked"
    git worktree remove --force "$tree"
  done
fi
