#!/usr/bin/env bash
# Installs LibTorch 2.x (the torch wheel from PyPI, versions pinned in
# scripts/requirements-torch.txt) and what the Python package's tests and build need
# (pytest, scikit-build-core: scripts/requirements-python.txt; deepinv and the peer
# benchmark's packages: scripts/requirements-peers.txt) into a Python virtual
# environment, once: a venv that already has exactly these versions is left alone. Prints, as its last line, the
# folder to pass to CMake as CMAKE_PREFIX_PATH:
#
#   prefix=$(scripts/install-torch.sh | tail -n 1)
#   cmake -S . -B build-torch2 -DCMAKE_PREFIX_PATH="$prefix"
#
# MAPINVERSE_TORCH_VENV: the venv (default /opt/mapinverse/venv); MAPINVERSE_PYTHON: the
# interpreter that creates it (default python3, 3.10 or later).
# The wheel is a CUDA build: configuring against it needs the CUDA toolkit (nvcc, its
# headers and libcudart) even where the programs only ever run on the CPU. A machine
# without one gets it from NVIDIA's wheels (pinned with torch), which
# cmake/WheelCudaToolkit.cmake finds next to torch; this script adds the links a toolkit
# has and the wheels leave out. It installs Debian's python3-venv when the interpreter
# cannot make a venv.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${MAPINVERSE_TORCH_VENV:-/opt/mapinverse/venv}
python=${MAPINVERSE_PYTHON:-python3}
# deepinv (requirements-peers.txt) too: the Python package's deepinv interoperability
# test runs against it.
requirements=("$PWD/scripts/requirements-torch.txt" "$PWD/scripts/requirements-python.txt"
  "$PWD/scripts/requirements-peers.txt")

if [ ! -x "$venv/bin/python" ]; then
  echo "Creating the venv $venv" >&2
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "$python is $("$python" --version 2>&1); torch 2.x needs Python 3.10 or later" >&2
    exit 1
  }
  if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    echo "Installing python3-venv (the interpreter cannot make a venv without it)" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends python3-venv >&2
  fi
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

# NVIDIA's toolkit wheels: nvcc's profile looks for lib64, and CMake's FindCUDAToolkit
# for the unversioned libcudart.so and libnvrtc.so of a toolkit's development files.
for toolkit in "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"/nvidia/cu*; do
  [ -x "$toolkit/bin/nvcc" ] || continue
  [ -e "$toolkit/lib64" ] || ln -s lib "$toolkit/lib64"
  for library in "$toolkit"/lib/libcudart.so.* "$toolkit"/lib/libnvrtc.so.*; do
    case $library in *.alt.*) continue ;; esac
    link="${library%.so.*}.so"
    [ -e "$link" ] || ln -s "$(basename "$library")" "$link"
  done
done

# torch's own folder: CMake finds share/cmake/Torch/TorchConfig.cmake under it. (Not
# torch.utils.cmake_prefix_path, torch/share/cmake: with that prefix TorchConfig.cmake's
# find_library calls look in the system's folders first and report a system libtorch.)
"$venv/bin/python" -c \
  'import importlib.util; print(importlib.util.find_spec("torch").submodule_search_locations[0])'
