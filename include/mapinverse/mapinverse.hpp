#pragma once

// Everything MapInverse offers, in one include, at a fraction of <torch/torch.h>'s
// compile time. Each header can also be included alone. Not included here, because
// their declarations need LibTorch's C++ frontend: mapinverse/models/unet.hpp and
// mapinverse/models/classifier.hpp (the torch::nn modules, for training programs),
// mapinverse/operators/dense_matrix_eigen.hpp (Eigen interoperation).

#include "mapinverse/version.hpp"

#include "mapinverse/core/error.hpp"
#include "mapinverse/core/noise_schedule.hpp"
#include "mapinverse/core/random.hpp"
#include "mapinverse/core/tensor_checks.hpp"
#include "mapinverse/core/threads.hpp"
#include "mapinverse/core/time_steps.hpp"
#include "mapinverse/core/autograd.hpp"
#include "mapinverse/core/tensor.hpp"

#include "mapinverse/operators/average_pool.hpp"
#include "mapinverse/operators/composition.hpp"
#include "mapinverse/operators/dense_matrix.hpp"
#include "mapinverse/operators/forward_operator.hpp"
#include "mapinverse/operators/gaussian_blur.hpp"
#include "mapinverse/operators/inpainting.hpp"
#include "mapinverse/operators/linearisation.hpp"
#include "mapinverse/operators/masks.hpp"
#include "mapinverse/operators/pointwise.hpp"

#include "mapinverse/models/consistency_model.hpp"
#include "mapinverse/models/denoiser.hpp"
#include "mapinverse/models/denoiser_as_consistency.hpp"
#include "mapinverse/models/gaussian_mixture_fit.hpp"
#include "mapinverse/models/gaussian_mixture_posterior.hpp"
#include "mapinverse/models/gaussian_mixture_prior.hpp"
#include "mapinverse/models/network.hpp"
#include "mapinverse/models/ode_consistency.hpp"
#include "mapinverse/models/preconditioning.hpp"
#include "mapinverse/models/pretrained.hpp"
#include "mapinverse/models/torchscript.hpp"
#include "mapinverse/models/unet_options.hpp"

#include "mapinverse/optimizers/adam.hpp"
#include "mapinverse/optimizers/by_name.hpp"
#include "mapinverse/optimizers/gradient_ascent.hpp"
#include "mapinverse/optimizers/momentum.hpp"
#include "mapinverse/optimizers/optimizer.hpp"

#include "mapinverse/distributed/process_group.hpp"

#include "mapinverse/solvers/daps.hpp"
#include "mapinverse/solvers/ddrm.hpp"
#include "mapinverse/solvers/diffpir.hpp"
#include "mapinverse/solvers/dps.hpp"
#include "mapinverse/solvers/iteration.hpp"
#include "mapinverse/solvers/map_ga.hpp"
#include "mapinverse/solvers/map_ga_pgdm.hpp"
#include "mapinverse/solvers/pgdm.hpp"
#include "mapinverse/solvers/problem.hpp"
#include "mapinverse/solvers/registry.hpp"
#include "mapinverse/solvers/reverse_diffusion_solver.hpp"
#include "mapinverse/solvers/reverse_step.hpp"
#include "mapinverse/solvers/solver.hpp"
#include "mapinverse/solvers/summary.hpp"
#include "mapinverse/solvers/unconditional_samplers.hpp"
#include "mapinverse/solvers/warm_start.hpp"

#include "mapinverse/metrics/distribution_distances.hpp"
#include "mapinverse/metrics/image_quality.hpp"

#include "mapinverse/io/atomic_write.hpp"
#include "mapinverse/io/idx.hpp"
#include "mapinverse/io/png.hpp"
