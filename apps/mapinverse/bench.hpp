#pragma once

#include "bench_arguments.hpp"

namespace mapinverse::cli {

/// Runs `mapinverse bench` (bench.cpp).
int run_bench(BenchArguments arguments);

}  // namespace mapinverse::cli
