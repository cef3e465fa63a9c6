// Problem, the solvers by name (the registry) with their typed options, Summary and
// callbacks. Solver.solve releases the GIL for the whole solve.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bindings.hpp"
#include "mapinverse/optimizers/adam.hpp"
#include "mapinverse/optimizers/by_name.hpp"
#include "mapinverse/optimizers/gradient_ascent.hpp"
#include "mapinverse/optimizers/momentum.hpp"
#include "mapinverse/solvers/problem.hpp"
#include "mapinverse/solvers/registry.hpp"
#include "python_callables.hpp"
#include "solver_options.hpp"

namespace mapinverse::python {

namespace {

/// A callback implemented in C++ (no GIL needed), e.g. stop_when_residual_below().
struct NativeCallback {
  IterationCallback function;
  std::string description;
};

std::vector<IterationCallback> to_callbacks(const py::object& callbacks) {
  std::vector<IterationCallback> result;
  if (callbacks.is_none()) return result;
  for (const auto& item : callbacks) {
    if (py::isinstance<NativeCallback>(item)) {
      result.push_back(item.cast<const NativeCallback&>().function);
    } else {
      result.push_back(python_callback(py::reinterpret_borrow<py::object>(item)));
    }
  }
  return result;
}

void bind_problem(py::module_& m) {
  py::class_<Problem>(m, "Problem")
      .def(py::init([](at::Tensor measurement, std::shared_ptr<ForwardOperator> forward_operator,
                       double sigma_y, std::optional<std::vector<int64_t>> image_shape,
                       std::optional<at::Tensor> labels, uint64_t seed,
                       std::vector<uint64_t> sample_seeds, std::optional<at::Tensor> start_image) {
             Problem problem;
             problem.measurement = std::move(measurement);
             problem.forward_operator = std::move(forward_operator);
             problem.sigma_y = sigma_y;
             // Unset: the measurement's own per-sample shape (operators that keep the
             // image's shape: inpainting, blur).
             problem.image_shape = image_shape.value_or(
                 problem.measurement.defined() ? problem.measurement.sizes().slice(1).vec()
                                               : std::vector<int64_t>{});
             problem.labels = labels.value_or(at::Tensor());
             problem.seed = seed;
             problem.sample_seeds = std::move(sample_seeds);
             problem.start_image = start_image.value_or(at::Tensor());
             return problem;
           }),
           py::arg("measurement"), py::arg("forward_operator"), py::kw_only(),
           py::arg("sigma_y") = 0.0, py::arg("image_shape") = py::none(),
           py::arg("labels") = py::none(), py::arg("seed") = 0,
           py::arg("sample_seeds") = std::vector<uint64_t>{}, py::arg("start_image") = py::none())
      .def_readwrite("measurement", &Problem::measurement)
      .def_property(
          "forward_operator", [](const Problem& p) { return unconst(p.forward_operator); },
          [](Problem& p, std::shared_ptr<ForwardOperator> op) { p.forward_operator = op; })
      .def_readwrite("sigma_y", &Problem::sigma_y)
      .def_readwrite("image_shape", &Problem::image_shape)
      .def_readwrite("labels", &Problem::labels)
      .def_readwrite("seed", &Problem::seed)
      .def_readwrite("sample_seeds", &Problem::sample_seeds)
      .def_readwrite("start_image", &Problem::start_image)
      .def_property_readonly("batch_size", &Problem::batch_size)
      .def("validate", &Problem::validate, py::call_guard<py::gil_scoped_release>());
}

void bind_results(py::module_& m) {
  py::enum_<CallbackResult>(m, "CallbackResult")
      .value("CONTINUE", CallbackResult::kContinue)
      .value("STOP", CallbackResult::kStop);
  py::enum_<TerminationReason>(m, "TerminationReason")
      .value("COMPLETED", TerminationReason::kCompleted)
      .value("STOPPED_BY_CALLBACK", TerminationReason::kStoppedByCallback);

  py::class_<IterationSummary>(m, "IterationSummary")
      .def_readonly("step", &IterationSummary::step)
      .def_readonly("total_steps", &IterationSummary::total_steps)
      .def_readonly("time", &IterationSummary::time)
      .def_readonly("sigma", &IterationSummary::sigma)
      .def_readonly("residual_norm", &IterationSummary::residual_norm)
      .def_readonly("objective", &IterationSummary::objective)
      .def_readonly("network_forwards", &IterationSummary::network_forwards)
      .def_readonly("network_vjps", &IterationSummary::network_vjps)
      .def_readonly("elapsed_time_in_seconds", &IterationSummary::elapsed_time_in_seconds)
      .def("__repr__", [](const IterationSummary& s) {
        return fmt::format("IterationSummary(step={}/{}, time={:.5g}, residual_norm={:.6g})",
                           s.step, s.total_steps, s.time, s.residual_norm);
      });

  py::class_<Summary>(m, "Summary")
      .def_readonly("solver_name", &Summary::solver_name)
      .def_readonly("estimate", &Summary::estimate)
      .def_readonly("termination", &Summary::termination)
      .def_readonly("network_forwards", &Summary::network_forwards)
      .def_readonly("network_vjps", &Summary::network_vjps)
      .def_property_readonly("network_evaluations", &Summary::network_evaluations)
      .def_readonly("history", &Summary::history)
      .def_readonly("total_time_in_seconds", &Summary::total_time_in_seconds)
      .def("brief_report", &Summary::brief_report)
      .def("full_report", &Summary::full_report, py::arg("max_rows") = 25)
      .def("__repr__", [](const Summary& s) { return "<Summary " + s.brief_report() + ">"; });

  py::class_<NativeCallback>(m, "NativeCallback").def("__repr__", [](const NativeCallback& c) {
    return "<NativeCallback " + c.description + ">";
  });
  m.def(
      "stop_when_residual_below",
      [](double threshold) {
        return NativeCallback{stop_when_residual_below(threshold),
                              fmt::format("stop_when_residual_below({})", threshold)};
      },
      py::arg("threshold"));
}

void bind_optimizers(py::module_& m) {
  py::class_<Optimizer, std::shared_ptr<Optimizer>>(m, "Optimizer")
      .def_property_readonly("name", &Optimizer::name);
  py::class_<GradientAscent, Optimizer, std::shared_ptr<GradientAscent>>(m, "GradientAscent")
      .def(py::init<>());
  py::class_<Momentum, Optimizer, std::shared_ptr<Momentum>>(m, "Momentum")
      .def(py::init([](double momentum, bool nesterov) {
             return std::make_shared<Momentum>(Momentum::Options{momentum, nesterov});
           }),
           py::arg("momentum") = 0.9, py::arg("nesterov") = false);
  py::class_<Adam, Optimizer, std::shared_ptr<Adam>>(m, "Adam").def(
      py::init([](double beta1, double beta2, double epsilon) {
        return std::make_shared<Adam>(Adam::Options{beta1, beta2, epsilon});
      }),
      py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("epsilon") = 1e-8);
}

void bind_optimizer_names(py::module_& m) {
  m.def("optimizer_names", &optimizer_names, "The optimizers by name: gd, momentum, adam.");
  m.def(
      "make_optimizer", [](const std::string& name) { return unconst(make_optimizer(name)); },
      py::arg("name"), "The optimizer of that name with its default options.");
}

void bind_settings(py::module_& m) {
  py::class_<SolverSettings>(m, "SolverSettings")
      .def(py::init<>())
      .def_readwrite("time_steps", &SolverSettings::time_steps)
      .def_readwrite("iterations", &SolverSettings::iterations)
      .def_readwrite("steps", &SolverSettings::steps)
      .def_readwrite("ode_steps", &SolverSettings::ode_steps)
      .def_readwrite("learning_rate", &SolverSettings::learning_rate)
      .def_property(
          "optimizer", [](const SolverSettings& s) { return unconst(s.optimizer); },
          [](SolverSettings& s, std::shared_ptr<Optimizer> o) { s.optimizer = o; })
      .def_readwrite("zeta", &SolverSettings::zeta)
      .def_readwrite("t_max", &SolverSettings::t_max);
}

PriorModels prior_models(std::shared_ptr<Denoiser> denoiser,
                         std::shared_ptr<ConsistencyModel> consistency) {
  return PriorModels{std::move(denoiser), std::move(consistency)};
}

void bind_registry(py::module_& m) {
  m.def("registered_solvers", [] {
    std::vector<std::pair<std::string, std::string>> list;
    for (const auto& solver : registered_solvers())
      list.emplace_back(solver.name, solver.description);
    return list;
  });
  m.def("solver_names", &solver_names);
  // The typed options a name stands for, or None when their class has no Python binding
  // (a solver class added to the registry since): make_solver_by_name still builds it.
  m.def(
      "solver_options",
      [](const std::string& name, const SolverSettings& settings) -> py::object {
        const auto options = solver_options(name, settings);
        return std::visit(
            [](const auto& typed) -> py::object {
              try {
                return py::cast(typed);
              } catch (const py::cast_error&) {
                return py::none();
              } catch (const py::error_already_set&) {
                return py::none();
              }
            },
            options);
      },
      py::arg("name"), py::arg("settings"));
  m.def(
      "make_solver",
      [](const SolverOptions& options, std::shared_ptr<Denoiser> denoiser,
         std::shared_ptr<ConsistencyModel> consistency) {
        return unconst(make_solver(prior_models(denoiser, consistency), options));
      },
      py::arg("options"), py::arg("denoiser"), py::arg("consistency"));
  m.def(
      "make_solver_by_name",
      [](const std::string& name, const SolverSettings& settings,
         std::shared_ptr<Denoiser> denoiser, std::shared_ptr<ConsistencyModel> consistency) {
        return unconst(make_solver(name, prior_models(denoiser, consistency), settings));
      },
      py::arg("name"), py::arg("settings"), py::arg("denoiser"), py::arg("consistency"));
}

void bind_solver(py::module_& m) {
  py::class_<Solver, std::shared_ptr<Solver>>(m, "Solver")
      .def(
          "solve",
          [](const Solver& solver, const Problem& problem, const py::object& callbacks) {
            auto hooks = to_callbacks(callbacks);
            const Problem copy = problem;  // Python may change its Problem meanwhile
            py::gil_scoped_release release;
            return solver.solve(copy, hooks);
          },
          py::arg("problem"), py::arg("callbacks") = py::none())
      .def_property_readonly("name", &Solver::name)
      .def("name_at_noise", &Solver::name_at_noise, py::arg("sigma_y"),
           "The method that runs at measurement noise sigma_y (the tuned preset has two).")
      .def("__repr__", [](const Solver& s) { return "<mapinverse.Solver " + s.name() + ">"; });
}

}  // namespace

void bind_solvers(py::module_& m) {
  bind_problem(m);
  bind_results(m);
  bind_optimizers(m);
  bind_optimizer_names(m);
  bind_settings(m);
  bind_solver_options(m);
  bind_registry(m);
  bind_solver(m);
}

}  // namespace mapinverse::python
