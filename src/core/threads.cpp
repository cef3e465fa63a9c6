#include <torch/torch.h>

#include "mapinverse/core/threads.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#endif

#include <ATen/Parallel.h>

#include "mapinverse/core/error.hpp"

namespace mapinverse {

void set_thread_count(int threads) {
  require(threads >= 1, "set_thread_count: threads = {}. Violated constraint: threads >= 1",
          threads);
  at::set_num_threads(threads);
#if defined(__unix__) || defined(__APPLE__)
  using SetBlasThreads = void (*)(int);
  if (void* symbol = dlsym(RTLD_DEFAULT, "openblas_set_num_threads")) {
    reinterpret_cast<SetBlasThreads>(symbol)(threads);
  }
#endif
}

}  // namespace mapinverse
