// Running out of GPU memory in the command-line tool: the run must end with a message
// that names the batch size and suggests a smaller one, and leave no output behind (the
// tool does not split the batch itself). GPU memory is made scarce by a second process,
// this executable in its --hold-gpu-memory mode (device/main.cpp), which takes all but
// about 1 GiB of the device; the tool then solves 1024 images at once.

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "device/test_device.hpp"
#include "support/temporary_directory.hpp"

extern char** environ;

namespace {

/// This executable in its --hold-gpu-memory mode, until destroyed.
class GpuMemoryHolder {
 public:
  explicit GpuMemoryHolder(int64_t leave_mib) {
    int pipe_ends[2];
    REQUIRE(::pipe(pipe_ends) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_ends[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_ends[0]);
    std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    std::string mode = "--hold-gpu-memory";
    std::string leave = std::to_string(leave_mib);
    char* arguments[] = {self.data(), mode.data(), leave.data(), nullptr};
    REQUIRE(posix_spawn(&pid_, self.c_str(), &actions, nullptr, arguments, environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_ends[1]);
    // The holder prints one line once it holds the memory.
    std::FILE* out = ::fdopen(pipe_ends[0], "r");
    char line[256] = {0};
    const bool ready = std::fgets(line, sizeof line, out) != nullptr;
    std::fclose(out);
    INFO("holder: " << line);
    REQUIRE(ready);
    REQUIRE(std::string(line).rfind("holding", 0) == 0);
  }
  ~GpuMemoryHolder() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  GpuMemoryHolder(const GpuMemoryHolder&) = delete;
  GpuMemoryHolder& operator=(const GpuMemoryHolder&) = delete;

 private:
  pid_t pid_ = 0;
};

}  // namespace

TEST_CASE("the tool out of GPU memory names the batch size and suggests a smaller one") {
#ifndef MAPINVERSE_TOOL
  WARN("the mapinverse tool is not built (MAPINVERSE_BUILD_APPS=OFF): nothing to test");
#else
  if (!mapinverse::testing::test_device()->is_cuda()) {
    WARN("GPU memory only: skipped on " << mapinverse::testing::test_device()->str());
    return;
  }
  const mapinverse::testing::TemporaryDirectory folder("device_out_of_memory");
  const auto output = folder.file("restored");
  const auto log = folder.file("log.txt");
  int status = 0;
  {
    const GpuMemoryHolder holder(1024);
    const std::string command =
        std::string(MAPINVERSE_TOOL) +
        " --threads 1 restore --quiet --device cuda --fmnist-range 0:1024 --batch 1024 "
        "--time-steps 1 --iterations 1 --output-dir '" +
        output + "' > '" + log + "' 2>&1";
    status = std::system(command.c_str());
  }
  std::ifstream in(log);
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  INFO(text);
  CHECK(status != 0);
  CHECK_THAT(text, Catch::Contains("out of memory on cuda"));
  CHECK_THAT(text, Catch::Contains("--batch 1024 is too large for this device: use a smaller "
                                   "one, e.g. --batch 512"));
  CHECK_FALSE(std::filesystem::exists(output));
  CHECK_FALSE(std::filesystem::exists(output + ".partial"));
#endif
}
