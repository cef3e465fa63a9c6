// Distils the project's Fashion-MNIST consistency model from its EDM denoiser
// (consistency distillation, Song et al. 2023, Algorithm 2):
//   x_{n+1} = x + t_{n+1} z,
//   x̂_n     = one Heun step of the teacher's probability-flow ODE from t_{n+1} to t_n,
//   loss    = d(C_θ(x_{n+1}, t_{n+1}), C_θ⁻(x̂_n, t_n)),  θ⁻ ← μ θ⁻ + (1 − μ) θ,
// on the Karras grid t_1 = ε < ... < t_N = T (ρ = 7). The student starts from the
// teacher's network weights (C and D then differ only in their boundary coefficients),
// the target θ⁻ is an EMA of the student with decay μ, and d is the pseudo-Huber
// distance sqrt(|a − b|² + c²) − c with c = 0.00054 sqrt(dim) (Song & Dhariwal 2023,
// §3.3), which is less dominated by a few large errors than the squared distance.
// Checkpoints resume bit for bit, as in train_denoiser.

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "command_line.hpp"
#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/core/time_steps.hpp"
#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/models/preconditioning.hpp"
#include "mapinverse/models/unet.hpp"
#include "training_common.hpp"

namespace {

using mapinverse::UNet;
using mapinverse::training::TrainingCheckpoint;

inline constexpr int64_t kReportEvery = 50;

struct Settings {
  std::string data;
  std::string teacher = "models/fmnist_edm_denoiser.pt";
  std::string out = "runs/cd";
  int64_t steps = 200000;
  int64_t batch = 64;
  double learning_rate = 1e-4;
  uint64_t seed = 1;
  int64_t checkpoint_every = 250;
  double target_decay = 0.95;
  double ema_decay = 0.999;
  int64_t grid_points = 18;
  int64_t threads = 1;

  void add_to(CLI::App& app) {
    mapinverse::training::add_data_option(app, data);
    app.add_option("--teacher", teacher, "the EDM denoiser weights written by train_denoiser")
        ->capture_default_str();
    mapinverse::training::add_run_options(app, out, steps, batch);
    app.add_option("--lr", learning_rate, "Adam's learning rate")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--seed", seed, "seed of every step's draws")->capture_default_str();
    app.add_option("--checkpoint-every", checkpoint_every, "steps between checkpoints")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--target-decay", target_decay, "decay mu of the target network's average")
        ->check(mapinverse::training::unit_interval())
        ->capture_default_str();
    app.add_option("--ema-decay", ema_decay, "decay of the weights' moving average")
        ->check(mapinverse::training::unit_interval())
        ->capture_default_str();
    app.add_option("--grid-points", grid_points, "points N of the Karras time grid")
        ->check(mapinverse::training::at_least(2))
        ->capture_default_str();
    mapinverse::training::add_threads_option(app, threads);
  }
};

/// The distillation's networks: a frozen teacher and the student, its target and its EMA.
struct Networks {
  UNet teacher{mapinverse::UNetOptions{}};
  UNet student{mapinverse::UNetOptions{}};
  UNet target{mapinverse::UNetOptions{}};
  UNet ema{mapinverse::UNetOptions{}};

  explicit Networks(const std::string& teacher_weights) {
    torch::load(teacher, teacher_weights);
    teacher->eval();
    for (auto& parameter : teacher->parameters()) parameter.requires_grad_(false);
    mapinverse::training::copy_parameters(student, teacher);
    mapinverse::training::copy_parameters(target, teacher);
    mapinverse::training::copy_parameters(ema, teacher);
    for (auto& parameter : target->parameters()) parameter.requires_grad_(false);
  }
};

std::shared_ptr<const mapinverse::Network> as_network(const UNet& unet) {
  return std::make_shared<mapinverse::UNetNetwork>(unet);
}

/// One Heun step of dx/dt = (x − D(x, t))/t from t_from to t_to (> 0), per sample.
torch::Tensor heun_step(const mapinverse::Denoiser& teacher, const torch::Tensor& x,
                        const torch::Tensor& t_from, const torch::Tensor& t_to) {
  torch::NoGradGuard no_grad;
  const auto column = [](const torch::Tensor& t) { return t.view({-1, 1, 1, 1}); };
  const auto slope = (x - teacher.denoise(x, t_from)) / column(t_from);
  const auto euler = x + column(t_to - t_from) * slope;
  const auto end_slope = (euler - teacher.denoise(euler, t_to)) / column(t_to);
  return x + column(t_to - t_from) * 0.5 * (slope + end_slope);
}

/// Mean over the batch of sqrt(|a − b|² + c²) − c, c = 0.00054 sqrt(dim).
torch::Tensor pseudo_huber(const torch::Tensor& a, const torch::Tensor& b) {
  const double c = 0.00054 * std::sqrt(static_cast<double>(a[0].numel()));
  const auto squared = (a - b).square().flatten(1).sum(1);
  return ((squared + c * c).sqrt() - c).mean();
}

struct Distillation {
  const mapinverse::EdmDenoiser& teacher;
  const mapinverse::BoundaryConsistency& student;
  const mapinverse::BoundaryConsistency& target;
  torch::Tensor grid;  // t_1 = eps < ... < t_N = T, float32

