#pragma once

// bench's outputs: the tables as Markdown (printed and in tables.md), results.json and
// one labelled figure per table (rows: masks; columns: truth, measurement, the methods).

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "bench_arguments.hpp"
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

/// One figure: a row of tiles [columns, C, H, W] in [-1, 1] per mask, and the labels.
struct Figure {
  std::vector<std::string> columns;  // "truth", "measurement", then the methods
  std::vector<std::string> rows;     // the masks
  std::vector<torch::Tensor> tiles;
};

/// Figure file name -> the figure.
using Figures = std::map<std::string, Figure>;

/// What the results say about the run beyond its tables.
struct RunFacts {
  std::string prior;
  std::string images;  // which images were restored
  int ranks = 1;
  double seconds = 0.0;
  size_t reused_cells = 0;
  bool frechet = true;  // whether the cells have a Frechet distance
  bool lpips = false;   // whether the cells have LPIPS
};

/// Writes tables.md, results.json and the figures into arguments.out, and prints the
/// tables and where they went.
void write_results(const BenchArguments& arguments, const std::vector<Table>& tables,
                   const Figures& figures, const RunFacts& facts);

}  // namespace mapinverse::cli
