#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace mapinverse::examples {

/// `--name value` pairs of a command line, restricted to the names a program knows.
/// Every value has a default, so the defaults double as the usage text.
class Arguments {
 public:
  Arguments(int argc, char** argv, std::map<std::string, std::string> defaults)
      : values_(std::move(defaults)) {
    for (int i = 1; i < argc; ++i) {
      const std::string name = argv[i];
      if (name == "--help" || name == "-h") throw std::invalid_argument(usage(argv[0]));
      if (name.rfind("--", 0) != 0 || values_.count(name.substr(2)) == 0 || i + 1 >= argc) {
        throw std::invalid_argument(
            fmt::format("unknown option or missing value: '{}'\n{}", name, usage(argv[0])));
      }
      values_[name.substr(2)] = argv[++i];
    }
  }

  const std::string& text(const std::string& name) const { return values_.at(name); }

  int64_t integer(const std::string& name) const {
    return parse<int64_t>(name,
                          [](const std::string& s, size_t* end) { return std::stoll(s, end); });
  }

  double real(const std::string& name) const {
    return parse<double>(name, [](const std::string& s, size_t* end) { return std::stod(s, end); });
  }

 private:
  template <typename T, typename Parse>
  T parse(const std::string& name, Parse parse_value) const {
    const auto& value = values_.at(name);
    size_t end = 0;
    try {
      const T result = parse_value(value, &end);
      if (end == value.size()) return result;
    } catch (const std::logic_error&) {
      // Reported below together with the malformed-suffix case.
    }
    throw std::invalid_argument(fmt::format("--{}: cannot parse '{}' as a number", name, value));
  }

  std::string usage(const char* program) const {
    std::string text = fmt::format("usage: {}", program);
    for (const auto& [name, value] : values_) text += fmt::format(" [--{} {}]", name, value);
    return text;
  }

  std::map<std::string, std::string> values_;
};

}  // namespace mapinverse::examples