  torch::Tensor loss(const torch::Tensor& images, int64_t batch,
                     torch::Generator& generator) const {
    const auto x = mapinverse::training::draw_batch(images, batch, generator);
    const auto n = torch::randint(grid.size(0) - 1, {batch}, generator, torch::kLong);
    const auto t_low = grid.index_select(0, n);
    const auto t_high = grid.index_select(0, n + 1);
    const auto noisy = x + t_high.view({-1, 1, 1, 1}) * mapinverse::randn_like(x, generator);
    const auto stepped = heun_step(teacher, noisy, t_high, t_low);
    torch::Tensor goal;
    {
      torch::NoGradGuard no_grad;
      goal = target.origin(stepped, t_low);
    }
    return pseudo_huber(student.origin(noisy, t_high), goal);
  }
};

torch::Tensor karras_grid(int64_t points) {
  mapinverse::TimeSteps::Options options;
  options.num_steps = points;
  auto times = mapinverse::TimeSteps(options).values();  // decreasing
  return torch::tensor(std::vector<double>(times.rbegin(), times.rend()), torch::kFloat32);
}

void export_weights(const std::filesystem::path& out, const Networks& networks) {
  for (const auto& [name, module] : {std::pair{"consistency_raw.pt", networks.student},
                                     std::pair{"consistency_target.pt", networks.target},
                                     std::pair{"consistency_ema.pt", networks.ema}}) {
    const auto& weights = module;  // C++17 lambdas cannot capture a structured binding
    mapinverse::write_atomically((out / name).string(),
                                 [&](const std::string& file) { torch::save(weights, file); });
  }
}

void train(const Settings& s) {
  if (!std::filesystem::is_regular_file(s.teacher)) {
    throw std::invalid_argument(fmt::format(
        "--teacher {}: no such file (the EDM denoiser weights written by train_denoiser)",
        s.teacher));
  }
  mapinverse::set_thread_count(static_cast<int>(s.threads));
  const std::filesystem::path out = s.out;
  std::filesystem::create_directories(out);
  const auto images =
      mapinverse::read_fashion_mnist(s.data, mapinverse::FashionMnistSplit::kTrain).images;

  Networks networks(s.teacher);
  torch::optim::Adam optimizer(networks.student->parameters(),
                               torch::optim::AdamOptions(s.learning_rate));
  const TrainingCheckpoint checkpoint(out / "checkpoint.pt");
  const TrainingCheckpoint::Settings recorded{
      {"seed", static_cast<int64_t>(s.seed)}, {"batch", s.batch}, {"grid_points", s.grid_points}};
  const TrainingCheckpoint::Modules modules{
      {"student", networks.student}, {"target", networks.target}, {"ema", networks.ema}};
  const int64_t start = checkpoint.load(recorded, modules, optimizer);

  const mapinverse::EdmDenoiser teacher(as_network(networks.teacher));
  const mapinverse::BoundaryConsistency student(as_network(networks.student));
  const mapinverse::BoundaryConsistency target(as_network(networks.target));
  const Distillation distillation{teacher, student, target, karras_grid(s.grid_points)};

  fmt::print("{} training images, teacher {}, {} parameters, {} from step {} to {}\n",
             images.size(0), s.teacher, mapinverse::training::parameter_count(networks.student),
             start > 0 ? "resuming" : "starting", start, s.steps);
  std::fflush(stdout);

  mapinverse::training::ProgressReport progress(kReportEvery, s.steps);
  for (int64_t step = start; step < s.steps; ++step) {
    auto generator = mapinverse::training::step_generator(s.seed, step);
    optimizer.zero_grad();
    const auto loss = distillation.loss(images, s.batch, generator);
    loss.backward();
    optimizer.step();
    mapinverse::training::update_ema(networks.target, networks.student, s.target_decay);
    mapinverse::training::update_ema(networks.ema, networks.student, s.ema_decay);

    const int64_t done = step + 1;
    progress.add(done, loss.item<double>());
    if (done % s.checkpoint_every == 0 || done == s.steps) {
      checkpoint.save(done, recorded, modules, optimizer);
      export_weights(out, networks);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Distils the Fashion-MNIST consistency model from the EDM denoiser; rerun the "
      "same command to resume"};
  Settings settings;
  settings.add_to(app);
  CLI11_PARSE(app, argc, argv);
  try {
    train(settings);
  } catch (const std::exception& error) {
    std::cerr << "train_consistency: " << error.what() << '\n';
    return 1;
  }
  return 0;
}
