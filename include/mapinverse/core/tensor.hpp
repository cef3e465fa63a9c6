#pragma once

// The part of LibTorch the public headers build on: the Tensor type with its methods,
// tensor options, generators and the autograd/inference mode guards. Headers declare;
// code that computes with tensors (operators such as x * y and ATen's free functions,
// whose headers alone cost as much again as <ATen/core/Tensor.h>) compiles in src/,
// which includes <torch/torch.h>, precompiled. See docs/design.md, "Headers".

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <c10/core/ScalarType.h>
#include <c10/core/TensorOptions.h>
