#include "mapinverse/optimizers/by_name.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/optimizers/adam.hpp"
#include "mapinverse/optimizers/gradient_ascent.hpp"
#include "mapinverse/optimizers/momentum.hpp"

namespace mapinverse {

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names{"gd", "momentum", "adam"};
  return names;
}

std::shared_ptr<const Optimizer> make_optimizer(std::string_view name) {
  if (name == "gd") return std::make_shared<GradientAscent>();
  if (name == "momentum") return std::make_shared<Momentum>(Momentum::Options{});
  if (name == "adam") return std::make_shared<Adam>(Adam::Options{});
  require(false, "make_optimizer(): unknown optimizer '{}'; expected one of {}", name,
          fmt::join(optimizer_names(), ", "));
  return nullptr;
}

}  // namespace mapinverse
