// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/script.h>
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "mapinverse/io/png.hpp"
#include "mapinverse/models/pretrained.hpp"
#include "mapinverse/models/unet.hpp"
#include "support/bad_files.hpp"

using namespace mapinverse::testing::bad_files;

namespace {

namespace fs = std::filesystem;

int pattern(int r, int c) { return (r * 9 + c * 5) % 256; }

/// Model files whose numbers are not finite: a U-Net denoiser with a NaN weight, a
/// Gaussian mixture with an infinite mean.
void write_non_finite_models(const fs::path& folder) {
  auto unet = mapinverse::load_unet(
      mapinverse::shipped_model_path(mapinverse::kDenoiserModelFile).string());
  {
    torch::NoGradGuard no_grad;
    unet->parameters().back().view(-1)[0] = std::nan("");
  }
  torch::save(unet, (folder / "nan_weights.pt").string());

  torch::serialize::InputArchive in;
  in.load_from(mapinverse::shipped_model_path(mapinverse::kMixtureModelFile).string());
  torch::serialize::OutputArchive out;
  for (const char* key :
       {"weights", "means", "bases", "eigenvalues", "residual_variances", "event_shape"}) {
    torch::Tensor value;
    in.read(key, value);
    if (std::string(key) == "means") value.view(-1)[3] = INFINITY;
    out.write(key, value);
  }
  out.save_to((folder / "inf_mean_mixture.pt").string());
}

/// Folders of input files: mixed contents, a name clash, a broken file, two sizes,
/// nothing, and images that together exceed the batch limit.
void write_input_folders(const fs::path& folder) {
  for (const char* name : {"mixed_dir/sub.png", "clash_dir", "broken_dir", "sizes_dir", "empty_dir",
                           "big_dir", "no_data", "truncated_data"}) {
    fs::create_directories(folder / name);
  }
  write_grey_png((folder / "mixed_dir/a.png").string(), 28, 28, pattern);
  write_grey_png((folder / "mixed_dir/B.PNG").string(), 28, 28, pattern);
  write_bytes((folder / "mixed_dir/notes.txt").string(), {'h', 'i'});
  write_bytes((folder / "mixed_dir/._a.png").string(), {'\0', '\5', '\x16', '\7'});
  write_grey_png((folder / "clash_dir/x.png").string(), 28, 28, pattern);
  write_grey_png((folder / "clash_dir/x.PNG").string(), 28, 28, pattern);
  write_grey_png((folder / "broken_dir/a.png").string(), 28, 28, pattern);
  write_bytes((folder / "broken_dir/b.png").string(), {'n', 'o', 'p', 'e'});
  write_grey_png((folder / "sizes_dir/a.png").string(), 28, 28, pattern);
  write_grey_png((folder / "sizes_dir/b.png").string(), 28, 27, pattern);
  for (const char* name : {"1.png", "2.png", "3.png", "4.png", "5.png"}) {
    mapinverse::write_png((folder / "big_dir" / name).string(), torch::full({1, 2048, 2048}, 0.5));
  }
  // A Fashion-MNIST folder whose test images stop half-way.
  const fs::path data = "/usr/share/datasets/fashion-mnist";
  fs::copy_file(data / "t10k-labels-idx1-ubyte.gz",
                folder / "truncated_data/t10k-labels-idx1-ubyte.gz");
  auto images = bytes_of((data / "t10k-images-idx3-ubyte.gz").string());
  images.resize(images.size() / 2);
  write_bytes((folder / "truncated_data/t10k-images-idx3-ubyte.gz").string(), images);
}

/// PNG files of every layout and damage, names with spaces and non-ASCII letters, and
/// read-only outputs.
void write_odd_files(const fs::path& folder) {
  const auto file = [&](const char* name) { return (folder / name).string(); };
  write_png_layout(file("grey_alpha.png"), 28, 28, PngLayout::kGreyAlpha, pattern);
  write_png_layout(file("interlaced.png"), 28, 28, PngLayout::kInterlacedGrey, pattern);
  write_png_layout(file("one_bit.png"), 28, 28, PngLayout::kOneBitGrey, pattern);
  write_png_layout(file("palette.png"), 28, 28, PngLayout::kPalette, pattern);
  write_png_layout(file("rgba.png"), 28, 28, PngLayout::kRgba, pattern);
  write_png_header(file("over_pixel_limit.png"), 2049, 2048, 8);
  write_png_header(file("zero_width.png"), 0, 28, 8);
  auto png = bytes_of(file("input.png"));
  write_bytes(file("truncated.png"), std::vector<char>(png.begin(), png.begin() + png.size() / 2));
  png[30] = static_cast<char>(png[30] ^ 0x5a);  // inside IHDR: its CRC no longer matches
  write_bytes(file("bad_crc.png"), png);
  fs::copy_file(file("input.png"), folder / "mon image \xc3\xa9t\xc3\xa9.png");
  write_grey_png(file("readonly.png"), 28, 28, pattern);
  fs::permissions(file("readonly.png"),
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::create_directories(folder / "readonly_dir");
  fs::permissions(folder / "readonly_dir", fs::perms::owner_read | fs::perms::owner_exec |
                                               fs::perms::group_read | fs::perms::group_exec |
                                               fs::perms::others_read | fs::perms::others_exec);
  fs::create_directories(folder / "full_dir");
  write_bytes((folder / "full_dir/keep.txt").string(), {'k'});
  write_non_finite_models(folder);
  write_input_folders(folder);
}

}  // namespace

// Run by the command-line tool's bad-input corpus (tests/apps/bad_inputs.cmake) as its
// fixture, hidden otherwise: writes the bad files into $MAPINVERSE_FIXTURE_DIR.
TEST_CASE("write the bad files of the command-line corpus", "[.tool_fixtures]") {
  const char* folder_variable = std::getenv("MAPINVERSE_FIXTURE_DIR");
  REQUIRE(folder_variable != nullptr);
  namespace fs = std::filesystem;
  const fs::path folder(folder_variable);
  // The read-only folder of an earlier run: writable again, so that it can be removed.
  if (fs::exists(folder / "readonly_dir")) {
    fs::permissions(folder / "readonly_dir", fs::perms::owner_all, fs::perm_options::add);
  }
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
  // A prior without an image shape of its own: D(x, sigma) = x.
  torch::jit::Module identity("identity");
  identity.define("def forward(self, x: Tensor, sigma: Tensor) -> Tensor:\n    return x\n");
  identity.save(file("identity.pt"));
  write_odd_files(folder);
}
