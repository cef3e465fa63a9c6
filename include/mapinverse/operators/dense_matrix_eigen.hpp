#pragma once

// DenseMatrix from Eigen matrices, for small operators written with Eigen (tests,
// prototypes). Kept out of dense_matrix.hpp so that only programs that use Eigen read
// its headers; link Eigen3::Eigen to use it.

#include <memory>

#include <ATen/ops/from_blob.h>
#include <Eigen/Dense>

#include "mapinverse/core/tensor.hpp"
#include "mapinverse/operators/dense_matrix.hpp"

namespace mapinverse {

/// An Eigen matrix as a float64 CPU tensor [rows, cols] (a copy).
inline at::Tensor eigen_to_tensor(const Eigen::MatrixXd& matrix) {
  // Eigen is column-major: view it with transposed strides, then copy row-major.
  return at::from_blob(const_cast<double*>(matrix.data()), {matrix.rows(), matrix.cols()},
                       {1, matrix.rows()}, at::kDouble)
      .clone(at::MemoryFormat::Contiguous);
}

/// H from Eigen, kept as float64 on the CPU.
inline std::shared_ptr<const DenseMatrix> make_dense_matrix(const Eigen::MatrixXd& matrix,
                                                            const DenseMatrix::Options& options) {
  return std::make_shared<const DenseMatrix>(eigen_to_tensor(matrix), options);
}

}  // namespace mapinverse
