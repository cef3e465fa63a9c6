#include <thread>
#include <vector>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/masks.hpp"
#include "support/random_tensors.hpp"

using Catch::Matchers::Contains;
using mapinverse::Inpainting;
using mapinverse::PaperMask;
using mapinverse::testing::normal;

namespace {

/// [1,1,3,3] mask observing the anti-diagonal and the centre row.
torch::Tensor small_mask() {
  return torch::tensor({0., 0., 1., 1., 1., 1., 1., 0., 0.}).reshape({1, 1, 3, 3});
}

}  // namespace

TEST_CASE("Inpainting keeps the observed pixels and zeroes the missing ones", "[operators]") {
  const Inpainting op(small_mask());
  const auto x = normal({2, 3, 3, 3}, 1);
  const auto y = op.apply(x);
  REQUIRE(y.sizes() == x.sizes());
  CHECK(torch::equal(y, x * small_mask().to(torch::kFloat64)));
  CHECK(y.index({1, 2, 0, 0}).item<double>() == 0.0);
  CHECK(y.index({1, 2, 2, 0}).item<double>() == x.index({1, 2, 2, 0}).item<double>());
  CHECK(torch::equal(op.adjoint(x), y));
  CHECK(torch::equal(op.gram(x), y));
  CHECK(op.name() == "Inpainting");
  CHECK(op.height() == 3);
  CHECK(op.width() == 3);
}

TEST_CASE("Inpainting accepts [H,W], [1,1,H,W] and [B,1,H,W] masks of any real or bool dtype",
          "[operators]") {
  const auto mask = small_mask();
  const Inpainting from_matrix(mask.reshape({3, 3}).to(torch::kFloat64));
  const Inpainting from_bool(mask.to(torch::kBool));
  const Inpainting from_integers(mask.to(torch::kInt32));
  for (const auto* op : {&from_matrix, &from_bool, &from_integers}) {
    CHECK(op->mask().sizes() == torch::IntArrayRef{1, 1, 3, 3});
    CHECK(op->mask().scalar_type() == torch::kFloat32);
    CHECK(torch::equal(op->mask(), mask));
    CHECK(op->observed_count() == std::vector<int64_t>{5});
  }
}

TEST_CASE("Inpainting applies one mask per sample of a batch", "[operators]") {
  const auto masks = torch::cat({mapinverse::paper_mask(PaperMask::kHalf, 6, 6),
                                 mapinverse::paper_mask(PaperMask::kAllLines, 6, 6),
                                 mapinverse::paper_mask(PaperMask::kExpand, 6, 6)});
  const Inpainting op(masks);
  CHECK(op.observed_count() == std::vector<int64_t>{18, 18, 1});
  const auto x = torch::ones({3, 2, 6, 6}, torch::kFloat64);
  const auto y = op.apply(x);
  // Sample 0 misses the right half, sample 1 the odd rows, sample 2 all but (2, 2).
  CHECK(y.index({0, 1, 1, 2}).item<double>() == 1.0);
  CHECK(y.index({0, 1, 1, 3}).item<double>() == 0.0);
  CHECK(y.index({1, 1, 1, 2}).item<double>() == 0.0);
  CHECK(y.index({1, 1, 2, 5}).item<double>() == 1.0);
  CHECK(y.index({2, 0, 2, 2}).item<double>() == 1.0);
  CHECK(y[2].sum().item<double>() == 2.0);

  const auto wrong_batch = torch::ones({2, 1, 6, 6});
  REQUIRE_THROWS_AS(op.apply(wrong_batch), std::invalid_argument);
  REQUIRE_THROWS_WITH(
      op.apply(wrong_batch),
      Contains("Inpainting::apply(): expected x of shape [3,C,6,6], got [2,1,6,6]"));
}

TEST_CASE("Inpainting's closed-form solve_gram divides by a + b where observed and a elsewhere",
          "[operators]") {
  const Inpainting op(small_mask());
  const auto r = torch::full({1, 1, 3, 3}, 6.0, torch::kFloat64);
  const auto solved = op.solve_gram(r, 1.0, 2.0);
  CHECK(solved.index({0, 0, 0, 2}).item<double>() == Approx(2.0));
  CHECK(solved.index({0, 0, 0, 0}).item<double>() == Approx(6.0));
  const auto noiseless = op.solve_gram(r, 0.0, 3.0);
  CHECK(noiseless.index({0, 0, 1, 1}).item<double>() == Approx(2.0));
  CHECK(noiseless.index({0, 0, 2, 2}).item<double>() == 0.0);
}

