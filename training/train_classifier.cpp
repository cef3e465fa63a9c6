// Trains the Fashion-MNIST classifier whose penultimate features define the Frechet
// distance of the sample-quality benchmarks.
//
//   train_classifier --out models/fmnist_classifier.pt [--epochs 4] [--batch 128]
//                    [--lr 1e-3] [--seed 0] [--threads 1]

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <torch/torch.h>

#include "command_line.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/models/classifier.hpp"

namespace {

using mapinverse::FashionClassifier;

double accuracy(FashionClassifier& model, const mapinverse::IdxDataset& data) {
  torch::NoGradGuard no_grad;
  model->eval();
  int64_t correct = 0;
  for (int64_t start = 0; start < data.images.size(0); start += 1000) {
    const auto count = std::min<int64_t>(1000, data.images.size(0) - start);
    const auto predicted = model->forward(data.images.narrow(0, start, count)).argmax(1);
    correct += predicted.eq(data.labels.narrow(0, start, count)).sum().item<int64_t>();
  }
  model->train();
  return static_cast<double>(correct) / static_cast<double>(data.images.size(0));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains the Fashion-MNIST classifier whose features define the Frechet distance"};
  std::string data;
  std::string out = "models/fmnist_classifier.pt";
  int64_t epochs = 4;
  int64_t batch = 128;
  double learning_rate = 1e-3;
  uint64_t seed = 0;
  int64_t threads = 1;
  mapinverse::training::add_data_option(app, data);
  app.add_option("--out", out, "weights to write (after every epoch)")->capture_default_str();
  app.add_option("--epochs", epochs, "epochs")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch", batch, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", learning_rate, "Adam's learning rate")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of the initialisation and the batches")
      ->capture_default_str();
  mapinverse::training::add_threads_option(app, threads);
  CLI11_PARSE(app, argc, argv);
  try {
    mapinverse::set_thread_count(static_cast<int>(threads));
    const auto train = mapinverse::read_fashion_mnist(data, mapinverse::FashionMnistSplit::kTrain);
    const auto test = mapinverse::read_fashion_mnist(data, mapinverse::FashionMnistSplit::kTest);
    torch::manual_seed(seed);
    FashionClassifier model;
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(learning_rate));
    const auto start = std::chrono::steady_clock::now();
    for (int64_t epoch = 0; epoch < epochs; ++epoch) {
      auto generator = mapinverse::make_generator(seed * 1000003 + static_cast<uint64_t>(epoch));
      const auto order = torch::randperm(train.images.size(0), generator);
      double loss_sum = 0.0;
      int64_t batches = 0;
      for (int64_t first = 0; first + batch <= order.size(0); first += batch) {
        const auto index = order.narrow(0, first, batch);
        const auto loss =
            torch::cross_entropy_loss(model->forward(train.images.index_select(0, index)),
                                      train.labels.index_select(0, index));
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        loss_sum += loss.item<double>();
        ++batches;
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      fmt::print("epoch {} loss {:.4f} test accuracy {:.4f} ({:.0f} s)\n", epoch + 1,
                 loss_sum / static_cast<double>(batches), accuracy(model, test), seconds);
      std::fflush(stdout);
      mapinverse::write_atomically(out, [&](const std::string& file) { torch::save(model, file); });
    }
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "train_classifier: " << error.what() << "\n";
    return 1;
  }
}
