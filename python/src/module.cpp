// mapinverse._core: the compiled half of the Python package mapinverse
// (python/mapinverse/__init__.py is the other). Tensors cross without copies through
// LibTorch's own pybind11 type casters, the ones torch's C++ extensions use.

#include "bindings.hpp"
#include "mapinverse/core/error.hpp"
#include "mapinverse/version.hpp"

namespace mapinverse::python {

// std::invalid_argument (bad input) is ValueError by pybind11's own translation;
// NumericalError (NaN or Inf inside a solve) gets a Python class of its own.
void bind_errors(py::module_& m) {
  py::register_exception<NumericalError>(m, "NumericalError", PyExc_ArithmeticError);
}

}  // namespace mapinverse::python

PYBIND11_MODULE(_core, m) {
  namespace python = mapinverse::python;
  m.doc() = "MapInverse's C++ library: operators, priors, solvers (use the package mapinverse)";
  m.attr("__version__") = mapinverse::kVersionString;
  python::bind_errors(m);
  python::bind_operators(m);
  python::bind_models(m);
  python::bind_solvers(m);
  python::bind_utilities(m);
}
