#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/core/error.hpp"

namespace mapinverse {

/// "[2,1,28,28]" for a tensor, "undefined" for an undefined one.
inline std::string shape_string(const at::Tensor& tensor) {
  if (!tensor.defined()) return "undefined";
  return fmt::format("[{}]", fmt::join(tensor.sizes(), ","));
}

inline std::string shape_string(at::IntArrayRef sizes) {
  return fmt::format("[{}]", fmt::join(sizes, ","));
}

// Input checks for operators, models and solvers, the library's own and its users'.
// Each throws std::invalid_argument with a message naming `where` ("Class::method()")
// and the argument `name`.

/// `tensor` is defined.
inline void check_defined(const at::Tensor& tensor, const char* where, const char* name) {
  require(tensor.defined(), "{}: expected a defined tensor for {}, got an undefined one", where,
          name);
}

/// Checks the exact shape; -1 in `expected` matches any size along that dimension.
inline void check_shape(const at::Tensor& tensor, at::IntArrayRef expected, const char* where,
                        const char* name) {
  check_defined(tensor, where, name);
  bool matches = tensor.dim() == static_cast<int64_t>(expected.size());
  for (int64_t d = 0; matches && d < tensor.dim(); ++d) {
    matches = expected[d] < 0 || expected[d] == tensor.size(d);
  }
  if (!matches) {
    std::vector<std::string> parts;
    for (auto size : expected) parts.push_back(size < 0 ? "B" : std::to_string(size));
    throw std::invalid_argument(fmt::format("{}: expected {} of shape [{}], got {}", where, name,
                                            fmt::join(parts, ","), shape_string(tensor)));
  }
}

inline void check_floating(const at::Tensor& tensor, const char* where, const char* name) {
  check_defined(tensor, where, name);
  require(tensor.is_floating_point(), "{}: expected {} to be a floating-point tensor, got {}",
          where, name, c10::toString(tensor.scalar_type()));
}

/// Both tensors live on the same device and have the same dtype.
inline void check_same_placement(const at::Tensor& a, const at::Tensor& b, const char* where,
                                 const char* name_a, const char* name_b) {
  require(a.device() == b.device(), "{}: {} is on {} but {} is on {}", where, name_a,
          a.device().str(), name_b, b.device().str());
  require(a.scalar_type() == b.scalar_type(), "{}: {} has dtype {} but {} has dtype {}", where,
          name_a, c10::toString(a.scalar_type()), name_b, c10::toString(b.scalar_type()));
}

void check_finite(const at::Tensor& tensor, const char* where, const char* name);

/// Per-sample noise levels: a scalar, or a vector of one value per batch sample.
/// Returns them shaped [B,1,...,1] so they broadcast against `x`.
inline at::Tensor per_sample(const at::Tensor& sigma, const at::Tensor& x, const char* where) {
  check_defined(sigma, where, "sigma");
  require(
      sigma.dim() == 0 || (sigma.dim() == 1 && (sigma.size(0) == x.size(0) || sigma.size(0) == 1)),
      "{}: expected sigma as a scalar or of shape [{}], got {}", where, x.size(0),
      shape_string(sigma));
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[0] = sigma.dim() == 0 ? 1 : sigma.size(0);
  return sigma.to(x.options()).reshape(shape);
}

}  // namespace mapinverse
