#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/io/png.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/masks.hpp"
#include "support/temporary_directory.hpp"

using Catch::Matchers::Contains;
using mapinverse::paper_mask;
using mapinverse::PaperMask;
using mapinverse::testing::TemporaryDirectory;

namespace {

bool observed(const torch::Tensor& mask, int64_t row, int64_t column) {
  return mask.index({0, 0, row, column}).item<float>() == 1.0f;
}

}  // namespace

TEST_CASE("paper masks observe the documented number of pixels", "[operators][masks]") {
  // Observed pixels, from the definitions: e.g. 28x28 box50 hides a 14x14 box
  // (784 - 196), box25 a 7x7 box (784 - 49), expand observes only that 7x7 box.
  const std::map<std::pair<PaperMask, int64_t>, int64_t> expected{
      {{PaperMask::kBox50, 28}, 588},  {{PaperMask::kHalf, 28}, 392},
      {{PaperMask::kExpand, 28}, 49},  {{PaperMask::kBox25, 28}, 735},
      {{PaperMask::kSr2x, 28}, 196},   {{PaperMask::kAllLines, 28}, 392},
      {{PaperMask::kBox50, 64}, 3072}, {{PaperMask::kHalf, 64}, 2048},
      {{PaperMask::kExpand, 64}, 256}, {{PaperMask::kBox25, 64}, 3840},
      {{PaperMask::kSr2x, 64}, 1024},  {{PaperMask::kAllLines, 64}, 2048},
  };
  for (const auto& [key, count] : expected) {
    const auto& [kind, size] = key;
    CAPTURE(mapinverse::to_string(kind), size);
    const auto mask = paper_mask(kind, size, size);
    REQUIRE(mask.sizes() == torch::IntArrayRef{1, 1, size, size});
    REQUIRE(mask.scalar_type() == torch::kFloat32);
    CHECK(((mask == 0) | (mask == 1)).all().item<bool>());
    CHECK(mask.sum().item<double>() == static_cast<double>(count));
    CHECK(mapinverse::Inpainting(mask).observed_count() == std::vector<int64_t>{count});
  }
}

TEST_CASE("paper masks hide the documented pixels at 28x28", "[operators][masks]") {
  const auto box50 = paper_mask(PaperMask::kBox50, 28, 28);  // rows/columns 7..20 hidden
  CHECK(observed(box50, 6, 6));
  CHECK_FALSE(observed(box50, 7, 7));
  CHECK_FALSE(observed(box50, 20, 20));
  CHECK(observed(box50, 21, 20));
  CHECK(observed(box50, 14, 6));

  const auto box25 = paper_mask(PaperMask::kBox25, 28, 28);  // rows/columns 10..16 hidden
  CHECK(observed(box25, 9, 9));
  CHECK_FALSE(observed(box25, 10, 10));
  CHECK_FALSE(observed(box25, 16, 16));
  CHECK(observed(box25, 17, 16));

  const auto expand = paper_mask(PaperMask::kExpand, 28, 28);
  CHECK(torch::equal(expand, 1 - box25));

  const auto half = paper_mask(PaperMask::kHalf, 28, 28);
  CHECK(observed(half, 0, 13));
  CHECK_FALSE(observed(half, 0, 14));
  CHECK_FALSE(observed(half, 27, 27));

  const auto sr2x = paper_mask(PaperMask::kSr2x, 28, 28);
  CHECK(observed(sr2x, 0, 0));
  CHECK(observed(sr2x, 26, 2));
  CHECK_FALSE(observed(sr2x, 0, 1));
  CHECK_FALSE(observed(sr2x, 1, 0));
  CHECK_FALSE(observed(sr2x, 27, 27));

  const auto lines = paper_mask(PaperMask::kAllLines, 28, 28);
  CHECK(observed(lines, 0, 5));
  CHECK(observed(lines, 26, 27));
  CHECK_FALSE(observed(lines, 1, 5));
  CHECK_FALSE(observed(lines, 27, 0));
}

TEST_CASE("paper masks follow the height and width separately", "[operators][masks]") {
  // 28 rows x 20 columns: box50 hides rows 7..20 and columns 5..14.
  const auto box50 = paper_mask(PaperMask::kBox50, 28, 20);
  REQUIRE(box50.sizes() == torch::IntArrayRef{1, 1, 28, 20});
  CHECK(box50.sum().item<double>() == 560.0 - 14.0 * 10.0);
  CHECK_FALSE(observed(box50, 7, 5));
  CHECK(observed(box50, 7, 4));
  CHECK_FALSE(observed(box50, 20, 14));
  CHECK(observed(box50, 20, 15));
  const auto half = paper_mask(PaperMask::kHalf, 28, 20);
  CHECK(observed(half, 3, 9));
  CHECK_FALSE(observed(half, 3, 10));
  REQUIRE_THROWS_AS(paper_mask(PaperMask::kHalf, 3, 8), std::invalid_argument);
  REQUIRE_THROWS_WITH(paper_mask(PaperMask::kHalf, 3, 8), Contains("got 3x8"));
}

