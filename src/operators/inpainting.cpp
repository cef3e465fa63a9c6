#include "mapinverse/operators/inpainting.hpp"

#include <torch/torch.h>

namespace mapinverse {

at::Tensor Inpainting::apply(const at::Tensor& x) const {
  return x * placed_mask(x, "apply()", "x");
}

at::Tensor Inpainting::adjoint(const at::Tensor& y) const {
  return y * placed_mask(y, "adjoint()", "y");
}

at::Tensor Inpainting::gram(const at::Tensor& y) const { return y * placed_mask(y, "gram()", "y"); }

at::Tensor Inpainting::solve_gram(const at::Tensor& r, double a, double b) const {
  check_gram_coefficients(a, b, "Inpainting::solve_gram()");
  const auto mask = placed_mask(r, "solve_gram()", "r");
  const double missing_scale = a > 0.0 ? 1.0 / a : 0.0;
  return r * (mask * (1.0 / (a + b)) + (1.0 - mask) * missing_scale);
}

at::Tensor Inpainting::checked_mask(const at::Tensor& mask) {
  constexpr const char* where = "Inpainting::Inpainting()";
  check_defined(mask, where, "mask");
  require(mask.dim() == 2 || (mask.dim() == 4 && mask.size(1) == 1),
          "{}: expected mask of shape [H,W], [1,1,H,W] or [B,1,H,W], got {}", where,
          shape_string(mask));
  auto values = mask.detach().to(at::kFloat);
  if (values.dim() == 2) values = values.reshape({1, 1, values.size(0), values.size(1)});
  require(values.numel() > 0, "{}: expected a non-empty mask, got {}", where, shape_string(mask));
  const auto not_binary = (values != 0) & (values != 1);
  if (not_binary.any().item<bool>()) {
    const auto first = not_binary.nonzero()[0].to(at::kCPU);
    const auto index =
        std::vector<int64_t>(first.data_ptr<int64_t>(), first.data_ptr<int64_t>() + first.numel());
    throw std::invalid_argument(fmt::format(
        "{}: expected a binary mask (values 0 or 1), got {} non-binary values, the first "
        "{} at [{}]",
        where, not_binary.sum().item<int64_t>(),
        values[index[0]][index[1]][index[2]][index[3]].item<double>(), fmt::join(index, ",")));
  }
  const auto empty = values.sum({1, 2, 3}).eq(0).to(at::kCPU);
  for (int64_t sample = 0; sample < empty.size(0); ++sample) {
    if (!empty[sample].item<bool>()) continue;
    throw std::invalid_argument(
        values.size(0) == 1 ? fmt::format("{}: the mask observes no pixel (all zeros)", where)
                            : fmt::format("{}: the mask of sample {} observes no pixel (all zeros)",
                                          where, sample));
  }
  return values.contiguous();
}

}  // namespace mapinverse
