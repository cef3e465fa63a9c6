#pragma once

#include <Eigen/Dense>
#include <torch/torch.h>

namespace mapinverse::testing {

/// Row-major dynamic matrix: the memory layout of a contiguous 2-D tensor.
using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The entries of `tensor`, flattened in row-major order, as a float64 Eigen vector.
inline Eigen::VectorXd to_vector(const torch::Tensor& tensor) {
  const auto flat = tensor.to(torch::kFloat64).contiguous().reshape({-1});
  return Eigen::Map<const Eigen::VectorXd>(flat.data_ptr<double>(), flat.numel());
}

/// A 2-D tensor as a float64 Eigen matrix of the same rows and columns.
inline Eigen::MatrixXd to_matrix(const torch::Tensor& tensor) {
  const auto values = tensor.to(torch::kFloat64).contiguous();
  return Eigen::Map<const RowMajorMatrix>(values.data_ptr<double>(), values.size(0),
                                          values.size(1));
}

/// An Eigen matrix as a float64 tensor [rows, cols] that owns its memory.
inline torch::Tensor to_tensor(const Eigen::MatrixXd& matrix) {
  const RowMajorMatrix row_major = matrix;
  return torch::from_blob(const_cast<double*>(row_major.data()), {matrix.rows(), matrix.cols()},
                          torch::kFloat64)
      .clone();
}

/// An Eigen vector as a float64 tensor [size] that owns its memory.
inline torch::Tensor to_tensor(const Eigen::VectorXd& vector) {
  return torch::from_blob(const_cast<double*>(vector.data()), {vector.size()}, torch::kFloat64)
      .clone();
}

}  // namespace mapinverse::testing