TEST_CASE("paper mask names round-trip", "[operators][masks]") {
  const auto masks = mapinverse::all_paper_masks();
  REQUIRE(masks.size() == 6);
  const std::vector<std::string> names{"box50", "half", "expand", "box25", "sr2x", "alllines"};
  for (size_t i = 0; i < masks.size(); ++i) {
    CHECK(mapinverse::to_string(masks[i]) == names[i]);
    CHECK(mapinverse::parse_paper_mask(names[i]) == masks[i]);
  }
  REQUIRE_THROWS_AS(mapinverse::parse_paper_mask("Box50"), std::invalid_argument);
  REQUIRE_THROWS_WITH(mapinverse::parse_paper_mask("Box50"),
                      Contains("box50|half|expand|box25|sr2x|alllines") && Contains("'Box50'"));
}

TEST_CASE("random masks are reproducible by seed and observe about p of the pixels",
          "[operators][masks]") {
  const auto mask = mapinverse::random_mask(64, 64, 0.3, 42);
  REQUIRE(mask.sizes() == torch::IntArrayRef{1, 1, 64, 64});
  REQUIRE(mask.scalar_type() == torch::kFloat32);
  CHECK(torch::equal(mask, mapinverse::random_mask(64, 64, 0.3, 42)));
  CHECK_FALSE(torch::equal(mask, mapinverse::random_mask(64, 64, 0.3, 43)));
  CHECK(((mask == 0) | (mask == 1)).all().item<bool>());
  // Binomial(4096, 0.3): standard deviation of the fraction 0.0072; 4 of them.
  CHECK(std::abs(mask.mean().item<double>() - 0.3) < 0.029);
  CHECK(torch::equal(mapinverse::random_mask(5, 7, 1.0, 0), torch::ones({1, 1, 5, 7})));
}

TEST_CASE("random masks reject a bad probability and an all-missing draw", "[operators][masks]") {
  for (const double p : {0.0, -0.1, 1.5, std::nan("")}) {
    CAPTURE(p);
    REQUIRE_THROWS_AS(mapinverse::random_mask(8, 8, p, 1), std::invalid_argument);
    REQUIRE_THROWS_WITH(mapinverse::random_mask(8, 8, p, 1),
                        Contains("expected 0 < keep_probability <= 1"));
  }
  REQUIRE_THROWS_AS(mapinverse::random_mask(2, 2, 1e-9, 1), std::invalid_argument);
  REQUIRE_THROWS_WITH(mapinverse::random_mask(2, 2, 1e-9, 1), Contains("no pixel"));
  REQUIRE_THROWS_WITH(mapinverse::random_mask(0, 2, 0.5, 1), Contains("got 0x2"));
}

TEST_CASE("read_mask_png reads back grey and colour masks written as PNG",
          "[operators][masks][io]") {
  const TemporaryDirectory directory("mask_png_round_trip");
  const auto mask = paper_mask(PaperMask::kBox25, 28, 24);

  const auto grey_path = directory.file("grey.png");
  mapinverse::write_png(grey_path, mask[0]);
  const auto grey = mapinverse::read_mask_png(grey_path);
  REQUIRE(grey.sizes() == torch::IntArrayRef{1, 1, 28, 24});
  CHECK(grey.scalar_type() == torch::kFloat32);
  CHECK(torch::equal(grey, mask));

  const auto colour_path = directory.file("colour.png");
  mapinverse::write_png(colour_path, mask[0].expand({3, 28, 24}));
  CHECK(torch::equal(mapinverse::read_mask_png(colour_path), mask));

  // Levels near black and white (e.g. from lossy editing) are accepted.
  const auto near_path = directory.file("near.png");
  mapinverse::write_png(near_path, 0.1 + 0.8 * mask[0]);
  CHECK(torch::equal(mapinverse::read_mask_png(near_path), mask));
}

TEST_CASE("read_mask_png rejects grey levels and colours that are not clearly binary",
          "[operators][masks][io]") {
  const TemporaryDirectory directory("mask_png_rejects");
  auto image = torch::ones({1, 4, 5});
  image.index_put_({0, 2, 3}, 0.5);
  const auto grey_path = directory.file("grey.png");
  mapinverse::write_png(grey_path, image);
  REQUIRE_THROWS_AS(mapinverse::read_mask_png(grey_path), std::invalid_argument);
  REQUIRE_THROWS_WITH(mapinverse::read_mask_png(grey_path),
                      Contains("binary") && Contains("row 2, column 3") && Contains(grey_path));

  auto colour = torch::ones({3, 4, 5});
  colour.index_put_({torch::indexing::Slice(1, 3), 1, 1}, 0.0);  // a pure red pixel
  const auto colour_path = directory.file("colour.png");
  mapinverse::write_png(colour_path, colour);
  REQUIRE_THROWS_WITH(mapinverse::read_mask_png(colour_path), Contains("row 1, column 1"));

  REQUIRE_THROWS_AS(mapinverse::read_mask_png(directory.file("missing.png")), std::runtime_error);
}
