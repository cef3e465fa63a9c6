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

/// ReverseSchedule's and ReverseStepOptions' fields, flattened.
template <typename Options, typename Class>
void add_reverse_fields(Class& cls) {
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
          [](Options& o, double v) { o.schedule.rho = v; })
      .def_property(
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
      .def_readwrite("consistency_source", &MapGa::Options::consistency_source)
      .def_readwrite("learning_rate", &MapGa::Options::learning_rate);
  add_optimizer<MapGa::Options>(cls);
  set_fields(cls, {"num_time_steps", "num_iter", "t_max", "rho", "stop_sigma", "use_prior",
                   "consistency_source", "learning_rate", "optimizer"});
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
      .def_readwrite("pgdm_steps", &MapGaPgdm::Options::pgdm_steps)
      .def_readwrite("sigma_d", &MapGaPgdm::Options::sigma_d);
  add_optimizer<MapGaPgdm::Options>(cls);
  set_fields(cls, {"num_time_steps", "num_iter", "t_max", "rho", "consistency_source",
                   "learning_rate", "optimizer", "pgdm_steps", "sigma_d"});
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
}

}  // namespace mapinverse::python
