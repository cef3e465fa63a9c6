#include "mapinverse/core/tensor_checks.hpp"

#include <torch/torch.h>

namespace mapinverse {

void check_finite(const at::Tensor& tensor, const char* where, const char* name) {
  require(at::isfinite(tensor).all().item<bool>(), "{}: {} contains NaN or infinite values", where,
          name);
}

}  // namespace mapinverse
