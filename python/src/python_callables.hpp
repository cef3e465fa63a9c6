#pragma once

// Denoisers, consistency models, raw networks, forward operators and callbacks whose
// computation is a Python callable: a torch.nn.Module, a method of a deepinv Physics
// object, a plain function. The solvers run without the GIL (Solver.solve releases it);
// each call into Python takes it for the call and nothing else, so the C++ loops, and
// autograd's backward passes through the graphs the callables built, run without it.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "bindings.hpp"
#include "mapinverse/models/consistency_model.hpp"
#include "mapinverse/models/denoiser.hpp"
#include "mapinverse/models/network.hpp"
#include "mapinverse/operators/forward_operator.hpp"
#include "mapinverse/solvers/iteration.hpp"

namespace mapinverse::python {

/// A Python callable owned from C++. Calls take the GIL; the last reference is dropped
/// under the GIL, on whichever thread drops it.
class PythonFunction {
 public:
  PythonFunction() = default;
  /// `function` may be None (is_none() then says so); anything else must be callable.
  PythonFunction(py::object function, const std::string& role);

  bool is_none() const { return function_ == nullptr; }

  /// Calls the function with the GIL held and returns its result, which must be a
  /// torch.Tensor (TypeError otherwise). `where` names the caller in messages.
  template <typename... Args>
  at::Tensor call_for_tensor(const std::string& where, Args&&... args) const {
    py::gil_scoped_acquire gil;
    const py::object result = (*function_)(std::forward<Args>(args)...);
    return as_tensor(result, where);
  }

  /// Calls the function with the GIL held and passes its result to `read` (GIL held).
  template <typename Read, typename... Args>
  auto call(Read&& read, Args&&... args) const {
    py::gil_scoped_acquire gil;
    const py::object result = (*function_)(std::forward<Args>(args)...);
    return read(result);
  }

 private:
  static at::Tensor as_tensor(const py::object& result, const std::string& where);

  std::shared_ptr<py::object> function_;
};

/// D(x, sigma) computed by `function(x, sigma)` (sigma: [B], x's dtype and device), or
/// `function(x, sigma, labels)` when the problem has class labels.
class PythonDenoiser final : public Denoiser {
 public:
  PythonDenoiser(py::object function, int64_t network_calls);
  int64_t network_calls_per_evaluation() const override { return network_calls_; }

 protected:
  at::Tensor evaluate(const at::Tensor& x, const at::Tensor& sigma,
                      const at::Tensor& labels) const override;

 private:
  PythonFunction function_;
  int64_t network_calls_;
};

/// C(z, t) computed by `function(z, t)` or `function(z, t, labels)`, t: [B]; the
/// boundary condition C(z, epsilon) = z is the function's responsibility.
class PythonConsistency final : public ConsistencyModel {
 public:
  PythonConsistency(py::object function, double epsilon, int64_t network_calls);
  double epsilon() const override { return epsilon_; }
  int64_t network_calls_per_evaluation() const override { return network_calls_; }

 protected:
  at::Tensor evaluate(const at::Tensor& z, const at::Tensor& t,
                      const at::Tensor& labels) const override;

 private:
  PythonFunction function_;
  double epsilon_;
  int64_t network_calls_;
};

/// A raw network F(x_in, c_noise[, labels]) for EDM or consistency preconditioning.
class PythonNetwork final : public Network {
 public:
  explicit PythonNetwork(py::object function) : function_(std::move(function), "network") {}
  at::Tensor forward(const at::Tensor& x_in, const at::Tensor& noise_input,
                     const at::Tensor& labels) const override;

 private:
  PythonFunction function_;
};

/// A (non-linear) forward operator A(x) = apply(x); vjp(x, v) when given, otherwise
/// autograd through apply.
class PythonOperator final : public ForwardOperator {
 public:
  PythonOperator(py::object apply, py::object vjp, std::string name);
  at::Tensor apply(const at::Tensor& x) const override;
  at::Tensor vjp(const at::Tensor& x, const at::Tensor& v) const override;
  std::string name() const override { return name_; }

 private:
  PythonFunction apply_;
  PythonFunction vjp_;
  std::string name_;
};

/// A linear operator H from apply(x) = H x and adjoint(y) = H^T y; solve_gram(r, a, b) =
/// (a I + b H H^T)^{-1} r when given, otherwise conjugate gradients.
class PythonLinearOperator final : public LinearOperator {
 public:
  PythonLinearOperator(py::object apply, py::object adjoint, py::object solve_gram,
                       std::string name, const ConjugateGradientOptions& cg_options);
  at::Tensor apply(const at::Tensor& x) const override;
  at::Tensor adjoint(const at::Tensor& y) const override;
  at::Tensor solve_gram(const at::Tensor& r, double a, double b) const override;
  std::string name() const override { return name_; }

 private:
  PythonFunction apply_;
  PythonFunction adjoint_;
  PythonFunction solve_gram_;
  std::string name_;
};

/// An iteration callback that calls `function(IterationSummary)`: None or
/// CallbackResult.CONTINUE continues, CallbackResult.STOP stops.
IterationCallback python_callback(py::object function);

}  // namespace mapinverse::python
