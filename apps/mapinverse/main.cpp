// mapinverse: restore images with diffusion-model priors, reproduce the seed paper's
// tables on Fashion-MNIST, and draw samples.
//
//   mapinverse restore --fmnist-test 0 --mask half --solver map-ga -o restored.png
//   mapinverse bench --quick
//   mapinverse sample --sampler consistency -o samples.png

#include <iostream>
#include <new>
#include <string>

#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include "bench.hpp"
#include "limits.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/version.hpp"
#include "restore.hpp"
#include "sample.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "MapInverse: inverse problems solved with diffusion-model priors (MAP-GA, "
      "MAP-GA-PGDM, PGDM, DPS)"};
  app.set_version_flag("--version", std::string("mapinverse ") + mapinverse::kVersionString);
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads,
                 "LibTorch intra-op threads (default: LibTorch's choice, usually one per core)")
      ->check(CLI::Range(1, mapinverse::cli::kMaxThreads));

  mapinverse::cli::RestoreArguments restore;
  restore.add_to(
      *app.add_subcommand("restore", "degrade an image with an operator and restore it"));
  mapinverse::cli::BenchArguments bench;
  bench.add_to(*app.add_subcommand("bench", "the seed paper's Tables 1-3 on Fashion-MNIST"));
  mapinverse::cli::SampleArguments sample;
  sample.add_to(*app.add_subcommand("sample", "a grid of unconditional samples from a prior"));

  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) mapinverse::set_thread_count(threads);
    if (app.got_subcommand("restore")) return mapinverse::cli::run_restore(restore);
    if (app.got_subcommand("bench")) return mapinverse::cli::run_bench(bench);
    return mapinverse::cli::run_sample(sample);
  } catch (const c10::Error& error) {
    // LibTorch's own message: its first line (the rest is a C++ backtrace, of no use to
    // the user) and what the tool was doing.
    const std::string text = error.what_without_backtrace();
    std::cerr << "mapinverse: error while " << mapinverse::cli::current_activity()
              << ": LibTorch: " << text.substr(0, text.find('\n')) << '\n';
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "mapinverse: error while " << mapinverse::cli::current_activity()
              << ": out of memory\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "mapinverse: error: " << error.what() << '\n';
    return 1;
  }
}
