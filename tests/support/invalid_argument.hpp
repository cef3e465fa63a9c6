#pragma once

#include <stdexcept>
#include <string>

namespace mapinverse::testing {

/// The message of the std::invalid_argument that `action` throws, or a note that it threw none.
template <typename Action>
std::string invalid_argument_message(Action&& action) {
  try {
    action();
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "no std::invalid_argument thrown";
}

}  // namespace mapinverse::testing
