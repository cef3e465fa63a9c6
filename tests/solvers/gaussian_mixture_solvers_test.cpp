#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

// torch before Catch: glog, pulled in by torch, defines its own CHECK.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "mapinverse/metrics/distribution_distances.hpp"
#include "mapinverse/models/gaussian_mixture_posterior.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/models/ode_consistency.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/solvers/dps.hpp"
#include "mapinverse/solvers/map_ga.hpp"
#include "mapinverse/solvers/pgdm.hpp"
#include "support/mixture_problem.hpp"

using namespace mapinverse;
using mapinverse::testing::MixtureProblem;

namespace {

constexpr int64_t kMixtureSamples = 1000;

}  // namespace

TEST_CASE("PGDM and DPS on a Gaussian mixture: closer to the exact posterior than the prior") {
  for (double sigma_y : {0.05, 0.2}) {
    const MixtureProblem fixture(sigma_y);
    const auto exact = fixture.exact();
    auto generator = make_generator(7);
    const auto reference = exact.sample(kMixtureSamples, generator);
    const double floor = sliced_wasserstein(exact.sample(kMixtureSamples, generator), reference);
    const double prior_distance =
        sliced_wasserstein(fixture.prior->sample(kMixtureSamples, generator), reference);

    Pgdm::Options pgdm;
    pgdm.schedule.num_steps = 100;
    const auto pgdm_samples =
        Pgdm(fixture.models(), pgdm).solve(fixture.problem(kMixtureSamples)).estimate;
    Dps::Options dps;
    dps.schedule.num_steps = 200;
    dps.zeta = 0.3;
    const auto dps_samples =
        Dps(fixture.models(), dps).solve(fixture.problem(kMixtureSamples)).estimate;
    const double pgdm_distance = sliced_wasserstein(pgdm_samples, reference);
    const double dps_distance = sliced_wasserstein(dps_samples, reference);
    INFO("sigma_y " << sigma_y << ": prior " << prior_distance << ", PGDM " << pgdm_distance
                    << ", DPS " << dps_distance << ", floor " << floor);
    // The floor is the distance sampling noise alone gives (1,000 samples). Over six
    // reference seeds the prior was 10-26 floors away, PGDM (100 steps) 0.7-6.7 and DPS
    // (zeta = 0.3, which under-fits y) 2.2-11.9. The bounds, 10 floors for PGDM and 15
    // for DPS, leave room for another random stream; the prior-relative bounds (at most
    // 0.33 and 0.48 of the prior's distance measured) keep them meaningful where the
    // floor happens to be large.
    CHECK(floor < 0.15 * prior_distance);
    CHECK(pgdm_distance < 10 * floor);
    CHECK(dps_distance < 15 * floor);
    CHECK(pgdm_distance < 0.5 * prior_distance);
    CHECK(dps_distance < 0.6 * prior_distance);
  }
}

TEST_CASE("MAP-GA on a Gaussian mixture lands near the exact MAP") {
  const MixtureProblem fixture(0.05);
  const auto exact = fixture.exact();
  const auto best = exact.map();
  MapGa::Options options;
  options.num_time_steps = 20;
  options.num_iter = 20;
  const auto estimate = MapGa(fixture.models(), options).solve(fixture.problem(16)).estimate;
  const auto log_posterior = exact.log_density(estimate);
  const double best_found = log_posterior.max().item<double>();
  const double median = log_posterior.median().item<double>();
  INFO("exact MAP log-posterior " << best.log_density << ", MAP-GA best " << best_found
                                  << ", median " << median);
  CHECK(best_found > best.log_density - 0.05);
  // The exact MAP is the global maximum of the log-posterior (its mode search converges
  // to 1e-10, where the log-density is flat), so no estimate may exceed it beyond
  // rounding: this fails if exact.map() returned a lesser mode (the other one here is
  // 0.07 nats lower) or a point off the mode. MAP-GA's best was 2.8e-7 below it.
  CHECK(best_found <= best.log_density + 1e-9);
  CHECK(median > best.log_density - 1.0);
}
