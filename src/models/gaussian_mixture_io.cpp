// GaussianMixturePrior's file format: load() and save().

#include <fstream>

#include <torch/torch.h>

#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"

namespace mapinverse {

std::shared_ptr<const GaussianMixturePrior> GaussianMixturePrior::load(const std::string& path) {
  constexpr const char* where = "GaussianMixturePrior::load()";
  if (!std::ifstream(path).good()) {
    throw std::runtime_error(fmt::format("{}: cannot open '{}'", where, path));
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& error) {
    throw std::runtime_error(fmt::format("{}: '{}' is not a readable tensor archive ({})", where,
                                         path, error.what_without_backtrace()));
  }
  const auto read = [&](const char* key) {
    at::Tensor tensor;
    if (!archive.try_read(key, tensor)) {
      throw std::runtime_error(fmt::format(
          "{}: '{}' is not a GaussianMixturePrior file: it lacks '{}'", where, path, key));
    }
    return tensor;
  };
  Parameters parameters{read("weights"),
                        read("means"),
                        read("bases"),
                        read("eigenvalues"),
                        read("residual_variances"),
                        {}};
  const auto shape = read("event_shape").to(at::kLong).contiguous();
  parameters.event_shape.assign(shape.data_ptr<int64_t>(),
                                shape.data_ptr<int64_t>() + shape.numel());
  try {
    return std::make_shared<const GaussianMixturePrior>(std::move(parameters));
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(
        fmt::format("{}: '{}' holds an invalid mixture: {}", where, path, error.what()));
  }
}

void GaussianMixturePrior::save(const std::string& path) const {
  torch::serialize::OutputArchive archive;
  const auto& p = parameters_;
  archive.write("weights", p.weights.cpu());
  archive.write("means", p.means.cpu());
  archive.write("bases", p.bases.cpu());
  archive.write("eigenvalues", p.eigenvalues.cpu());
  archive.write("residual_variances", p.residual_variances.cpu());
  archive.write("event_shape", at::tensor(p.event_shape, at::kLong));
  constexpr const char* where = "GaussianMixturePrior::save()";
  write_atomically(
      path,
      [&](const std::string& temporary) {
        try {
          archive.save_to(temporary);
        } catch (const std::exception& error) {
          throw std::runtime_error(
              fmt::format("{}: cannot write '{}' ({})", where, path, error.what()));
        }
      },
      where);
}

}  // namespace mapinverse
