// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/script.h>
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "mapinverse/io/png.hpp"
#include "mapinverse/models/pretrained.hpp"
#include "support/bad_files.hpp"

using namespace mapinverse::testing::bad_files;

// Run by the command-line tool's bad-input corpus (tests/apps/bad_inputs.cmake) as its
// fixture, hidden otherwise: writes the bad files into $MAPINVERSE_FIXTURE_DIR.
TEST_CASE("write the bad files of the command-line corpus", "[.tool_fixtures]") {
  const char* folder_variable = std::getenv("MAPINVERSE_FIXTURE_DIR");
  REQUIRE(folder_variable != nullptr);
  const std::filesystem::path folder(folder_variable);
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder / "out");
  const auto file = [&](const char* name) { return (folder / name).string(); };

  write_bytes(file("text.png"), {'n', 'o', 't', ' ', 'a', ' ', 'p', 'n', 'g'});
  write_png_header(file("sixteen.png"), 28, 28, 16);
  write_png_header(file("huge.png"), 100000, 100000, 8);
  write_grey_png(file("input.png"), 28, 28, [](int r, int c) { return (r * 9 + c * 5) % 256; });
  write_grey_png(file("grey_mask.png"), 28, 28, [](int, int c) { return c < 14 ? 255 : 128; });
  write_grey_png(file("zero_mask.png"), 28, 28, [](int, int) { return 0; });
  write_grey_png(file("small_mask.png"), 10, 10, [](int, int) { return 255; });
  mapinverse::write_png(file("colour.png"), torch::rand({3, 28, 28}));
  auto truncated =
      bytes_of(mapinverse::shipped_model_path(mapinverse::kDenoiserModelFile).string());
  truncated.resize(truncated.size() / 3);
  write_bytes(file("truncated.pt"), truncated);
  write_bytes(file("empty.pt"), {});
  write_bytes(file("garbage.pt"), std::vector<char>(2048, '\x42'));
  torch::jit::Module module("wrong");
  module.define("def forward(self, x):\n    return x\n");
  module.save(file("wrong_signature.pt"));
  CHECK(std::filesystem::is_regular_file(file("wrong_signature.pt")));
}
