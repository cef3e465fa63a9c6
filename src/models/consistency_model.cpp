#include "mapinverse/models/consistency_model.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor ConsistencyModel::evaluate_at(const at::Tensor& z, double t,
                                         const at::Tensor& labels) const {
  return evaluate(z, per_sample(at::scalar_tensor(t, z.options()), z, "ConsistencyModel::origin()"),
                  labels);
}

}  // namespace mapinverse
