#pragma once

// MAP-GA's ascent rules by name, with their default options: the one mapping that the
// `mapinverse` tool (--optimizer) and the Python package (optimizer="adam") share.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mapinverse/optimizers/optimizer.hpp"

namespace mapinverse {

/// "gd" (GradientAscent, paper eq. 12), "momentum" (Momentum) and "adam" (Adam).
const std::vector<std::string>& optimizer_names();

/// The optimizer of that name with its default options. Throws std::invalid_argument
/// naming the unknown name and the known ones.
std::shared_ptr<const Optimizer> make_optimizer(std::string_view name);

}  // namespace mapinverse
