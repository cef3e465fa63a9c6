#include "mapinverse/operators/average_pool.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor AveragePool::adjoint(const at::Tensor& y) const {
  check_measurement(y, "AveragePool::adjoint()", "y");
  const int64_t k = options_.factor;
  const auto shape = y.sizes();
  return (y / static_cast<double>(k * k))
      .reshape({shape[0], shape[1], shape[2], 1, shape[3], 1})
      .expand({shape[0], shape[1], shape[2], k, shape[3], k})
      .reshape({shape[0], shape[1], shape[2] * k, shape[3] * k});
}

at::Tensor AveragePool::gram(const at::Tensor& y) const {
  check_measurement(y, "AveragePool::gram()", "y");
  return y / static_cast<double>(options_.factor * options_.factor);
}

at::Tensor AveragePool::solve_gram(const at::Tensor& r, double a, double b) const {
  constexpr const char* where = "AveragePool::solve_gram()";
  check_gram_coefficients(a, b, where);
  check_measurement(r, where, "r");
  return r / (a + b / static_cast<double>(options_.factor * options_.factor));
}

}  // namespace mapinverse
