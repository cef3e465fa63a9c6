#include "mapinverse/core/random.hpp"

#include <ATen/CPUGeneratorImpl.h>

namespace mapinverse {

at::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

}  // namespace mapinverse
