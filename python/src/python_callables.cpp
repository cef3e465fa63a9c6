#include "python_callables.hpp"

#include <cmath>

#include <fmt/format.h>
#include <torch/csrc/autograd/python_variable.h>

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/models/preconditioning.hpp"

namespace mapinverse::python {

namespace {

// Holds the reference with the GIL and drops it with the GIL. Once the interpreter is
// gone there is nothing left to release the object to.
std::shared_ptr<py::object> own(py::object function) {
  return std::shared_ptr<py::object>(new py::object(std::move(function)), [](py::object* object) {
    if (Py_IsInitialized()) {
      py::gil_scoped_acquire gil;
      delete object;
    } else {
      object->release();
      delete object;
    }
  });
}

/// The per-sample noise levels or times as the [B] vector the callables receive.
at::Tensor per_sample_vector(const at::Tensor& value, int64_t batch) {
  return detail::noise_input_vector(value, batch).contiguous();
}

void check_same_shape(const at::Tensor& result, const at::Tensor& input, const char* where,
                      const char* input_name) {
  require(result.sizes() == input.sizes(),
          "{}: the Python callable returned a tensor of shape {}, expected {}'s shape {}", where,
          shape_string(result), input_name, shape_string(input));
}

}  // namespace

PythonFunction::PythonFunction(py::object function, const std::string& role) {
  if (function.is_none()) return;
  if (!PyCallable_Check(function.ptr())) {
    throw py::type_error(fmt::format("expected a callable as {}, got an object of type {}", role,
                                     py::str(py::type::of(function)).cast<std::string>()));
  }
  function_ = own(std::move(function));
}

at::Tensor PythonFunction::as_tensor(const py::object& result, const std::string& where) {
  if (!THPVariable_Check(result.ptr())) {
    throw py::type_error(fmt::format("{}: the Python callable returned {}, expected a torch.Tensor",
                                     where, py::str(py::type::of(result)).cast<std::string>()));
  }
  return THPVariable_Unpack(result.ptr());
}

PythonDenoiser::PythonDenoiser(py::object function, int64_t network_calls)
    : function_(std::move(function), "a denoiser"), network_calls_(network_calls) {
  require(!function_.is_none(), "Denoiser(): expected a callable, got None");
  require(network_calls >= 1, "Denoiser(): network_calls = {}. Violated constraint: >= 1",
          network_calls);
}

at::Tensor PythonDenoiser::evaluate(const at::Tensor& x, const at::Tensor& sigma,
                                    const at::Tensor& labels) const {
  constexpr const char* where = "Denoiser (Python callable)";
  const auto sigmas = per_sample_vector(sigma, x.size(0));
  const auto result = labels.defined() ? function_.call_for_tensor(where, x, sigmas, labels)
                                       : function_.call_for_tensor(where, x, sigmas);
  check_same_shape(result, x, where, "x");
  return result;
}

PythonConsistency::PythonConsistency(py::object function, double epsilon, int64_t network_calls)
    : function_(std::move(function), "a consistency model"),
      epsilon_(epsilon),
      network_calls_(network_calls) {
  require(!function_.is_none(), "ConsistencyModel(): expected a callable, got None");
  require(std::isfinite(epsilon) && epsilon > 0.0,
          "ConsistencyModel(): epsilon = {}. Violated constraint: epsilon > 0", epsilon);
  require(network_calls >= 1, "ConsistencyModel(): network_calls = {}. Violated constraint: >= 1",
          network_calls);
}

at::Tensor PythonConsistency::evaluate(const at::Tensor& z, const at::Tensor& t,
                                       const at::Tensor& labels) const {
  constexpr const char* where = "ConsistencyModel (Python callable)";
  const auto times = per_sample_vector(t, z.size(0));
  const auto result = labels.defined() ? function_.call_for_tensor(where, z, times, labels)
                                       : function_.call_for_tensor(where, z, times);
  check_same_shape(result, z, where, "z");
  return result;
}

at::Tensor PythonNetwork::forward(const at::Tensor& x_in, const at::Tensor& noise_input,
                                  const at::Tensor& labels) const {
  constexpr const char* where = "network (Python callable)";
  const auto result = labels.defined() ? function_.call_for_tensor(where, x_in, noise_input, labels)
                                       : function_.call_for_tensor(where, x_in, noise_input);
  check_same_shape(result, x_in, where, "x_in");
  return result;
}

PythonOperator::PythonOperator(py::object apply, py::object vjp, std::string name)
    : apply_(std::move(apply), "apply"), vjp_(std::move(vjp), "vjp"), name_(std::move(name)) {
  require(!apply_.is_none(), "ForwardOperator(): expected a callable apply, got None");
}

at::Tensor PythonOperator::apply(const at::Tensor& x) const {
  return apply_.call_for_tensor(fmt::format("{}.apply()", name_), x);
}

at::Tensor PythonOperator::vjp(const at::Tensor& x, const at::Tensor& v) const {
  if (vjp_.is_none()) return ForwardOperator::vjp(x, v);
  const auto where = fmt::format("{}.vjp()", name_);
  const auto result = vjp_.call_for_tensor(where, x, v);
  check_same_shape(result, x, where.c_str(), "x");
  return result.detach();
}

PythonLinearOperator::PythonLinearOperator(py::object apply, py::object adjoint,
                                           py::object solve_gram, std::string name,
                                           const ConjugateGradientOptions& cg_options)
    : LinearOperator(cg_options),
      apply_(std::move(apply), "apply"),
      adjoint_(std::move(adjoint), "adjoint"),
      solve_gram_(std::move(solve_gram), "solve_gram"),
      name_(std::move(name)) {
  require(!apply_.is_none(), "LinearOperator(): expected a callable apply, got None");
  require(!adjoint_.is_none(), "LinearOperator(): expected a callable adjoint, got None");
}

at::Tensor PythonLinearOperator::apply(const at::Tensor& x) const {
  return apply_.call_for_tensor(fmt::format("{}.apply()", name_), x);
}

at::Tensor PythonLinearOperator::adjoint(const at::Tensor& y) const {
  return adjoint_.call_for_tensor(fmt::format("{}.adjoint()", name_), y);
}

at::Tensor PythonLinearOperator::solve_gram(const at::Tensor& r, double a, double b) const {
  const auto where = fmt::format("{}.solve_gram()", name_);
  check_gram_coefficients(a, b, where);
  if (solve_gram_.is_none()) return LinearOperator::solve_gram(r, a, b);
  const auto result = solve_gram_.call_for_tensor(where, r, a, b);
  check_same_shape(result, r, where.c_str(), "r");
  return result;
}

IterationCallback python_callback(py::object function) {
  PythonFunction callback(std::move(function), "a callback");
  require(!callback.is_none(), "Solver.solve(): expected callables as callbacks, got None");
  return [callback](const IterationSummary& summary) {
    return callback.call(
        [](const py::object& result) {
          if (result.is_none()) return CallbackResult::kContinue;
          if (!py::isinstance<CallbackResult>(result)) {
            throw py::type_error(
                fmt::format("a callback returned {}, expected None or a CallbackResult",
                            py::str(py::type::of(result)).cast<std::string>()));
          }
          return result.cast<CallbackResult>();
        },
        summary);
  };
}

}  // namespace mapinverse::python
