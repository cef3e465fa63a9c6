// What the tool does when something fails: it names what it was doing, and it explains
// running out of memory in terms of the options that decide how much is needed.

#include <new>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "limits.hpp"
#include "setup.hpp"

namespace mapinverse::cli {

namespace {

std::string& activity() {
  static std::string value = "starting";
  return value;
}

}  // namespace

void set_activity(std::string description) { activity() = std::move(description); }

const std::string& current_activity() { return activity(); }

namespace {

/// Whether a LibTorch error is an allocation failure: c10's OutOfMemoryError, or a CUDA
/// library that could not allocate its workspace (cuBLAS, cuDNN).
bool is_out_of_memory(const c10::Error& error) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&error) != nullptr) return true;
  const std::string text = error.what_without_backtrace();
  return text.find("out of memory") != std::string::npos ||
         text.find("ALLOC_FAILED") != std::string::npos;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

Summary solve_or_explain_memory(const Solver& solver, const Problem& problem,
                                const std::vector<IterationCallback>& callbacks,
                                const torch::Device& device, const std::string& advice) {
  const int64_t images = problem.measurement.size(0);
  const auto explain = [&](const std::string& cause) {
    return std::runtime_error(
        fmt::format("out of memory on {} while solving {} image(s) at once "
                    "({}); {}",
                    device.str(), images, cause, advice));
  };
  try {
    return solver.solve(problem, callbacks);
  } catch (const c10::Error& error) {
    if (!is_out_of_memory(error)) throw;
    throw explain(first_line(error.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    throw explain("std::bad_alloc");
  }
}

}  // namespace mapinverse::cli
