#include "mapinverse/solvers/problem.hpp"

#include <fmt/ranges.h>
#include <torch/torch.h>

namespace mapinverse {

void Problem::validate() const {
  require(measurement.defined() && measurement.dim() >= 1,
          "Problem::measurement: expected a tensor of shape [B,...], got {}",
          shape_string(measurement));
  check_floating(measurement, "Problem::validate()", "measurement");
  require(measurement.size(0) >= 1,
          "Problem::measurement: expected a batch of at least one sample, got {}",
          shape_string(measurement));
  check_finite(measurement, "Problem::validate()", "measurement");
  require(forward_operator != nullptr,
          "Problem::forward_operator: expected an operator, got a null pointer");
  require(std::isfinite(sigma_y) && sigma_y >= 0.0,
          "Problem::sigma_y = {}. Violated constraint: sigma_y >= 0", sigma_y);
  require(!image_shape.empty(), "Problem::image_shape: expected e.g. {{1,28,28}}, got {{}}");
  for (auto size : image_shape) {
    require(size >= 1, "Problem::image_shape = {}. Violated constraint: sizes >= 1",
            shape_string(image_shape));
  }
  require(sample_seeds.empty() || static_cast<int64_t>(sample_seeds.size()) == batch_size(),
          "Problem::sample_seeds: expected one seed per sample ({}), got {}", batch_size(),
          sample_seeds.size());
  if (labels.defined()) {
    require(
        labels.dim() == 1 && labels.size(0) == batch_size() && labels.scalar_type() == at::kLong,
        "Problem::labels: expected int64 labels of shape [{}], got {} of dtype {}", batch_size(),
        shape_string(labels), c10::toString(labels.scalar_type()));
  }
  if (start_image.defined()) {
    check_floating(start_image, "Problem::validate()", "start_image");
    auto expected = batch_shape();
    const bool per_sample = start_image.sizes() == at::IntArrayRef(expected);
    expected[0] = 1;
    require(per_sample || start_image.sizes() == at::IntArrayRef(expected),
            "Problem::start_image: expected shape [{},{}] or [1,{}], got {}", batch_size(),
            fmt::join(image_shape, ","), fmt::join(image_shape, ","), shape_string(start_image));
    check_finite(start_image, "Problem::validate()", "start_image");
  }
  at::NoGradGuard no_grad;
  const auto image = at::zeros(batch_shape(), measurement.options());
  const auto predicted = forward_operator->apply(image);
  require(predicted.sizes() == measurement.sizes(),
          "Problem: {} maps images of shape {} to {}, but the measurement has shape {}",
          forward_operator->name(), shape_string(image), shape_string(predicted),
          shape_string(measurement));
}

}  // namespace mapinverse
