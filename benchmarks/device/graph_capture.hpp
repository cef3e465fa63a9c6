#pragma once

// What a CUDA graph buys for the network part of one PGDM step (the denoiser forward with
// autograd, the data term and one vector-Jacobian product): the same step run eagerly and
// replayed from a captured graph, timed back to back on the same inputs.

#include <nlohmann/json.hpp>

#include "mapinverse/mapinverse.hpp"

/// {"eager_ms": .., "graph_ms": .., "speedup": .., "max_abs_difference": ..} per step, or
/// {"error": "..."} where capture failed (or the build has no CUDA).
nlohmann::json compare_graph_replay(const mapinverse::PriorModels& models,
                                    const mapinverse::Problem& problem, int replays);
