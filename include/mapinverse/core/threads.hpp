#pragma once

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
void set_thread_count(int threads);

}  // namespace mapinverse
