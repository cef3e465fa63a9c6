// Forward operators: the library's (inpainting with the paper's masks, pooling, blur,
// dense matrices, composition) and operators written in Python.

#include <memory>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "mapinverse/operators/average_pool.hpp"
#include "mapinverse/operators/composition.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/forward_operator.hpp"
#include "mapinverse/operators/gaussian_blur.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/masks.hpp"
#include "python_callables.hpp"

namespace mapinverse::python {

namespace {

using ReleaseGil = py::call_guard<py::gil_scoped_release>;

void bind_operator_interfaces(py::module_& m) {
  py::class_<ForwardOperator, std::shared_ptr<ForwardOperator>>(m, "ForwardOperator")
      .def(py::init([](py::object apply, py::object vjp, std::string name) {
             return std::shared_ptr<ForwardOperator>(
                 std::make_shared<PythonOperator>(std::move(apply), std::move(vjp), name));
           }),
           py::arg("apply"), py::kw_only(), py::arg("vjp") = py::none(),
           py::arg("name") = "PythonOperator")
      .def("apply", &ForwardOperator::apply, py::arg("x"), ReleaseGil())
      .def("__call__", &ForwardOperator::apply, py::arg("x"), ReleaseGil())
      .def("vjp", &ForwardOperator::vjp, py::arg("x"), py::arg("v"), ReleaseGil())
      .def_property_readonly("name", &ForwardOperator::name)
      .def_property_readonly("is_linear", &ForwardOperator::is_linear)
      .def("__repr__", [](const ForwardOperator& op) { return "<mapinverse." + op.name() + ">"; });

  py::class_<LinearOperator, ForwardOperator, std::shared_ptr<LinearOperator>>(m, "LinearOperator")
      .def(py::init([](py::object apply, py::object adjoint, py::object solve_gram,
                       std::string name, double cg_tolerance, int64_t cg_max_iterations) {
             ConjugateGradientOptions cg;
             cg.tolerance = cg_tolerance;
             cg.max_iterations = cg_max_iterations;
             return std::shared_ptr<LinearOperator>(std::make_shared<PythonLinearOperator>(
                 std::move(apply), std::move(adjoint), std::move(solve_gram), name, cg));
           }),
           py::arg("apply"), py::arg("adjoint"), py::kw_only(), py::arg("solve_gram") = py::none(),
           py::arg("name") = "PythonLinearOperator", py::arg("cg_tolerance") = 1e-6,
           py::arg("cg_max_iterations") = 200)
      .def("adjoint", &LinearOperator::adjoint, py::arg("y"), ReleaseGil())
      .def("gram", &LinearOperator::gram, py::arg("y"), ReleaseGil())
      .def("solve_gram", &LinearOperator::solve_gram, py::arg("r"), py::arg("a"), py::arg("b"),
           ReleaseGil());
}

void bind_library_operators(py::module_& m) {
  py::class_<Inpainting, LinearOperator, std::shared_ptr<Inpainting>>(m, "Inpainting")
      .def(py::init<const at::Tensor&>(), py::arg("mask"))
      .def_property_readonly("mask", &Inpainting::mask);

  py::class_<AveragePool, LinearOperator, std::shared_ptr<AveragePool>>(m, "AveragePool")
      .def(py::init([](int64_t factor) {
             AveragePool::Options options;
             options.factor = factor;
             return std::make_shared<AveragePool>(options);
           }),
           py::arg("factor") = 2)
      .def_property_readonly("factor", &AveragePool::factor);

  py::class_<GaussianBlur, LinearOperator, std::shared_ptr<GaussianBlur>>(m, "GaussianBlur")
      .def(py::init([](double sigma_pixels, int64_t kernel_size) {
             GaussianBlur::Options options;
             options.sigma_pixels = sigma_pixels;
             options.kernel_size = kernel_size;
             return std::make_shared<GaussianBlur>(options);
           }),
           py::arg("sigma_pixels") = 1.0, py::arg("kernel_size") = 0)
      .def_property_readonly("kernel", &GaussianBlur::kernel);

  py::class_<DenseMatrix, LinearOperator, std::shared_ptr<DenseMatrix>>(m, "DenseMatrix")
      .def(py::init([](const at::Tensor& matrix, std::vector<int64_t> input_shape) {
             DenseMatrix::Options options;
             options.input_shape = std::move(input_shape);
             return std::make_shared<DenseMatrix>(matrix, options);
           }),
           py::arg("matrix"), py::arg("input_shape") = std::vector<int64_t>{})
      .def_property_readonly("matrix", &DenseMatrix::matrix)
      .def_property_readonly("input_shape", &DenseMatrix::input_shape);
}

void bind_composition(py::module_& m) {
  py::class_<ComposedOperator, LinearOperator, std::shared_ptr<ComposedOperator>>(
      m, "ComposedOperator")
      .def_property_readonly("outer",
                             [](const ComposedOperator& op) { return unconst(op.outer()); })
      .def_property_readonly("inner",
                             [](const ComposedOperator& op) { return unconst(op.inner()); });
  py::class_<ComposedForwardOperator, ForwardOperator, std::shared_ptr<ComposedForwardOperator>>(
      m, "ComposedForwardOperator")
      .def_property_readonly("outer",
                             [](const ComposedForwardOperator& op) { return unconst(op.outer()); })
      .def_property_readonly("inner",
                             [](const ComposedForwardOperator& op) { return unconst(op.inner()); });

  m.def(
      "compose",
      [](std::shared_ptr<ForwardOperator> outer, std::shared_ptr<ForwardOperator> inner) {
        require(outer && inner, "compose(): expected two operators, got None");
        auto linear_outer = std::dynamic_pointer_cast<LinearOperator>(outer);
        auto linear_inner = std::dynamic_pointer_cast<LinearOperator>(inner);
        if (linear_outer && linear_inner) {
          return py::cast(std::make_shared<ComposedOperator>(linear_outer, linear_inner));
        }
        return py::cast(std::make_shared<ComposedForwardOperator>(outer, inner));
      },
      py::arg("outer"), py::arg("inner"));
}

void bind_masks(py::module_& m) {
  m.def(
      "paper_mask",
      [](const std::string& name, int64_t height, int64_t width) {
        return paper_mask(parse_paper_mask(name), height, width);
      },
      py::arg("name"), py::arg("height") = 28, py::arg("width") = 28);
  m.def("paper_mask_names", [] {
    std::vector<std::string> names;
    for (const auto kind : all_paper_masks()) names.push_back(to_string(kind));
    return names;
  });
  m.def("random_mask", &random_mask, py::arg("height"), py::arg("width"),
        py::arg("keep_probability"), py::arg("seed") = 0);
  m.def("read_mask_png", &read_mask_png, py::arg("path"));
}

}  // namespace

void bind_operators(py::module_& m) {
  bind_operator_interfaces(m);
  bind_library_operators(m);
  bind_composition(m);
  bind_masks(m);
}

}  // namespace mapinverse::python
