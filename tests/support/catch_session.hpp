#pragma once

namespace mapinverse::testing {

/// Runs Catch2's session on the command line (tests/catch_session.cpp). Catch's
/// implementation is compiled once there, without LibTorch, and both test mains
/// (tests/main.cpp, tests/device/main.cpp) call it.
int run_catch_session(int argc, char* argv[]);

}  // namespace mapinverse::testing
