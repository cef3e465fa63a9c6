// Priors: the Denoiser and ConsistencyModel interfaces (also from Python callables), the
// shipped Fashion-MNIST networks and Gaussian mixture, adapters, TorchScript loaders.

#include <memory>
#include <optional>
#include <string>

#include "bindings.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/models/denoiser_as_consistency.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/models/ode_consistency.hpp"
#include "mapinverse/models/pretrained.hpp"
#include "mapinverse/models/torchscript.hpp"
#include "python_callables.hpp"

namespace mapinverse::python {

namespace {

using ReleaseGil = py::call_guard<py::gil_scoped_release>;

/// A torch.device, a string such as "cpu" or "cuda:0", or None (the CPU).
at::Device to_device(const py::object& device) {
  if (device.is_none()) return at::kCPU;
  return py::module_::import("torch").attr("device")(device).cast<at::Device>();
}

TorchScriptForm torchscript_form(const std::string& form, const char* where) {
  if (form == "edm") return TorchScriptForm::kEdmNetwork;
  if (form == "openai") return TorchScriptForm::kOpenAiNetwork;
  require(form == "ready", "{}: form = '{}'; expected 'edm', 'openai' or 'ready'", where, form);
  return TorchScriptForm::kReady;
}

std::shared_ptr<Denoiser> denoiser_from_callable(py::object function, const std::string& form,
                                                 double sigma_data, int64_t network_calls) {
  if (form == "ready") return std::make_shared<PythonDenoiser>(std::move(function), network_calls);
  require(form == "edm",
          "Denoiser(): form = '{}'; expected 'ready' (D(x, sigma) itself) or "
          "'edm' (a raw network F, EDM preconditioning added)",
          form);
  EdmDenoiser::Options options;
  options.sigma_data = sigma_data;
  return std::make_shared<EdmDenoiser>(std::make_shared<PythonNetwork>(std::move(function)),
                                       options);
}

std::shared_ptr<ConsistencyModel> consistency_from_callable(py::object function,
                                                            const std::string& form, double epsilon,
                                                            double sigma_data,
                                                            int64_t network_calls) {
  if (form == "ready") {
    return std::make_shared<PythonConsistency>(std::move(function), epsilon, network_calls);
  }
  require(form == "edm" || form == "openai",
          "ConsistencyModel(): form = '{}'; expected 'ready' (C(z, t) itself), 'edm' (a raw "
          "network, c_noise = ln(t)/4) or 'openai' (a raw network, c_noise = 250 ln t)",
          form);
  BoundaryConsistency::Options options;
  options.sigma_data = sigma_data;
  options.epsilon = epsilon;
  options.noise_input = form == "openai" ? NoiseInput::kOpenAi : NoiseInput::kEdmLogQuarter;
  return std::make_shared<BoundaryConsistency>(std::make_shared<PythonNetwork>(std::move(function)),
                                               options);
}

void bind_model_interfaces(py::module_& m) {
  py::class_<Denoiser, std::shared_ptr<Denoiser>>(m, "Denoiser")
      .def(py::init(&denoiser_from_callable), py::arg("function"), py::kw_only(),
           py::arg("form") = "ready", py::arg("sigma_data") = kSigmaData,
           py::arg("network_calls") = 1)
      .def(
          "denoise",
          [](const Denoiser& d, const at::Tensor& x, double sigma, std::optional<at::Tensor> y) {
            return d.denoise(x, sigma, y.value_or(at::Tensor()));
          },
          py::arg("x"), py::arg("sigma"), py::arg("labels") = py::none(), ReleaseGil())
      .def(
          "denoise",
          [](const Denoiser& d, const at::Tensor& x, const at::Tensor& sigma,
             std::optional<at::Tensor> y) { return d.denoise(x, sigma, y.value_or(at::Tensor())); },
          py::arg("x"), py::arg("sigma"), py::arg("labels") = py::none(), ReleaseGil())
      .def_property_readonly("network_calls_per_evaluation",
                             &Denoiser::network_calls_per_evaluation);

  py::class_<ConsistencyModel, std::shared_ptr<ConsistencyModel>>(m, "ConsistencyModel")
      .def(py::init(&consistency_from_callable), py::arg("function"), py::kw_only(),
           py::arg("form") = "ready", py::arg("epsilon") = kEpsilon,
           py::arg("sigma_data") = kSigmaData, py::arg("network_calls") = 1)
      .def(
          "origin",
          [](const ConsistencyModel& c, const at::Tensor& z, double t,
             std::optional<at::Tensor> y) { return c.origin(z, t, y.value_or(at::Tensor())); },
          py::arg("z"), py::arg("t"), py::arg("labels") = py::none(), ReleaseGil())
      .def(
          "origin",
          [](const ConsistencyModel& c, const at::Tensor& z, const at::Tensor& t,
             std::optional<at::Tensor> y) { return c.origin(z, t, y.value_or(at::Tensor())); },
          py::arg("z"), py::arg("t"), py::arg("labels") = py::none(), ReleaseGil())
      .def_property_readonly("epsilon", &ConsistencyModel::epsilon)
      .def_property_readonly("network_calls_per_evaluation",
                             &ConsistencyModel::network_calls_per_evaluation);
}

void bind_adapters(py::module_& m) {
  m.def(
      "denoiser_as_consistency",
      [](std::shared_ptr<Denoiser> denoiser) -> std::shared_ptr<ConsistencyModel> {
        return std::make_shared<DenoiserAsConsistency>(std::move(denoiser));
      },
      py::arg("denoiser"));
  m.def(
      "ode_consistency",
      [](std::shared_ptr<Denoiser> denoiser, int64_t num_steps, double epsilon,
         double rho) -> std::shared_ptr<ConsistencyModel> {
        OdeConsistency::Options options;
        options.num_steps = num_steps;
        options.epsilon = epsilon;
        options.rho = rho;
        return std::make_shared<OdeConsistency>(std::move(denoiser), options);
      },
      py::arg("denoiser"), py::arg("num_steps") = 4, py::arg("epsilon") = kEpsilon,
      py::arg("rho") = 7.0);

  py::class_<GaussianMixturePrior, Denoiser, std::shared_ptr<GaussianMixturePrior>>(
      m, "GaussianMixturePrior")
      .def_static(
          "load", [](const std::string& path) { return unconst(GaussianMixturePrior::load(path)); },
          py::arg("path"))
      .def_static(
          "isotropic",
          [](const at::Tensor& mean, double variance) {
            return unconst(GaussianMixturePrior::isotropic(mean, variance));
          },
          py::arg("mean"), py::arg("variance"))
      .def_property_readonly("num_components", &GaussianMixturePrior::num_components)
      .def_property_readonly("event_shape", &GaussianMixturePrior::event_shape)
      .def(
          "sample",
          [](const GaussianMixturePrior& prior, int64_t count, uint64_t seed) {
            auto generator = make_generator(seed);
            return prior.sample(count, generator);
          },
          py::arg("count"), py::arg("seed") = 0, ReleaseGil());
}

void bind_loaders(py::module_& m) {
  m.def("model_directory", [] { return model_directory().string(); });
  m.def(
      "load_unet_denoiser",
      [](const std::string& path, const py::object& device) -> std::shared_ptr<Denoiser> {
        return unconst<Denoiser>(load_unet_denoiser(path, to_device(device)));
      },
      py::arg("path"), py::arg("device") = py::none());
  m.def(
      "load_unet_consistency",
      [](const std::string& path, const py::object& device) -> std::shared_ptr<ConsistencyModel> {
        return unconst<ConsistencyModel>(load_unet_consistency(path, to_device(device)));
      },
      py::arg("path"), py::arg("device") = py::none());
  m.def(
      "load_torchscript_denoiser",
      [](const std::string& path, const std::string& form, const py::object& device,
         double sigma_data) {
        TorchScriptOptions options;
        options.form = torchscript_form(form, "load_torchscript_denoiser()");
        options.device = to_device(device);
        options.sigma_data = sigma_data;
        return unconst(load_torchscript_denoiser(path, options));
      },
      py::arg("path"), py::kw_only(), py::arg("form") = "edm", py::arg("device") = py::none(),
      py::arg("sigma_data") = kSigmaData);
  m.def(
      "load_torchscript_consistency",
      [](const std::string& path, const std::string& form, const py::object& device,
         double sigma_data, double epsilon) {
        TorchScriptOptions options;
        options.form = torchscript_form(form, "load_torchscript_consistency()");
        options.device = to_device(device);
        options.sigma_data = sigma_data;
        options.epsilon = epsilon;
        return unconst(load_torchscript_consistency(path, options));
      },
      py::arg("path"), py::kw_only(), py::arg("form") = "edm", py::arg("device") = py::none(),
      py::arg("sigma_data") = kSigmaData, py::arg("epsilon") = kEpsilon);
}

}  // namespace

void bind_models(py::module_& m) {
  bind_model_interfaces(m);
  bind_adapters(m);
  bind_loaders(m);
}

}  // namespace mapinverse::python
