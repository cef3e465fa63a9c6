#!/usr/bin/env bash
# The peer benchmark (docs/peers.md): MapInverse's solvers next to deepinv's samplers on
# the same shipped denoiser and the same problems. From a clean checkout:
#
#   scripts/run-peers.sh [run.py options, e.g. --images 4 --sigmas 0 0.1 for a quick run]
#
# installs deepinv (scripts/requirements-peers.txt, pinned) into the torch venv of
# scripts/install-torch.sh, builds benchmark_peers against Debian's LibTorch in
# $MAPINVERSE_PEERS_BUILD (default build/), and runs benchmarks/peers/run.py on one core
# (OMP_NUM_THREADS=1, nice), writing docs/results/peers/. Not part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${MAPINVERSE_TORCH_VENV:-/opt/mapinverse/venv}
build=${MAPINVERSE_PEERS_BUILD:-build}

scripts/install-torch.sh > /dev/null
"$venv/bin/python" -m pip install --quiet -r scripts/requirements-peers.txt \
  -c scripts/requirements-torch.txt
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target benchmark_peers -j2
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice "$venv/bin/python" benchmarks/peers/run.py \
  --tool "$build/benchmarks/benchmark_peers" --work "$build/peers" "$@"
