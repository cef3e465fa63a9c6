#pragma once

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#endif

#include <torch/torch.h>

#include "mapinverse/core/error.hpp"

namespace mapinverse {

/// Sets the number of CPU threads LibTorch computes with, and caps the BLAS library
/// LibTorch calls into at the same number when that library is OpenBLAS.
///
/// Why the BLAS cap: LibTorch builds that run convolutions through BLAS (im2col + gemm)
/// leave OpenBLAS's own thread pool at one thread per core, and those threads spin while
/// they wait for work. With torch::set_num_threads(1) alone, each process still keeps
/// every core busy: `benchmark_speed --threads 1` measured 33 s of system time for 41 s
/// of wall time, and two such processes on two cores slow each other down. The symbol
/// is looked up at run time, so other BLAS libraries (and CUDA builds) are unaffected.
inline void set_thread_count(int threads) {
  detail::require(threads >= 1, "set_thread_count: threads = {}. Violated constraint: threads >= 1",
                  threads);
  torch::set_num_threads(threads);
#if defined(__unix__) || defined(__APPLE__)
  using SetBlasThreads = void (*)(int);
  if (void* symbol = dlsym(RTLD_DEFAULT, "openblas_set_num_threads")) {
    reinterpret_cast<SetBlasThreads>(symbol)(threads);
  }
#endif
}

}  // namespace mapinverse
