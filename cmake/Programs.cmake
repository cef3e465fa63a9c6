# The project's programs (the tool, the benchmarks, the examples, the training programs)
# share one precompiled header of LibTorch, CLI11 and nlohmann/json. Building a
# precompiled <torch/torch.h> costs about 40 s of a core and loading it about 5 s per
# translation unit, against about 14 s to parse it (CLI11: 7 s), so a header of its own
# only pays for a target with several translation units; one for all of them pays once.
find_package(CLI11 2 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)

add_library(mapinverse_program_header OBJECT ${PROJECT_SOURCE_DIR}/cmake/program_header.cpp)
target_link_libraries(mapinverse_program_header PRIVATE MapInverse::mapinverse CLI11::CLI11
  nlohmann_json::nlohmann_json)
target_precompile_headers(mapinverse_program_header PRIVATE <torch/torch.h> <CLI/CLI.hpp>
  <nlohmann/json.hpp>)
mapinverse_warnings(mapinverse_program_header)

# A program of the project: warnings, and the shared precompiled header unless its
# compile definitions differ (a precompiled header is only used with the same ones).
function(mapinverse_program target)
  mapinverse_warnings(${target})
  target_precompile_headers(${target} REUSE_FROM mapinverse_program_header)
endfunction()
