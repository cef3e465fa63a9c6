#include "mapinverse/optimizers/adam.hpp"

#include <torch/torch.h>

namespace mapinverse {
namespace {

// The moment estimates of one solve (Kingma & Ba 2015, Algorithm 1).
class AdamState final : public OptimizerState {
 public:
  explicit AdamState(const Adam::Options& options) : options_(options) {}

  at::Tensor step(const at::Tensor& z, const at::Tensor& gradient, double learning_rate) override {
    if (!first_moment_.defined()) {
      first_moment_ = at::zeros_like(gradient);
      second_moment_ = at::zeros_like(gradient);
    }
    ++count_;
    first_moment_ = options_.beta1 * first_moment_ + (1.0 - options_.beta1) * gradient;
    second_moment_ = options_.beta2 * second_moment_ + (1.0 - options_.beta2) * gradient * gradient;
    const double correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(count_));
    const double correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(count_));
    const auto denominator = (second_moment_ / correction2).sqrt() + options_.epsilon;
    return z + (learning_rate / correction1) * first_moment_ / denominator;
  }

 private:
  Adam::Options options_;
  at::Tensor first_moment_;
  at::Tensor second_moment_;
  int64_t count_ = 0;
};

}  // namespace

std::unique_ptr<OptimizerState> Adam::start() const {
  return std::make_unique<AdamState>(options_);
}

}  // namespace mapinverse
