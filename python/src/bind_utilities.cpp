// Threads, seeded noise, Fashion-MNIST and PNG files, image metrics: what a script needs
// around a solve to reproduce the command-line tool's results.

#include <string>

#include "bindings.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/io/png.hpp"
#include "mapinverse/metrics/image_quality.hpp"

namespace mapinverse::python {

namespace {

using ReleaseGil = py::call_guard<py::gil_scoped_release>;

FashionMnistSplit parse_split(const std::string& split) {
  if (split == "train") return FashionMnistSplit::kTrain;
  require(split == "test", "read_fashion_mnist(): split = '{}'; expected 'train' or 'test'", split);
  return FashionMnistSplit::kTest;
}

}  // namespace

void bind_utilities(py::module_& m) {
  m.def("set_thread_count", &set_thread_count, py::arg("threads"),
        "Sets LibTorch's intra-op threads (and OpenBLAS's, where LibTorch uses it).");
  m.def(
      "randn_like",
      [](const at::Tensor& like, uint64_t seed) {
        auto generator = make_generator(seed);
        return randn_like(like, generator);
      },
      py::arg("like"), py::arg("seed"),
      "Standard normal noise shaped like `like`, drawn on the CPU from a generator seeded "
      "with `seed` (as the library and the command-line tool draw theirs).");
  m.def(
      "read_fashion_mnist",
      [](const std::string& directory, const std::string& split) {
        const auto data = read_fashion_mnist(directory, parse_split(split));
        return py::make_tuple(data.images, data.labels);
      },
      py::arg("directory") = kFashionMnistDirectory, py::arg("split") = "test");
  m.def("read_png", &read_png, py::arg("path"), py::arg("max_pixels") = int64_t{1} << 26);
  m.def("write_png", &write_png, py::arg("path"), py::arg("image"), ReleaseGil());
  m.def("to_unit_range", &to_unit_range, py::arg("image"));
  m.def("make_grid", &make_grid, py::arg("images"), py::arg("columns"), py::arg("pad") = 2,
        py::arg("background") = 1.0);
  m.def("psnr", &psnr, py::arg("estimate"), py::arg("reference"), py::arg("data_range") = 2.0);
  m.def("ssim", &ssim, py::arg("estimate"), py::arg("reference"), py::arg("data_range") = 2.0);
}

}  // namespace mapinverse::python
