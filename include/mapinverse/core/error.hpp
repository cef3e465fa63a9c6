#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace mapinverse {

/// Raised when a solver's iterate or an intermediate quantity becomes NaN or
/// infinite. The message names the solver, the step and the noise level.
class NumericalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws std::invalid_argument with a formatted message when `condition` fails: the
/// check every option, operator and model of the library runs on its input, public for
/// code that extends it, e.g. require(k >= 1, "MyOperator: k = {}. Violated constraint:
/// k >= 1", k).
template <typename... Args>
void require(bool condition, fmt::format_string<Args...> format, Args&&... args) {
  if (!condition) {
    throw std::invalid_argument(fmt::format(format, std::forward<Args>(args)...));
  }
}

}  // namespace mapinverse
