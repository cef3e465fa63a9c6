# Installs the build tree into a staging prefix, then configures, builds and runs the
# consumer project against it, with the LibTorch the build used (TORCH_DIR: its
# TorchConfig.cmake folder). Invoked by CTest with -DBUILD_DIR, -DSOURCE_DIR, -DWORK_DIR,
# -DTORCH_DIR.
file(REMOVE_RECURSE "${WORK_DIR}")
# The consumer finds MapInverse by its package folder and LibTorch by its prefix (as a
# user would: CMAKE_PREFIX_PATH=<torch>), so that TorchConfig.cmake's find_library
# takes that LibTorch's libraries, not another one in the system's folders.
get_filename_component(TORCH_PREFIX "${TORCH_DIR}/../../.." ABSOLUTE)
foreach(step
    "${CMAKE_COMMAND};--install;${BUILD_DIR};--prefix;${WORK_DIR}/prefix"
    "${CMAKE_COMMAND};-S;${SOURCE_DIR};-B;${WORK_DIR}/build;-DCMAKE_BUILD_TYPE=Release;-DMapInverse_DIR=${WORK_DIR}/prefix/lib/cmake/MapInverse;-DCMAKE_PREFIX_PATH=${TORCH_PREFIX};-DTorch_DIR=${TORCH_DIR};-DTORCH_CUDA_ARCH_LIST=9.0"
    "${CMAKE_COMMAND};--build;${WORK_DIR}/build"
    "${WORK_DIR}/build/consumer")
  execute_process(COMMAND ${step} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "package test step failed (${result}): ${step}")
  endif()
endforeach()
