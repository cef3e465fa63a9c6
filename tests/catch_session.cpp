// Catch2's implementation (CATCH_CONFIG_RUNNER: everything but main), compiled once for
// every test executable. It includes nothing of LibTorch, so it needs no precompiled
// header.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "support/catch_session.hpp"

namespace mapinverse::testing {

int run_catch_session(int argc, char* argv[]) { return Catch::Session().run(argc, argv); }

}  // namespace mapinverse::testing
