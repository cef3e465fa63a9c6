"""Plain-PyTorch reference implementation of MapInverse's U-Net, preconditioning and
solver loops (MAP-GA, PGDM, DPS, MAP-GA-PGDM) for inpainting problems.

Every function mirrors a C++ header in include/mapinverse/ operation for operation:
same arithmetic order, same float dtype (float32 tensors, Python floats where C++ has
doubles), and the same sequence of random draws from a CPU generator seeded with
Problem.seed, so that with the same seed, thread count and LibTorch build the results
agree with the C++ solvers to float tolerance (often bit for bit).

Only the standard library and torch are used (Debian's python3-torch 1.13 is the same
libtorch the C++ build links against).

Notes on matching C++ arithmetic exactly
----------------------------------------
* C++ ``double / Tensor`` is ``empty_like(t).fill_(s).div_(t)`` (ATen's
  TensorOperators.h), whereas Python's ``float / Tensor`` is ``t.reciprocal() * s``;
  the two can differ in the last bit, so the scalar-on-the-left divisions and
  subtractions of the C++ code are written with ``_rdiv`` / ``_rsub`` below.
* ``Tensor * double`` and ``double * Tensor`` are both ``Tensor.mul(Scalar)`` in C++ and
  in Python, so they are written naturally.
* ``torch::scalar_tensor(t, x.options())`` becomes ``torch.scalar_tensor(t, dtype=x.dtype)``
  (double -> float32 rounding happens in the same place).
"""

import math
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

# include/mapinverse/core/noise_schedule.hpp
K_EPSILON = 0.002
K_TIME_MAX = 80.0
K_SIGMA_DATA = 0.5

__all__ = [
    "K_EPSILON", "K_TIME_MAX", "K_SIGMA_DATA",
    "UNetOptions", "UNet", "load_unet",
    "EdmDenoiser", "BoundaryConsistency", "DenoiserAsConsistency",
    "edm_denoiser", "boundary_consistency", "denoiser_as_consistency",
    "time_steps", "reverse_schedule_times", "paper_mask", "random_mask", "PAPER_MASKS",
    "Inpainting", "Problem", "make_generator", "randn_like",
    "data_term", "map_ga", "pgdm", "dps", "map_ga_pgdm",
    "bench_noise_seed", "bench_problem",
]


# ---------------------------------------------------------------------------------------
# Helpers reproducing C++ scalar-on-the-left operators (ATen TensorOperators.h).
# ---------------------------------------------------------------------------------------

def _rdiv(scalar: float, tensor: torch.Tensor) -> torch.Tensor:
    """C++ ``double / Tensor``: empty_like(t).fill_(s).div_(t)."""
    return torch.empty_like(tensor, memory_format=torch.preserve_format).fill_(scalar).div_(tensor)


def _rsub(scalar: float, tensor: torch.Tensor) -> torch.Tensor:
    """C++ ``double - Tensor``: empty_like(t).fill_(s).sub_(t)."""
    return torch.empty_like(tensor, memory_format=torch.preserve_format).fill_(scalar).sub_(tensor)


# ---------------------------------------------------------------------------------------
# Randomness: include/mapinverse/core/random.hpp
# ---------------------------------------------------------------------------------------

def make_generator(seed: int) -> torch.Generator:
    """C++ make_generator(seed): at::detail::createCPUGenerator(seed) (mt19937 seeded with
    `seed`, no cached normal sample) == a fresh torch.Generator().manual_seed(seed)."""
    return torch.Generator(device="cpu").manual_seed(int(seed) & 0xFFFFFFFFFFFFFFFF)