TEST_CASE("Inpainting rejects masks that are not binary, empty or of the wrong rank",
          "[operators]") {
  auto grey = small_mask();
  grey.index_put_({0, 0, 1, 2}, 0.5);
  REQUIRE_THROWS_AS(Inpainting(grey), std::invalid_argument);
  REQUIRE_THROWS_WITH(Inpainting(grey), Contains("binary") && Contains("0.5 at [0,0,1,2]"));
  REQUIRE_THROWS_WITH(Inpainting(small_mask() * std::nan("")), Contains("binary"));

  const auto shared_empty = torch::zeros({1, 1, 4, 4});
  REQUIRE_THROWS_AS(Inpainting(shared_empty), std::invalid_argument);
  REQUIRE_THROWS_WITH(Inpainting(shared_empty), Contains("observes no pixel"));
  const auto second_empty = torch::cat({torch::ones({1, 1, 4, 4}), torch::zeros({1, 1, 4, 4})});
  REQUIRE_THROWS_WITH(Inpainting(second_empty), Contains("mask of sample 1 observes no pixel"));

  for (const auto& shape : std::vector<std::vector<int64_t>>{{1, 4, 4}, {1, 2, 4, 4}, {4}}) {
    const auto mask = torch::ones(shape);
    REQUIRE_THROWS_AS(Inpainting(mask), std::invalid_argument);
    REQUIRE_THROWS_WITH(Inpainting(mask), Contains("[H,W], [1,1,H,W] or [B,1,H,W]") &&
                                              Contains(mapinverse::shape_string(mask)));
  }
  REQUIRE_THROWS_WITH(Inpainting(torch::Tensor()), Contains("undefined"));
}

TEST_CASE("Inpainting rejects images whose size differs from the mask's", "[operators]") {
  const Inpainting op(mapinverse::paper_mask(PaperMask::kBox50, 6, 6));
  const auto x = torch::zeros({2, 1, 6, 7});
  REQUIRE_THROWS_AS(op.apply(x), std::invalid_argument);
  REQUIRE_THROWS_WITH(op.apply(x), Contains("expected x of shape [B,C,6,6], got [2,1,6,7]"));
  REQUIRE_THROWS_WITH(op.adjoint(torch::zeros({6, 6})),
                      Contains("Inpainting::adjoint(): expected y of shape [B,C,6,6], got [6,6]"));
  REQUIRE_THROWS_WITH(op.solve_gram(torch::zeros({1, 1, 5, 6}), 1.0, 1.0),
                      Contains("expected r of shape [B,C,6,6], got [1,1,5,6]"));
  REQUIRE_THROWS_WITH(op.apply(torch::zeros({2, 1, 6, 6}, torch::kInt64)),
                      Contains("floating-point"));
}

TEST_CASE("Inpainting differentiates after a first use in inference mode", "[operators]") {
  const Inpainting op(small_mask());
  const auto x = normal({1, 1, 3, 3}, 3);
  {
    // The float64 copy of the mask is cached here, under inference mode.
    c10::InferenceMode inference;
    CHECK(torch::equal(op.apply(x), x * small_mask().to(torch::kFloat64)));
  }
  const auto input = x.clone().requires_grad_(true);
  op.apply(input).sum().backward();
  CHECK(torch::equal(input.grad(), small_mask().to(torch::kFloat64)));
}

TEST_CASE("Inpainting can be shared between threads", "[operators][threads]") {
  const Inpainting op(mapinverse::random_mask(16, 16, 0.5, 4));
  const auto expected32 = op.apply(torch::ones({1, 1, 16, 16}));
  std::vector<std::thread> threads;
  std::vector<int> correct(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&op, &correct, &expected32, t] {
      const auto dtype = t % 2 == 0 ? torch::kFloat32 : torch::kFloat64;
      for (int i = 0; i < 50; ++i) {
        const auto y = op.apply(torch::ones({1, 1, 16, 16}, dtype));
        correct[static_cast<size_t>(t)] += torch::equal(y.to(torch::kFloat32), expected32);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(correct == std::vector<int>(4, 50));
}
