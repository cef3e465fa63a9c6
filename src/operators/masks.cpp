#include "mapinverse/operators/masks.hpp"

#include <array>
#include <cmath>

#include <torch/torch.h>

#include "mapinverse/core/random.hpp"
#include "mapinverse/io/png.hpp"

namespace mapinverse {
namespace {

/// Rows (or columns) of a centred box of side floor(size / divisor).
torch::indexing::Slice centred_span(int64_t size, int64_t divisor) {
  const int64_t side = size / divisor;
  const int64_t start = (size - side) / 2;
  return torch::indexing::Slice(start, start + side);
}

}  // namespace

at::Tensor paper_mask(PaperMask kind, int64_t height, int64_t width) {
  using torch::indexing::None;
  using torch::indexing::Slice;
  require(height >= 4 && width >= 4, "paper_mask(): expected height >= 4 and width >= 4, got {}x{}",
          height, width);
  const auto all = Slice();
  const auto every_other = Slice(0, None, 2);
  const auto box50 = std::array{centred_span(height, 2), centred_span(width, 2)};
  const auto box25 = std::array{centred_span(height, 4), centred_span(width, 4)};
  auto observed = at::ones({1, 1, height, width}, at::kFloat);
  switch (kind) {
    case PaperMask::kBox50:
      observed.index_put_({all, all, box50[0], box50[1]}, 0.0);
      break;
    case PaperMask::kHalf:
      observed.index_put_({all, all, all, Slice(width / 2, None)}, 0.0);
      break;
    case PaperMask::kExpand:
      observed.zero_();
      observed.index_put_({all, all, box25[0], box25[1]}, 1.0);
      break;
    case PaperMask::kBox25:
      observed.index_put_({all, all, box25[0], box25[1]}, 0.0);
      break;
    case PaperMask::kSr2x:
      observed.zero_();
      observed.index_put_({all, all, every_other, every_other}, 1.0);
      break;
    case PaperMask::kAllLines:
      observed.zero_();
      observed.index_put_({all, all, every_other, all}, 1.0);
      break;
    default:
      throw std::invalid_argument(
          fmt::format("paper_mask(): unknown PaperMask value {}", static_cast<int>(kind)));
  }
  return observed;
}

}  // namespace mapinverse

namespace mapinverse {

at::Tensor random_mask(int64_t height, int64_t width, double keep_probability, uint64_t seed) {
  require(height >= 1 && width >= 1,
          "random_mask(): expected height >= 1 and width >= 1, got {}x{}", height, width);
  require(std::isfinite(keep_probability) && keep_probability > 0.0 && keep_probability <= 1.0,
          "random_mask(): expected 0 < keep_probability <= 1, got {}", keep_probability);
  auto generator = make_generator(seed);
  const auto uniform = at::rand({1, 1, height, width}, generator, at::kDouble);
  auto observed = (uniform < keep_probability).to(at::kFloat);
  require(observed.sum().item<double>() > 0.0,
          "random_mask(): no pixel of the {}x{} mask is observed with keep_probability = "
          "{} and seed = {}; use another seed or a larger probability",
          height, width, keep_probability, seed);
  return observed;
}

}  // namespace mapinverse

namespace mapinverse {

at::Tensor read_mask_png(const std::string& path) {
  const auto level = read_png(path).mean(0);
  const auto ambiguous = (level > 0.2) & (level < 0.8);
  if (ambiguous.any().item<bool>()) {
    const auto first = ambiguous.nonzero()[0];
    const int64_t row = first[0].item<int64_t>();
    const int64_t column = first[1].item<int64_t>();
    throw std::invalid_argument(fmt::format(
        "read_mask_png(): expected a binary mask in '{}' (levels <= 0.2 missing, >= 0.8 "
        "observed), got {} pixels in between, the first at row {}, column {} with level {:.3f}",
        path, ambiguous.sum().item<int64_t>(), row, column, level[row][column].item<double>()));
  }
  return (level > 0.5).to(at::kFloat).reshape({1, 1, level.size(0), level.size(1)});
}

}  // namespace mapinverse
