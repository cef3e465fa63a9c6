#include "mapinverse/optimizers/momentum.hpp"

#include <torch/torch.h>

namespace mapinverse {
namespace {

// The velocity of one solve.
class MomentumState final : public OptimizerState {
 public:
  explicit MomentumState(const Momentum::Options& options) : options_(options) {}

  at::Tensor step(const at::Tensor& z, const at::Tensor& gradient, double learning_rate) override {
    velocity_ = velocity_.defined() ? options_.momentum * velocity_ + gradient : gradient;
    const auto direction = options_.nesterov ? gradient + options_.momentum * velocity_ : velocity_;
    return z + learning_rate * direction;
  }

 private:
  Momentum::Options options_;
  at::Tensor velocity_;
};

}  // namespace

std::unique_ptr<OptimizerState> Momentum::start() const {
  return std::make_unique<MomentumState>(options_);
}

}  // namespace mapinverse
