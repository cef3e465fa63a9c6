#pragma once

// bench's outputs: the tables as Markdown (printed and in tables.md), results.json and
// one figure per table (rows: masks; columns: original, masked, then the methods).

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "bench.hpp"
#include "bench_evaluation.hpp"

namespace mapinverse::cli {

struct Row {
  std::string method;
  std::optional<double> sigma_y;
  std::map<std::string, Cell> cells;  // by mask
};

struct Table {
  int number = 0;
  std::string title;
  std::vector<Row> rows;
};

/// Figure file name -> its rows of tiles, one [tiles, 1, 28, 28] tensor per mask.
using Figures = std::map<std::string, std::vector<torch::Tensor>>;

/// What the results say about the run beyond its tables.
struct RunFacts {
  std::string prior;
  int ranks = 1;
  double seconds = 0.0;
  size_t reused_cells = 0;
};

/// Writes tables.md, results.json and the figures into arguments.out, and prints the
/// tables and where they went.
void write_results(const BenchArguments& arguments, const std::vector<Table>& tables,
                   const Figures& figures, const RunFacts& facts);

}  // namespace mapinverse::cli
