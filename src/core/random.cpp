#include <torch/torch.h>

#include "mapinverse/core/random.hpp"

#include <ATen/CPUGeneratorImpl.h>

namespace mapinverse {

at::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

at::Tensor randn_like(const at::Tensor& like, at::Generator& generator) {
  auto noise = at::randn(like.sizes(), generator,
                         at::TensorOptions().dtype(like.scalar_type()).device(at::kCPU));
  return noise.to(like.device());
}

at::Tensor randn(at::IntArrayRef sizes, const at::TensorOptions& options,
                 at::Generator& generator) {
  auto noise = at::randn(sizes, generator, options.device(at::kCPU));
  return noise.to(options.device());
}

at::Tensor NoiseSource::randn(at::IntArrayRef sizes, const at::TensorOptions& options) {
  if (!per_sample_) return mapinverse::randn(sizes, options, generators_.front());
  require(!sizes.empty() && sizes[0] == static_cast<int64_t>(generators_.size()),
          "NoiseSource: a draw of shape [{}] for {} per-sample seeds", fmt::join(sizes, ","),
          generators_.size());
  auto sample_sizes = sizes.vec();
  sample_sizes[0] = 1;
  std::vector<at::Tensor> samples;
  samples.reserve(generators_.size());
  for (auto& generator : generators_) {
    samples.push_back(at::randn(sample_sizes, generator, options.device(at::kCPU)));
  }
  return at::cat(samples).to(options.device());
}

}  // namespace mapinverse
