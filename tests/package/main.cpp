#include <iostream>

#include <torch/torch.h>

#include <mapinverse/distributed/process_group.hpp>
#include <mapinverse/mapinverse.hpp>

int main() {
  using namespace mapinverse;
  const TimeSteps steps(TimeSteps::Options{});
  const Inpainting inpainting(paper_mask(PaperMask::kBox50, 28, 28));
  const auto x = torch::ones({2, 1, 28, 28});
  const auto observed = inpainting.apply(x).sum().item<double>();
  const distributed::ProcessGroup group;  // one process: no communication
  const auto shard = group.shard(50);
  std::cout << "MapInverse " << kVersionString << ": " << steps.size() << " time steps, "
            << observed << " observed values, shard " << shard.begin << "-" << shard.end << "\n";
  return observed == 2 * 588 && shard.size() == 50 ? 0 : 1;
}
