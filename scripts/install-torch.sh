#!/usr/bin/env bash
# Installs LibTorch 2.x (the torch wheel from PyPI, versions pinned in
# scripts/requirements-torch.txt) and what the Python package's tests and build need
# (pytest, scikit-build-core: scripts/requirements-python.txt) into a Python virtual
# environment, once: a venv that already has exactly these versions is left alone. Prints, as its last line, the
# folder to pass to CMake as CMAKE_PREFIX_PATH:
#
#   prefix=$(scripts/install-torch.sh | tail -n 1)
#   cmake -S . -B build-torch2 -DCMAKE_PREFIX_PATH="$prefix"
#
# MAPINVERSE_TORCH_VENV: the venv (default /opt/mapinverse/venv); MAPINVERSE_PYTHON: the
# interpreter that creates it (default python3, 3.10 or later).
# The wheel is a CUDA build: configuring against it needs the CUDA toolkit (nvcc, its
# headers and libcudart) even where the programs only ever run on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${MAPINVERSE_TORCH_VENV:-/opt/mapinverse/venv}
python=${MAPINVERSE_PYTHON:-python3}
requirements=("$PWD/scripts/requirements-torch.txt" "$PWD/scripts/requirements-python.txt")

if [ ! -x "$venv/bin/python" ]; then
  echo "Creating the venv $venv" >&2
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "$python is $("$python" --version 2>&1); torch 2.x needs Python 3.10 or later" >&2
    exit 1
  }
  "$python" -m venv "$venv"
fi

# Everything pinned is installed at its pinned version: nothing to do. (pip's own
# "already satisfied" pass costs a few seconds more, and it would not downgrade.)
installed=$("$venv/bin/python" -m pip freeze --all 2>/dev/null | tr 'A-Z_' 'a-z-' | sort)
wanted=$(cat "${requirements[@]}" | grep -Ev '^[[:space:]]*(#|$)' | tr 'A-Z_' 'a-z-' | sort)
if [ -n "$(comm -13 <(echo "$installed") <(echo "$wanted"))" ]; then
  echo "Installing $(grep -hE '^torch==' "${requirements[@]}") and the Python test tools into $venv" >&2
  "$venv/bin/python" -m pip install --quiet "${requirements[@]/#/-r}" "${requirements[@]/#/-c}" >&2
fi

# torch's own folder: CMake finds share/cmake/Torch/TorchConfig.cmake under it. (Not
# torch.utils.cmake_prefix_path, torch/share/cmake: with that prefix TorchConfig.cmake's
# find_library calls look in the system's folders first and report a system libtorch.)
"$venv/bin/python" -c \
  'import importlib.util; print(importlib.util.find_spec("torch").submodule_search_locations[0])'
