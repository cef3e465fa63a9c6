# MAPINVERSE_BUILD_PYTHON: the extension module must link the very LibTorch that Python's
# torch loads, so the torch folder of the chosen Python goes first on CMAKE_PREFIX_PATH
# (scikit-build-core passes Python3_EXECUTABLE; otherwise pass it, e.g.
# -DPython3_EXECUTABLE=/opt/mapinverse/venv/bin/python). Sets MAPINVERSE_PYTHON_TORCH_DIR
# and MAPINVERSE_PYTHON_TORCH_VERSION; mapinverse_check_python_torch() compares the latter
# with the LibTorch that find_package(Torch) found.
find_package(Python3 3.10 REQUIRED COMPONENTS Interpreter Development.Module)
execute_process(
  COMMAND "${Python3_EXECUTABLE}" -c
    "import os, torch; print(os.path.dirname(torch.__file__)); print(torch.__version__.split('+')[0])"
  OUTPUT_VARIABLE mapinverse_python_torch
  RESULT_VARIABLE mapinverse_python_torch_status
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT mapinverse_python_torch_status EQUAL 0)
  message(FATAL_ERROR "MAPINVERSE_BUILD_PYTHON: ${Python3_EXECUTABLE} cannot import torch. "
    "Pass -DPython3_EXECUTABLE=<a Python with torch 2.x>, e.g. the venv of scripts/install-torch.sh.")
endif()
string(REPLACE "\n" ";" mapinverse_python_torch "${mapinverse_python_torch}")
list(GET mapinverse_python_torch 0 MAPINVERSE_PYTHON_TORCH_DIR)
list(GET mapinverse_python_torch 1 MAPINVERSE_PYTHON_TORCH_VERSION)
list(PREPEND CMAKE_PREFIX_PATH "${MAPINVERSE_PYTHON_TORCH_DIR}")
message(STATUS "MapInverse Python package: ${Python3_EXECUTABLE}, torch "
  "${MAPINVERSE_PYTHON_TORCH_VERSION} at ${MAPINVERSE_PYTHON_TORCH_DIR}")

function(mapinverse_check_python_torch)
  if(NOT Torch_VERSION VERSION_EQUAL MAPINVERSE_PYTHON_TORCH_VERSION)
    message(FATAL_ERROR "MAPINVERSE_BUILD_PYTHON: CMake found LibTorch ${Torch_VERSION} at "
      "${TORCH_INSTALL_PREFIX}, but ${Python3_EXECUTABLE} imports torch "
      "${MAPINVERSE_PYTHON_TORCH_VERSION}: the extension would not load.")
  endif()
endfunction()