def randn_like(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """C++ randn_like(like, generator): N(0, I) of like's shape and dtype, drawn on the CPU."""
    noise = torch.randn(tuple(like.shape), generator=generator, dtype=like.dtype, device="cpu")
    return noise.to(like.device)


def _randn(shape, dtype, device, generator: torch.Generator) -> torch.Tensor:
    """C++ randn(sizes, options, generator)."""
    return torch.randn(tuple(shape), generator=generator, dtype=dtype, device="cpu").to(device)


# ---------------------------------------------------------------------------------------
# U-Net: include/mapinverse/models/unet.hpp
# ---------------------------------------------------------------------------------------

@dataclass
class UNetOptions:
    in_channels: int = 1
    base_channels: int = 24
    channel_multipliers: List[int] = field(default_factory=lambda: [1, 2, 3])
    blocks_per_level: int = 1
    embedding_dim: int = 128
    fourier_features: int = 32
    min_frequency: float = 1.0
    max_frequency: float = 100.0
    num_groups: int = 8
    num_classes: int = 0

    def channels(self, level: int) -> int:
        return self.base_channels * self.channel_multipliers[level]


class _UNetResidualBlock(nn.Module):
    """detail::UNetResidualBlockImpl: GroupNorm-SiLU-conv, + Linear(embedding) shift,
    GroupNorm-SiLU-conv, 1x1 skip conv when channels differ, sum scaled by 1/sqrt(2)."""

    def __init__(self, in_channels, out_channels, embedding_dim, num_groups):
        super().__init__()
        # Registration order as in C++ (norm1, conv1, embedding, norm2, conv2, skip).
        self.norm1 = nn.GroupNorm(num_groups, in_channels)  # eps 1e-5, affine, as LibTorch
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.embedding = nn.Linear(embedding_dim, out_channels)
        self.norm2 = nn.GroupNorm(num_groups, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        if in_channels != out_channels:
            self.skip = nn.Conv2d(in_channels, out_channels, 1)
        else:
            self.skip = None

    def forward(self, x, embedding):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.embedding(embedding).unsqueeze(-1).unsqueeze(-1)
        h = self.conv2(F.silu(self.norm2(h)))
        shortcut = self.skip(x) if self.skip is not None else x
        return (shortcut + h) * (1.0 / math.sqrt(2.0))


class UNet(nn.Module):
    """UNetImpl: F(x_in, c_noise, labels). Parameter and buffer names equal the C++
    module's named_parameters()/named_buffers() (e.g. "down1_0.skip.weight",
    "upsample2.bias", "frequencies")."""

    def __init__(self, options: Optional[UNetOptions] = None):
        super().__init__()
        o = options if options is not None else UNetOptions()
        self.options = o
        levels = len(o.channel_multipliers)
        self.register_buffer(
            "frequencies",
            torch.exp(torch.linspace(math.log(o.min_frequency), math.log(o.max_frequency),
                                     o.fourier_features, dtype=torch.float32)))
        self.embedding_in = nn.Linear(2 * o.fourier_features, o.embedding_dim)
        self.embedding_out = nn.Linear(o.embedding_dim, o.embedding_dim)
        if o.num_classes > 0:
            self.label_embedding = nn.Embedding(o.num_classes, o.embedding_dim)
        else:
            self.label_embedding = None
        self.input = nn.Conv2d(o.in_channels, o.channels(0), 3, padding=1)

        def block(cin, cout):
            return _UNetResidualBlock(cin, cout, o.embedding_dim, o.num_groups)

        # Plain lists (not ModuleList) so that names stay "down0_0", not "down_blocks.0".
        self._down_blocks, self._downsamples = [], []
        self._middle_blocks, self._up_blocks, self._upsamples = [], [], []
        skip_channels = []
        channels = o.channels(0)
        for level in range(levels):
            for b in range(o.blocks_per_level):
                m = block(channels, o.channels(level))
                self.add_module(f"down{level}_{b}", m)
                self._down_blocks.append(m)
                channels = o.channels(level)
                skip_channels.append(channels)
            if level + 1 < levels:
                m = nn.Conv2d(channels, channels, 3, stride=2, padding=1)
                self.add_module(f"downsample{level}", m)
                self._downsamples.append(m)
        for b in range(2):
            m = block(channels, channels)
            self.add_module(f"middle{b}", m)
            self._middle_blocks.append(m)
        for level in reversed(range(levels)):
            for b in range(o.blocks_per_level):
                m = block(channels + skip_channels[-1], o.channels(level))
                self.add_module(f"up{level}_{b}", m)
                self._up_blocks.append(m)
                skip_channels.pop()
                channels = o.channels(level)
            if level > 0:
                m = nn.Conv2d(channels, channels, 3, padding=1)
                self.add_module(f"upsample{level}", m)
                self._upsamples.append(m)
        self.output_norm = nn.GroupNorm(o.num_groups, channels)
        self.output = nn.Conv2d(channels, o.in_channels, 3, padding=1)
        with torch.no_grad():
            self.output.weight.zero_()
            self.output.bias.zero_()

    def forward(self, x_in: torch.Tensor, c_noise: torch.Tensor,
                labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        o = self.options
        assert x_in.dim() == 4 and x_in.size(1) == o.in_channels, tuple(x_in.shape)
        assert c_noise.shape == (x_in.size(0),), (tuple(c_noise.shape), tuple(x_in.shape))
        assert c_noise.dtype == x_in.dtype
        assert (labels is None) == (o.num_classes == 0)
        angles = c_noise.unsqueeze(1) * self.frequencies.to(c_noise.dtype)
        embedding = self.embedding_out(
            F.silu(self.embedding_in(torch.cat([angles.cos(), angles.sin()], 1))))
        if self.label_embedding is not None:
            embedding = embedding + self.label_embedding(labels)
        embedding = F.silu(embedding)

        skips = []
        h = self.input(x_in)
        block = 0
        for level in range(len(o.channel_multipliers)):
            for _ in range(o.blocks_per_level):
                h = self._down_blocks[block](h, embedding)
                skips.append(h)
                block += 1
            if level < len(self._downsamples):
                h = self._downsamples[level](h)
        for middle in self._middle_blocks:
            h = middle(h, embedding)
        block = 0
        upsample = 0
        for level in reversed(range(len(o.channel_multipliers))):
            for _ in range(o.blocks_per_level):
                h = self._up_blocks[block](torch.cat([h, skips[-1]], 1), embedding)
                skips.pop()
                block += 1
            if level > 0:
                # C++: conv first, then nearest-neighbour x2 (scale_factor {2.0, 2.0}).
                h = F.interpolate(self._upsamples[upsample](h), scale_factor=(2.0, 2.0),
                                  mode="nearest")
                upsample += 1
        return self.output(F.silu(self.output_norm(h)))


def load_unet(path: str, options: Optional[UNetOptions] = None) -> UNet:
    """Reads a file written by C++ ``torch::save(unet, path)`` (opened with torch.jit.load)
    into a Python UNet, asserting that every parameter and buffer name and shape match
    (both ways). Like C++ detail::load_module: eval mode, parameters without grad."""
    unet = UNet(options)
    saved = torch.jit.load(path, map_location="cpu")
    saved_tensors = dict(saved.named_parameters())
    saved_buffers = dict(saved.named_buffers())
    overlap = set(saved_tensors) & set(saved_buffers)
    assert not overlap, f"names both parameter and buffer: {sorted(overlap)}"
    saved_tensors.update(saved_buffers)
    own = dict(unet.named_parameters())
    own.update(dict(unet.named_buffers()))
    missing = sorted(set(own) - set(saved_tensors))
    unexpected = sorted(set(saved_tensors) - set(own))
    assert not missing and not unexpected, \
        f"{path}: missing {missing}, unexpected {unexpected}"
    with torch.no_grad():
        for name, tensor in own.items():
            source = saved_tensors[name]
            assert tuple(source.shape) == tuple(tensor.shape), \
                f"{path}: {name} has shape {tuple(source.shape)}, expected {tuple(tensor.shape)}"
            assert source.dtype == tensor.dtype, f"{path}: {name} has dtype {source.dtype}"
            tensor.copy_(source.detach())
    unet.eval()
    for parameter in unet.parameters():
        parameter.requires_grad_(False)
    return unet


# ---------------------------------------------------------------------------------------
# Preconditioning: include/mapinverse/models/{denoiser,consistency_model,preconditioning,
# denoiser_as_consistency}.hpp
# ---------------------------------------------------------------------------------------

def _per_sample(sigma, x: torch.Tensor) -> torch.Tensor:
    """per_sample, after Denoiser::denoise(x, double) / origin(z, double) turned a
    double into torch::scalar_tensor(sigma, x.options())."""
    if not isinstance(sigma, torch.Tensor):
        sigma = torch.scalar_tensor(float(sigma), dtype=x.dtype, device=x.device)
    assert sigma.dim() == 0 or (sigma.dim() == 1 and sigma.size(0) in (x.size(0), 1)), \
        tuple(sigma.shape)
    shape = [1] * x.dim()
    shape[0] = 1 if sigma.dim() == 0 else sigma.size(0)
    return sigma.to(dtype=x.dtype, device=x.device).reshape(shape)


def _noise_input_vector(value: torch.Tensor, batch: int) -> torch.Tensor:
    return value.reshape(-1).expand(batch)


class EdmDenoiser:
    """EdmDenoiser: D(x, sigma) = c_skip x + c_out F(c_in x, ln(sigma)/4)."""

    network_calls_per_evaluation = 1

    def __init__(self, network: UNet, sigma_data: float = K_SIGMA_DATA):
        self.network = network
        self.sigma_data = float(sigma_data)

    @staticmethod
    def schedule_sigma(t):
        return t  # EdmSchedule: sigma(t) = t

    def __call__(self, x: torch.Tensor, sigma, labels=None) -> torch.Tensor:
        return self.denoise(x, sigma, labels)

    def denoise(self, x: torch.Tensor, sigma, labels=None) -> torch.Tensor:
        assert x.is_floating_point() and x.dim() >= 1
        return self._evaluate(x, _per_sample(sigma, x), labels)

    def _evaluate(self, x, sigma, labels):
        sd = self.sigma_data
        variance = sigma.square() + sd * sd
        c_skip = _rdiv(sd * sd, variance)
        c_out = sigma * sd * variance.rsqrt()
        c_in = variance.rsqrt()
        c_noise = _noise_input_vector(sigma.log() / 4.0, x.size(0))
        return c_skip * x + c_out * self.network(c_in * x, c_noise, labels)


class BoundaryConsistency:
    """BoundaryConsistency (NoiseInput::kEdmLogQuarter by default):
    C(z, t) = c_skip(t) z + c_out(t) F(c_in z, ln(t)/4)."""

    network_calls_per_evaluation = 1

    def __init__(self, network: UNet, sigma_data: float = K_SIGMA_DATA,
                 epsilon: float = K_EPSILON, noise_input: str = "edm"):
        assert noise_input in ("edm", "openai")
        self.network = network
        self.sigma_data = float(sigma_data)
        self.epsilon = float(epsilon)
        self.noise_input = noise_input

    @staticmethod
    def schedule_sigma(t):
        return t

    def __call__(self, z, t, labels=None):
        return self.origin(z, t, labels)

    def origin(self, z: torch.Tensor, t, labels=None) -> torch.Tensor:
        assert z.is_floating_point() and z.dim() >= 1
        return self._evaluate(z, _per_sample(t, z), labels)

    def _evaluate(self, z, t, labels):
        sd = self.sigma_data
        shifted = t - self.epsilon
        c_skip = _rdiv(sd * sd, shifted.square() + sd * sd)
        c_out = shifted * sd * (t.square() + sd * sd).rsqrt()
        c_in = (t.square() + sd * sd).rsqrt()
        scale = 250.0 if self.noise_input == "openai" else 0.25
        c_noise = _noise_input_vector(t.log() * scale, z.size(0))
        return c_skip * z + c_out * self.network(c_in * z, c_noise, labels)


class DenoiserAsConsistency:
    """C(z, t) = D(z, sigma(t)); epsilon() is ConsistencyModel's default kEpsilon."""

    def __init__(self, denoiser: EdmDenoiser):
        self.denoiser = denoiser
        self.epsilon = K_EPSILON
        self.network_calls_per_evaluation = denoiser.network_calls_per_evaluation

    @staticmethod
    def schedule_sigma(t):
        return t

    def __call__(self, z, t, labels=None):
        return self.origin(z, t, labels)

    def origin(self, z: torch.Tensor, t, labels=None) -> torch.Tensor:
        assert z.is_floating_point() and z.dim() >= 1
        t = _per_sample(t, z)
        return self.denoiser.denoise(z, self.denoiser.schedule_sigma(t).reshape(-1), labels)


def edm_denoiser(unet: UNet, sigma_data: float = K_SIGMA_DATA) -> EdmDenoiser:
    return EdmDenoiser(unet, sigma_data)


def boundary_consistency(unet: UNet, sigma_data: float = K_SIGMA_DATA,
                         epsilon: float = K_EPSILON) -> BoundaryConsistency:
    return BoundaryConsistency(unet, sigma_data, epsilon)


def denoiser_as_consistency(denoiser: EdmDenoiser) -> DenoiserAsConsistency:
    return DenoiserAsConsistency(denoiser)


# ---------------------------------------------------------------------------------------
# Time grids: include/mapinverse/core/time_steps.hpp, solvers/reverse_step.hpp
# ---------------------------------------------------------------------------------------

def time_steps(num_steps: int = 18, t_max: float = K_TIME_MAX, t_min: float = K_EPSILON,
               rho: float = 7.0) -> List[float]:
    """TimeSteps: Karras grid of num_steps points from t_max down to t_min, ends pinned."""
    assert num_steps >= 2 and 0.0 < t_min < t_max and rho > 0.0
    a = math.pow(t_max, 1.0 / rho)
    b = math.pow(t_min, 1.0 / rho)
    n = num_steps
    values = []
    for i in range(n):
        fraction = float(i) / float(n - 1)
        values.append(math.pow(a + fraction * (b - a), rho))
    values[0] = t_max
    values[-1] = t_min
    return values


def reverse_schedule_times(num_steps: int = 100, t_max: float = K_TIME_MAX,
                           t_min: float = K_EPSILON, rho: float = 7.0) -> List[float]:
    """ReverseSchedule::times(): num_steps + 1 decreasing times."""
    return time_steps(num_steps + 1, t_max, t_min, rho)


# ---------------------------------------------------------------------------------------
# Masks: include/mapinverse/operators/masks.hpp
# ---------------------------------------------------------------------------------------

PAPER_MASKS = ("box50", "half", "expand", "box25", "sr2x", "alllines")


def _centred_span(size: int, divisor: int) -> slice:
    side = size // divisor
    start = (size - side) // 2
    return slice(start, start + side)


def paper_mask(name: str, height: int = 28, width: int = 28) -> torch.Tensor:
    """Observation mask (1 = observed) [1,1,H,W] float32 of a paper mask."""
    assert height >= 4 and width >= 4
    every_other = slice(0, None, 2)
    b50 = (_centred_span(height, 2), _centred_span(width, 2))
    b25 = (_centred_span(height, 4), _centred_span(width, 4))
    observed = torch.ones(1, 1, height, width, dtype=torch.float32)
    if name == "box50":
        observed[:, :, b50[0], b50[1]] = 0.0
    elif name == "half":
        observed[:, :, :, width // 2:] = 0.0
    elif name == "expand":
        observed.zero_()
        observed[:, :, b25[0], b25[1]] = 1.0
    elif name == "box25":
        observed[:, :, b25[0], b25[1]] = 0.0
    elif name == "sr2x":
        observed.zero_()
        observed[:, :, every_other, every_other] = 1.0
    elif name == "alllines":
        observed.zero_()
        observed[:, :, every_other, :] = 1.0
    else:
        raise ValueError(f"paper_mask(): expected one of {'|'.join(PAPER_MASKS)}, got {name!r}")
    return observed


def random_mask(height: int, width: int, keep_probability: float, seed: int) -> torch.Tensor:
    """random_mask(): uniform float64 draw from make_generator(seed), observed where < p."""
    generator = make_generator(seed)
    uniform = torch.rand(1, 1, height, width, generator=generator, dtype=torch.float64)
    observed = (uniform < keep_probability).to(torch.float32)
    assert observed.sum().item() > 0.0
    return observed


# ---------------------------------------------------------------------------------------
# Inpainting operator: include/mapinverse/operators/inpainting.hpp
# ---------------------------------------------------------------------------------------

class Inpainting:
    """apply(x) = M x, adjoint(y) = M y, gram(y) = M y,
    solve_gram(r, a, b) = r * (M / (a + b) + (1 - M) * (1/a if a > 0 else 0))."""

    def __init__(self, mask: torch.Tensor):
        values = mask.detach().to(torch.float32)
        if values.dim() == 2:
            values = values.reshape(1, 1, values.size(0), values.size(1))
        assert values.dim() == 4 and values.size(1) == 1
        assert bool(((values == 0) | (values == 1)).all())
        assert bool((values.sum((1, 2, 3)) > 0).all())
        self.mask = values.contiguous()

    def _placed(self, tensor: torch.Tensor) -> torch.Tensor:
        assert tensor.is_floating_point() and tensor.dim() == 4
        assert tensor.shape[2:] == self.mask.shape[2:]
        assert self.mask.size(0) == 1 or tensor.size(0) == self.mask.size(0)
        return self.mask.to(dtype=tensor.dtype, device=tensor.device)

    def apply(self, x):
        return x * self._placed(x)

    def adjoint(self, y):
        return y * self._placed(y)

    def gram(self, y):
        return y * self._placed(y)

    def solve_gram(self, r, a: float, b: float):
        assert math.isfinite(a) and a >= 0.0 and math.isfinite(b) and b >= 0.0 and a + b > 0.0
        mask = self._placed(r)
        missing_scale = 1.0 / a if a > 0.0 else 0.0
        return r * (mask * (1.0 / (a + b)) + _rsub(1.0, mask) * missing_scale)


# ---------------------------------------------------------------------------------------
# Problem and data term: solvers/problem.hpp, solvers/data_term.hpp, solvers/solver.hpp
# ---------------------------------------------------------------------------------------

@dataclass
class Problem:
    """Problem: y = A(x) + N(0, sigma_y^2 I); `operator` is an Inpainting."""
    measurement: torch.Tensor
    operator: Inpainting
    sigma_y: float = 0.0
    image_shape: Tuple[int, ...] = (1, 28, 28)
    seed: int = 0
    labels: Optional[torch.Tensor] = None

    def batch_shape(self):
        return [self.measurement.size(0)] + list(self.image_shape)

    def validate(self):
        assert self.measurement.is_floating_point() and self.measurement.size(0) >= 1
        assert bool(torch.isfinite(self.measurement).all())
        assert math.isfinite(self.sigma_y) and self.sigma_y >= 0.0
        with torch.no_grad():
            image = torch.zeros(self.batch_shape(), dtype=self.measurement.dtype,
                                device=self.measurement.device)
            assert self.operator.apply(image).shape == self.measurement.shape


def _batched_dot(u, w):
    return (u * w).reshape(u.size(0), -1).sum(1)


@dataclass
class DataTerm:
    gradient: torch.Tensor
    residual_norm: torch.Tensor
    objective: torch.Tensor


def data_term(problem: Problem, x_hat: torch.Tensor, a: float, b: float,
              with_fit: bool = True) -> DataTerm:
    """detail::data_term for a linear operator: gradient = H^T (aI + bHH^T)^{-1}(y - Hx_hat);
    with_fit=False leaves out the residual norm and objective (MAP-GA's inner loop)."""
    with torch.no_grad():
        estimate = x_hat.detach()
        op = problem.operator
        residual = problem.measurement - op.apply(estimate)
        weighted = op.solve_gram(residual, a, b)
        gradient = op.adjoint(weighted).detach()
        if not with_fit:
            return DataTerm(gradient, None, None)
        # C++ Tensor::norm(2, 1): the same ATen op (norm.ScalarOpt_dim) through torch._VF.
        residual_norm = torch._VF.norm(residual.reshape(residual.size(0), -1), 2, [1], False)
        objective = -0.5 * _batched_dot(residual, weighted)
    return DataTerm(gradient, residual_norm, objective)


def _initial_noise(problem: Problem, sigma: float, start_image, generator) -> torch.Tensor:
    """detail::initial_noise: sigma * randn(batch_shape) (+ start_image)."""
    m = problem.measurement
    x = sigma * _randn(problem.batch_shape(), m.dtype, m.device, generator)
    return x + start_image.to(dtype=m.dtype, device=m.device) if start_image is not None else x


class _Recorder:
    """The NFE part of detail::SolveRecorder (history/callbacks are not reproduced, but
    history holds (time, sigma, mean residual norm, mean objective) per outer step)."""

    def __init__(self):
        self.forwards = 0
        self.vjps = 0
        self.history = []

    def count_forwards(self, calls):
        self.forwards += int(calls)

    def count_vjps(self, calls):
        self.vjps += int(calls)

    def check_finite(self, value, what, sigma):
        if not bool(torch.isfinite(value).all()):
            raise FloatingPointError(
                f"{what} became NaN or infinite at step {len(self.history) + 1} "
                f"(sigma = {sigma:.6g})")

    def end_step(self, time, sigma, fit: DataTerm):
        self.history.append((time, sigma, fit.residual_norm.mean().item(),
                             fit.objective.mean().item()))


# ---------------------------------------------------------------------------------------
# MAP-GA: include/mapinverse/solvers/map_ga.hpp (GradientAscent optimizer only)
# ---------------------------------------------------------------------------------------

def _map_ga_consistency(consistency_source, denoiser, consistency):
    if consistency_source == "denoiser":
        assert denoiser is not None, "consistency_source='denoiser' needs a denoiser"
        return DenoiserAsConsistency(denoiser)
    assert consistency_source == "consistency", consistency_source
    assert consistency is not None, "consistency_source='consistency' needs a consistency model"
    return consistency


def _map_ga_run(problem, recorder, generator, *, denoiser, consistency, num_time_steps,
                num_iter, t_max, rho, stop_sigma, use_prior, consistency_source,
                learning_rate, start_image):
    """MapGa constructor checks + MapGa::run()."""
    assert num_time_steps >= 1 and num_iter >= 0 and t_max > 0.0 and rho > 0.0
    cm = _map_ga_consistency(consistency_source, denoiser, consistency)
    assert not use_prior or denoiser is not None, "use_prior needs a denoiser"
    sigma = cm.schedule_sigma  # EDM schedule: identity (time(sigma) = sigma too)
    floor = stop_sigma if stop_sigma is not None else sigma(cm.epsilon)
    assert sigma(t_max) > floor, "sigma(t_max) must exceed the final noise level"
    times = time_steps(num_time_steps + 1, t_max, floor, rho)  # t_min = time(stop_sigma)

    sigma_floor = sigma(times[-1])
    sigma_eps = sigma(cm.epsilon)
    variance_y = problem.sigma_y * problem.sigma_y
    lr = learning_rate if learning_rate is not None else variance_y + sigma_eps * sigma_eps
    z = _initial_noise(problem, sigma(times[0]), start_image, generator)

    estimate = None
    for i in range(len(times) - 1):
        t = times[i]
        sigma_t = sigma(t)
        z = _map_ga_ascend(problem, z, t, lr, sigma_eps, recorder, cm, denoiser, num_iter,
                           use_prior)
        with torch.no_grad():
            estimate = cm.origin(z, t, problem.labels)
        recorder.count_forwards(cm.network_calls_per_evaluation)
        recorder.check_finite(estimate, "the estimate C(z, t)", sigma_t)
        sigma_next = sigma(times[i + 1])
        scale = math.sqrt(max(sigma_next * sigma_next - sigma_floor * sigma_floor, 0.0))
        z = estimate + scale * randn_like(estimate, generator) if scale > 0.0 else estimate
        fit = data_term(problem, estimate, variance_y, sigma_eps * sigma_eps)
        recorder.end_step(t, sigma_t, fit)
    return estimate


def _map_ga_ascend(problem, z, t, learning_rate, sigma_eps, recorder, cm, denoiser, num_iter,
                   use_prior):
    """MapGa::ascend with GradientAscent: z <- z + lr * (dC/dz)^T grad log p(x|y)."""
    variance_eps = sigma_eps * sigma_eps
    variance_y = problem.sigma_y * problem.sigma_y
    calls = cm.network_calls_per_evaluation
    for _ in range(num_iter):
        with torch.enable_grad():
            inp = z.detach().requires_grad_(True)
            estimate = cm.origin(inp, t, problem.labels)
            recorder.count_forwards(calls)
            posterior_gradient = data_term(problem, estimate, variance_y, variance_eps,
                                           with_fit=False).gradient
            if use_prior:
                with torch.no_grad():
                    clean = estimate.detach()
                    denoised = denoiser.denoise(clean, sigma_eps, problem.labels)
                    recorder.count_forwards(denoiser.network_calls_per_evaluation)
                    posterior_gradient = posterior_gradient + (denoised - clean) / variance_eps
            gradient = torch.autograd.grad([estimate], [inp], [posterior_gradient])[0]
        recorder.count_vjps(calls)
        z = z.detach() + learning_rate * gradient  # GradientAscent::State::step
    return z.detach()


def map_ga(problem: Problem, *, denoiser: Optional[EdmDenoiser] = None, consistency=None,
           num_time_steps: int = 20, num_iter: int = 50, t_max: float = K_TIME_MAX,
           rho: float = 7.0, stop_sigma: Optional[float] = None, use_prior: bool = True,
           consistency_source: str = "consistency", learning_rate: Optional[float] = None,
           start_image: Optional[torch.Tensor] = None, return_history: bool = False):
    """MapGa::solve(). consistency_source: "consistency" (kConsistencyModel) or "denoiser"
    (kDenoiser, C(z,t) = D(z, t)). Returns (estimate, forwards, vjps) [, history]."""
    problem.validate()
    recorder = _Recorder()
    generator = make_generator(problem.seed)
    estimate = _map_ga_run(problem, recorder, generator, denoiser=denoiser,
                           consistency=consistency, num_time_steps=num_time_steps,
                           num_iter=num_iter, t_max=t_max, rho=rho, stop_sigma=stop_sigma,
                           use_prior=use_prior, consistency_source=consistency_source,
                           learning_rate=learning_rate, start_image=start_image)
    result = (estimate, recorder.forwards, recorder.vjps)
    return result + (recorder.history,) if return_history else result


# ---------------------------------------------------------------------------------------
# Reverse steps, guided estimate, PGDM, DPS: solvers/{reverse_step,guided_estimate,pgdm,
# dps}.hpp
# ---------------------------------------------------------------------------------------

def _reverse_step(x_t, x_hat, sigma_t, sigma_s, sigma_floor, update, eta, generator):
    if update == "renoise":
        scale = math.sqrt(max(sigma_s * sigma_s - sigma_floor * sigma_floor, 0.0))
        return x_hat + scale * randn_like(x_hat, generator) if scale > 0.0 else x_hat
    assert update == "ddim", update
    ratio = sigma_s / sigma_t
    c = eta * sigma_s * math.sqrt(max(1.0 - ratio * ratio, 0.0))
    keep = math.sqrt(max(sigma_s * sigma_s - c * c, 0.0)) / sigma_t
    x_s = x_hat + keep * (x_t - x_hat)
    return x_s + c * randn_like(x_hat, generator) if c > 0.0 else x_s


def _guided_estimate(denoiser, problem, x_t, sigma_t, a, b, recorder):
    """detail::guided_estimate: x_hat = D(x_t, sigma_t) and one VJP of the data gradient."""
    with torch.enable_grad():
        inp = x_t.detach().requires_grad_(True)
        estimate = denoiser.denoise(inp, sigma_t, problem.labels)
        recorder.count_forwards(denoiser.network_calls_per_evaluation)
        data = data_term(problem, estimate, a, b)
        guidance = torch.autograd.grad([estimate], [inp], [data.gradient])[0]
    recorder.count_vjps(denoiser.network_calls_per_evaluation)
    return estimate.detach(), guidance.detach(), data


def _pgdm_run(problem, x, recorder, generator, *, denoiser, times, sigma_d, update, eta):
    """Pgdm::run()."""
    sigma = denoiser.schedule_sigma
    sigma_floor = sigma(times[-1])
    variance_y = problem.sigma_y * problem.sigma_y
    variance_d = sigma_d * sigma_d
    for i in range(len(times) - 1):
        sigma_t = sigma(times[i])
        variance_t = sigma_t * sigma_t
        r_squared = variance_t * variance_d / (variance_t + variance_d)
        estimate, guidance, data = _guided_estimate(denoiser, problem, x, sigma_t, variance_y,
                                                    r_squared, recorder)
        conditional = estimate + variance_t * guidance
        x = _reverse_step(x, conditional, sigma_t, sigma(times[i + 1]), sigma_floor, update,
                          eta, generator)
        recorder.check_finite(x, "the iterate x_t", sigma_t)
        recorder.end_step(times[i], sigma_t, data)
    return x


def pgdm(problem: Problem, *, denoiser: EdmDenoiser, num_steps: int = 100,
         t_max: float = K_TIME_MAX, t_min: float = K_EPSILON, rho: float = 7.0,
         sigma_d: float = 1.0, update: str = "ddim", eta: float = 1.0,
         start_image: Optional[torch.Tensor] = None, return_history: bool = False):
    """Pgdm::solve(). update: "ddim" (kDdim, default) or "renoise" (kRenoise).
    Returns (estimate, forwards, vjps) [, history]."""
    assert num_steps >= 1 and 0.0 < t_min < t_max and rho > 0.0 and sigma_d > 0.0
    assert 0.0 <= eta <= 1.0
    problem.validate()
    recorder = _Recorder()
    generator = make_generator(problem.seed)
    x = _initial_noise(problem, denoiser.schedule_sigma(t_max), start_image, generator)
    times = reverse_schedule_times(num_steps, t_max, t_min, rho)
    x = _pgdm_run(problem, x, recorder, generator, denoiser=denoiser, times=times,
                  sigma_d=sigma_d, update=update, eta=eta)
    result = (x, recorder.forwards, recorder.vjps)
    return result + (recorder.history,) if return_history else result


def dps(problem: Problem, *, denoiser: EdmDenoiser, num_steps: int = 1000,
        t_max: float = K_TIME_MAX, t_min: float = K_EPSILON, rho: float = 7.0,
        zeta: float = 1.0, update: str = "ddim", eta: float = 1.0,
        return_history: bool = False):
    """Dps::solve(): x_s = reverse_step(x_t, x_hat) + 2 zeta / ||y - A(x_hat)|| * guidance.
    Returns (estimate, forwards, vjps) [, history]."""
    assert num_steps >= 1 and 0.0 < t_min < t_max and rho > 0.0 and zeta >= 0.0
    assert 0.0 <= eta <= 1.0
    problem.validate()
    recorder = _Recorder()
    generator = make_generator(problem.seed)
    sigma = denoiser.schedule_sigma
    times = reverse_schedule_times(num_steps, t_max, t_min, rho)
    sigma_floor = sigma(times[-1])
    x = _initial_noise(problem, sigma(times[0]), None, generator)
    for i in range(len(times) - 1):
        sigma_t = sigma(times[i])
        estimate, guidance, data = _guided_estimate(denoiser, problem, x, sigma_t, 1.0, 0.0,
                                                    recorder)
        # C++: 2.0 * zeta / residual_norm.clamp_min(1e-12) is double / Tensor.
        step_size = _rdiv(2.0 * zeta, data.residual_norm.clamp_min(1e-12))
        shape = [1] * x.dim()
        shape[0] = step_size.size(0)
        x = (_reverse_step(x, estimate, sigma_t, sigma(times[i + 1]), sigma_floor, update, eta,
                           generator)
             + step_size.reshape(shape) * guidance)
        recorder.check_finite(x, "the iterate x_t", sigma_t)
        recorder.end_step(times[i], sigma_t, data)
    result = (x, recorder.forwards, recorder.vjps)
    return result + (recorder.history,) if return_history else result


# ---------------------------------------------------------------------------------------
# MAP-GA-PGDM: include/mapinverse/solvers/map_ga_pgdm.hpp
# ---------------------------------------------------------------------------------------

def map_ga_pgdm(problem: Problem, *, denoiser: EdmDenoiser, consistency=None,
                num_time_steps: int = 20, num_iter: int = 50, t_max: float = K_TIME_MAX,
                rho: float = 7.0, consistency_source: str = "consistency",
                learning_rate: Optional[float] = None, pgdm_steps: int = 20,
                sigma_d: float = 1.0, return_history: bool = False):
    """MapGaPgdm::solve(): MAP-GA without prior from t_max to sigma_y (stop_sigma = sigma_y),
    then PGDM with renoise updates from sigma_y to epsilon in pgdm_steps steps, one
    generator for both. Returns (estimate, forwards, vjps) [, history]."""
    problem.validate()
    assert denoiser is not None
    assert problem.sigma_y > denoiser.schedule_sigma(K_EPSILON), \
        "MapGaPgdm needs sigma_y > sigma(epsilon); use map_ga for noiseless problems"
    assert pgdm_steps >= 1
    recorder = _Recorder()
    generator = make_generator(problem.seed)
    x = _map_ga_run(problem, recorder, generator, denoiser=denoiser, consistency=consistency,
                    num_time_steps=num_time_steps, num_iter=num_iter, t_max=t_max, rho=rho,
                    stop_sigma=problem.sigma_y, use_prior=False,
                    consistency_source=consistency_source, learning_rate=learning_rate,
                    start_image=None)
    start_time = problem.sigma_y  # schedule.time(sigma_y), EDM schedule
    times = reverse_schedule_times(pgdm_steps, start_time, K_EPSILON, rho)
    x = _pgdm_run(problem, x, recorder, generator, denoiser=denoiser, times=times,
                  sigma_d=sigma_d, update="renoise", eta=1.0)
    result = (x, recorder.forwards, recorder.vjps)
    return result + (recorder.history,) if return_history else result
