#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "mapinverse/io/atomic_write.hpp"
#include "support/temporary_directory.hpp"

using mapinverse::temporary_path;
using mapinverse::write_atomically;
using mapinverse::write_file_atomically;
using mapinverse::testing::TemporaryDirectory;
namespace fs = std::filesystem;

namespace {

std::string contents_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("write_file_atomically writes the bytes and leaves no temporary") {
  const TemporaryDirectory folder("atomic_bytes");
  const auto path = folder.file("out.bin");
  const std::string bytes("a\0b\nc", 5);
  write_file_atomically(path, bytes);
  CHECK(contents_of(path) == bytes);
  CHECK(temporary_path(path) == path + ".partial");
  CHECK_FALSE(fs::exists(temporary_path(path)));
  write_file_atomically(path, "second");
  CHECK(contents_of(path) == "second");
}

TEST_CASE("write_atomically keeps the old file and removes the temporary when writing throws") {
  const TemporaryDirectory folder("atomic_throw");
  const auto path = folder.file("report.json");
  write_file_atomically(path, "old");
  const auto failing = [](const std::string& temporary) {
    std::ofstream(temporary) << "half";
    throw std::runtime_error("disk full");
  };
  CHECK_THROWS_WITH(write_atomically(path, failing), "disk full");
  CHECK(contents_of(path) == "old");
  CHECK_FALSE(fs::exists(temporary_path(path)));
}

TEST_CASE("write_atomically removes a temporary left by an interrupted write") {
  const TemporaryDirectory folder("atomic_stale");
  const auto path = folder.file("image.png");
  std::ofstream(temporary_path(path)) << "stale";
  write_atomically(path, [](const std::string& temporary) {
    CHECK_FALSE(fs::exists(temporary));
    std::ofstream(temporary) << "fresh";
  });
  CHECK(contents_of(path) == "fresh");
}

TEST_CASE("write_atomically moves a whole folder into place") {
  const TemporaryDirectory folder("atomic_folder");
  const auto path = folder.file("restored");
  fs::create_directory(path);  // an existing empty folder is replaced
  write_atomically(path, [](const std::string& temporary) {
    fs::create_directory(temporary);
    std::ofstream(temporary + "/0.png") << "png";
  });
  CHECK(contents_of(path + "/0.png") == "png");
  CHECK_FALSE(fs::exists(temporary_path(path)));
}

TEST_CASE("write_atomically names the path and the caller when the rename fails") {
  const TemporaryDirectory folder("atomic_rename");
  const auto path = folder.file("full");
  fs::create_directory(path);
  std::ofstream(path + "/keep.txt") << "user data";
  // A file cannot replace a non-empty folder: the rename fails and nothing is lost.
  const auto write = [](const std::string& temporary) { std::ofstream(temporary) << "x"; };
  CHECK_THROWS_WITH(write_atomically(path, write, "restore"),
                    Catch::StartsWith("restore: cannot write '" + path + "'"));
  CHECK(contents_of(path + "/keep.txt") == "user data");
  CHECK_FALSE(fs::exists(temporary_path(path)));
}
