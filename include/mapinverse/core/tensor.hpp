#pragma once

// The part of LibTorch the public headers build on: the Tensor type with its methods,
// tensor options, generators and the autograd/inference mode guards. <torch/torch.h>
// (the whole C++ frontend, about 400,000 preprocessed lines) is left to the library's
// sources and to programs that want it; a header that calls a free ATen function
// includes that function's own <ATen/ops/NAME.h>.

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

// Tensor arithmetic operators (x * y, 2.0 * x, ...). Their header pulls in every ATen
// function unless per-operator headers are asked for; ask for them just while it is read.
#ifdef AT_PER_OPERATOR_HEADERS
#include <ATen/TensorOperators.h>
#else
#define AT_PER_OPERATOR_HEADERS
#include <ATen/TensorOperators.h>
#undef AT_PER_OPERATOR_HEADERS
#endif
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <c10/core/ScalarType.h>
#include <c10/core/TensorOptions.h>
