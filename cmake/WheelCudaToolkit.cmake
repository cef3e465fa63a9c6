# PyPI's torch wheels are CUDA builds, and their TorchConfig.cmake stops without the CUDA
# toolkit (nvcc, cuda_runtime.h, libcudart) even where the programs only ever run on the
# CPU. NVIDIA publishes that toolkit as wheels too (nvidia-cuda-nvcc, -crt, -nvvm,
# -runtime, -nvrtc, -cccl: scripts/requirements-torch.txt), which land in
# site-packages/nvidia/cu<major>/ next to torch. Where no nvcc was given or is on the PATH,
# point CMake's CUDA lookups at that folder, so that a machine with nothing but the wheels
# configures. scripts/install-torch.sh installs them and adds the links a toolkit has
# (lib64, libcudart.so, libnvrtc.so) that the wheels leave out.
if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND NOT CUDA_TOOLKIT_ROOT_DIR)
  find_program(MAPINVERSE_SYSTEM_NVCC nvcc PATHS /usr/local/cuda/bin)
  if(NOT MAPINVERSE_SYSTEM_NVCC)
    foreach(prefix IN LISTS CMAKE_PREFIX_PATH)
      file(GLOB wheel_nvcc "${prefix}/../nvidia/cu*/bin/nvcc")
      if(wheel_nvcc)
        list(GET wheel_nvcc 0 wheel_nvcc)
        get_filename_component(wheel_toolkit "${wheel_nvcc}/../.." ABSOLUTE)
        message(STATUS "MapInverse: no nvcc on the PATH; the CUDA toolkit wheels at ${wheel_toolkit}")
        set(CMAKE_CUDA_COMPILER "${wheel_toolkit}/bin/nvcc" CACHE FILEPATH "nvcc (from NVIDIA's wheels)")
        set(CUDA_TOOLKIT_ROOT_DIR "${wheel_toolkit}" CACHE PATH "CUDA toolkit (from NVIDIA's wheels)")
        set(CUDAToolkit_ROOT "${wheel_toolkit}")
        break()
      endif()
    endforeach()
  endif()
endif()
