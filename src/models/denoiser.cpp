#include "mapinverse/models/denoiser.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor Denoiser::evaluate_at(const at::Tensor& x, double sigma,
                                 const at::Tensor& labels) const {
  return evaluate(x, per_sample(at::scalar_tensor(sigma, x.options()), x, "Denoiser::denoise()"),
                  labels);
}

}  // namespace mapinverse
