#pragma once

// The typed options of the solver classes (MapGa, MapGaPgdm, Pgdm, Dps) as Python
// classes with one attribute per option; nested structs (schedule, step) are flattened.

#include "bindings.hpp"

namespace mapinverse::python {

void bind_solver_options(py::module_& m);

}  // namespace mapinverse::python
