#include "mapinverse/core/threads.hpp"
#include "support/catch_session.hpp"

int main(int argc, char* argv[]) {
  // Tests are small; one thread keeps them deterministic and avoids
  // oversubscribing the machine when CTest runs several at once.
  mapinverse::set_thread_count(1);
  return mapinverse::testing::run_catch_session(argc, argv);
}
