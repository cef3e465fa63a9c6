#include <iostream>

#include <mapinverse/mapinverse.hpp>

int main() {
  using namespace mapinverse;
  const TimeSteps steps(TimeSteps::Options{});
  const Inpainting inpainting(paper_mask(PaperMask::kBox50, 28, 28));
  const auto x = torch::ones({2, 1, 28, 28});
  const auto observed = inpainting.apply(x).sum().item<double>();
  std::cout << "MapInverse " << kVersionString << ": " << steps.size() << " time steps, "
            << observed << " observed values\n";
  return observed == 2 * 588 ? 0 : 1;
}
