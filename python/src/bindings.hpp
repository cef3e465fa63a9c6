#pragma once

// The Python module mapinverse._core: one function per part of the library that adds
// its classes and functions to the module (python/src/bind_*.cpp).

#include <memory>

#include <torch/csrc/utils/pybind.h>
#include <pybind11/functional.h>
#include <pybind11/stl.h>

namespace mapinverse::python {

namespace py = pybind11;

/// Python's classes hold the library's objects through shared_ptr<T>; the library hands
/// out shared_ptr<const T> (its objects are immutable). Constness is restored wherever
/// Python passes them back in.
template <typename T>
std::shared_ptr<T> unconst(const std::shared_ptr<const T>& pointer) {
  return std::const_pointer_cast<T>(pointer);
}

void bind_errors(py::module_& m);
void bind_operators(py::module_& m);
void bind_models(py::module_& m);
void bind_solvers(py::module_& m);
void bind_utilities(py::module_& m);

}  // namespace mapinverse::python
