#include <memory>
#include <string>
#include <vector>

#include "mapinverse/solvers/registry.hpp"
#include "solver_options.hpp"

namespace mapinverse::python {

namespace {

/// Each options class lists its attributes in `fields`, for messages about unknown ones.
template <typename Class>
void set_fields(Class& cls, std::vector<std::string> fields) {
  cls.attr("fields") = py::tuple(py::cast(fields));
}

/// The optimizer, a shared_ptr<const Optimizer> in the options, as a Python attribute.
template <typename Options, typename Class>
void add_optimizer(Class& cls) {
  cls.def_property(
      "optimizer", [](const Options& o) { return unconst(o.optimizer); },
      [](Options& o, std::shared_ptr<Optimizer> optimizer) { o.optimizer = optimizer; });
}

/// ReverseSchedule's fields, flattened.
template <typename Options, typename Class>
void add_schedule_fields(Class& cls) {
  cls.def_property(
         "num_steps", [](const Options& o) { return o.schedule.num_steps; },
         [](Options& o, int64_t v) { o.schedule.num_steps = v; })
      .def_property(
          "t_max", [](const Options& o) { return o.schedule.t_max; },
          [](Options& o, double v) { o.schedule.t_max = v; })
      .def_property(
          "t_min", [](const Options& o) { return o.schedule.t_min; },
          [](Options& o, double v) { o.schedule.t_min = v; })
      .def_property(
          "rho", [](const Options& o) { return o.schedule.rho; },
          [](Options& o, double v) { o.schedule.rho = v; });
}

/// ReverseSchedule's and ReverseStepOptions' fields, flattened.
template <typename Options, typename Class>
void add_reverse_fields(Class& cls) {
  add_schedule_fields<Options>(cls);
  cls.def_property(
         "update", [](const Options& o) { return o.step.update; },
         [](Options& o, ReverseUpdate v) { o.step.update = v; })
      .def_property(
          "eta", [](const Options& o) { return o.step.eta; },
          [](Options& o, double v) { o.step.eta = v; });
}

void bind_map_ga(py::module_& m) {
  py::class_<MapGa::Options> cls(m, "MapGaOptions");
  cls.def(py::init<>())
      .def_readwrite("num_time_steps", &MapGa::Options::num_time_steps)
      .def_readwrite("num_iter", &MapGa::Options::num_iter)
      .def_readwrite("t_max", &MapGa::Options::t_max)
      .def_readwrite("rho", &MapGa::Options::rho)
      .def_readwrite("stop_sigma", &MapGa::Options::stop_sigma)
      .def_readwrite("use_prior", &MapGa::Options::use_prior)
      .def_readwrite("prior_at_noise_level", &MapGa::Options::prior_at_noise_level)
      .def_readwrite("consistency_source", &MapGa::Options::consistency_source)
      .def_readwrite("learning_rate", &MapGa::Options::learning_rate)
      .def_readwrite("learning_rate_decay", &MapGa::Options::learning_rate_decay);
  add_optimizer<MapGa::Options>(cls);
  set_fields(cls, {"num_time_steps", "num_iter", "t_max", "rho", "stop_sigma", "use_prior",
                   "prior_at_noise_level", "consistency_source", "learning_rate",
                   "learning_rate_decay", "optimizer"});
}

void bind_map_ga_pgdm(py::module_& m) {
  py::class_<MapGaPgdm::Options> cls(m, "MapGaPgdmOptions");
  cls.def(py::init<>())
      .def_readwrite("num_time_steps", &MapGaPgdm::Options::num_time_steps)
      .def_readwrite("num_iter", &MapGaPgdm::Options::num_iter)
      .def_readwrite("t_max", &MapGaPgdm::Options::t_max)
      .def_readwrite("rho", &MapGaPgdm::Options::rho)
      .def_readwrite("consistency_source", &MapGaPgdm::Options::consistency_source)
      .def_readwrite("learning_rate", &MapGaPgdm::Options::learning_rate)
      .def_readwrite("learning_rate_decay", &MapGaPgdm::Options::learning_rate_decay)
      .def_readwrite("pgdm_steps", &MapGaPgdm::Options::pgdm_steps)
      .def_readwrite("sigma_d", &MapGaPgdm::Options::sigma_d);
  add_optimizer<MapGaPgdm::Options>(cls);
  set_fields(cls, {"num_time_steps", "num_iter", "t_max", "rho", "consistency_source",
                   "learning_rate", "learning_rate_decay", "optimizer", "pgdm_steps", "sigma_d"});
}

void bind_pgdm(py::module_& m) {
  py::class_<Pgdm::Options> cls(m, "PgdmOptions");
  cls.def(py::init<>()).def_readwrite("sigma_d", &Pgdm::Options::sigma_d);
  add_reverse_fields<Pgdm::Options>(cls);
  set_fields(cls, {"num_steps", "t_max", "t_min", "rho", "update", "eta", "sigma_d"});
}

void bind_dps(py::module_& m) {
  py::class_<Dps::Options> cls(m, "DpsOptions");
  cls.def(py::init<>()).def_readwrite("zeta", &Dps::Options::zeta);
  add_reverse_fields<Dps::Options>(cls);
  set_fields(cls, {"num_steps", "t_max", "t_min", "rho", "update", "eta", "zeta"});
}

void bind_ddrm(py::module_& m) {
  py::class_<Ddrm::Options> cls(m, "DdrmOptions");
  cls.def(py::init<>())
      .def_readwrite("eta", &Ddrm::Options::eta)
      .def_readwrite("eta_b", &Ddrm::Options::eta_b)
      .def_readwrite("eta_null", &Ddrm::Options::eta_null);
  add_schedule_fields<Ddrm::Options>(cls);
  set_fields(cls, {"num_steps", "t_max", "t_min", "rho", "eta", "eta_b", "eta_null"});
}

void bind_diffpir(py::module_& m) {
  py::class_<DiffPir::Options> cls(m, "DiffPirOptions");
  cls.def(py::init<>())
      .def_readwrite("lambda_", &DiffPir::Options::lambda)
      .def_readwrite("zeta", &DiffPir::Options::zeta);
  add_schedule_fields<DiffPir::Options>(cls);
  set_fields(cls, {"num_steps", "t_max", "t_min", "rho", "lambda_", "zeta"});
}

void bind_daps(py::module_& m) {
  py::class_<Daps::Options> cls(m, "DapsOptions");
  cls.def(py::init<>())
      .def_readwrite("ode_steps", &Daps::Options::ode_steps)
      .def_readwrite("ode_sigma_min", &Daps::Options::ode_sigma_min)
      .def_readwrite("langevin_steps", &Daps::Options::langevin_steps)
      .def_readwrite("langevin_step_fraction", &Daps::Options::langevin_step_fraction)
      .def_readwrite("langevin_step_size", &Daps::Options::langevin_step_size)
      .def_readwrite("step_size_floor", &Daps::Options::step_size_floor)
      .def_readwrite("cool_langevin", &Daps::Options::cool_langevin)
      .def_readwrite("tau", &Daps::Options::tau)
      .def_readwrite("tau_floor", &Daps::Options::tau_floor);
  add_schedule_fields<Daps::Options>(cls);
  set_fields(cls, {"num_steps", "t_max", "t_min", "rho", "ode_steps", "ode_sigma_min",
                   "langevin_steps", "langevin_step_fraction", "langevin_step_size",
                   "step_size_floor", "cool_langevin", "tau", "tau_floor"});
}

// The map-ga-tuned preset's options: PGDM's, then MAP-GA's (noiseless problems) or
// MAP-GA-PGDM's (noisy ones).
void bind_warm_started_map_ga(py::module_& m) {
  py::class_<WarmStartedMapGa::Options> cls(m, "WarmStartedMapGaOptions");
  cls.def(py::init<>())
      .def_readwrite("warm_start", &WarmStartedMapGa::Options::warm_start)
      .def_readwrite("map_ga", &WarmStartedMapGa::Options::map_ga)
      .def_readwrite("map_ga_pgdm", &WarmStartedMapGa::Options::map_ga_pgdm);
  set_fields(cls, {"warm_start", "map_ga", "map_ga_pgdm"});
  m.def("tuned_map_ga_options", &tuned_map_ga_options);
}

}  // namespace

void bind_solver_options(py::module_& m) {
  py::enum_<ConsistencySource>(m, "ConsistencySource")
      .value("consistency_model", ConsistencySource::kConsistencyModel)
      .value("denoiser", ConsistencySource::kDenoiser);
  py::enum_<ReverseUpdate>(m, "ReverseUpdate")
      .value("ddim", ReverseUpdate::kDdim)
      .value("renoise", ReverseUpdate::kRenoise);
  bind_map_ga(m);
  bind_map_ga_pgdm(m);
  bind_pgdm(m);
  bind_dps(m);
  bind_ddrm(m);
  bind_diffpir(m);
  bind_daps(m);
  bind_warm_started_map_ga(m);
}

}  // namespace mapinverse::python
