"""deepinv's samplers on MapInverse's shipped Fashion-MNIST denoiser.

The adapter `ShippedDenoiser` puts the EDM denoiser of models/fmnist_edm_denoiser.pt
(loaded by benchmarks/python_reference) behind deepinv's denoiser interface: deepinv
calls D(x, sigma) with images in [0, 1] and sigma in the same units, MapInverse's
network works in [-1, 1], so the adapter calls it at (2 x - 1, 2 sigma) and maps the
result back. It counts network calls: forwards, and VJPs (a forward made with autograd
on is followed by one backward in deepinv's DPS and PiGDM).

Measurements: MapInverse's y (in [-1, 1], zeros at missing pixels) is deepinv's
M (y + 1) / 2, and sigma_y becomes sigma_y / 2.
"""

import os
import sys
import time

import numpy as np
import torch

import deepinv as dinv

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python_reference"))
import mapinverse_reference as R  # noqa: E402

# MapInverse's smallest noise level, sigma(t_min) = 0.002, in [0, 1] units.
SIGMA_FLOOR_01 = 0.001


class ShippedDenoiser(dinv.models.Denoiser):
    def __init__(self, model_path):
        super().__init__()
        self.edm = R.edm_denoiser(R.load_unet(model_path))
        self.forwards = 0
        self.vjps = 0

    def forward(self, x, sigma, *args, **kwargs):
        dtype = x.dtype
        sigma = torch.as_tensor(sigma, dtype=torch.float32, device=x.device).reshape(-1)
        sigma = sigma.clamp_min(SIGMA_FLOOR_01).expand(x.size(0))
        self.forwards += 1
        if torch.is_grad_enabled():
            self.vjps += 1
        out = self.edm.denoise(2.0 * x.to(torch.float32) - 1.0, 2.0 * sigma)
        return ((out + 1.0) / 2.0).to(dtype)

    def reset(self):
        self.forwards = 0
        self.vjps = 0


def physics_for(mask, sigma_y):
    # Noiseless problems: DiffPIR's rho_t = lambda sigma^2 / sigma_t^2 needs sigma > 0; the
    # authors' code uses max(0.001, sigma) in [0, 1] units, and so does this benchmark
    # (y itself carries no noise then).
    sigma01 = max(sigma_y / 2.0, SIGMA_FLOOR_01)
    return dinv.physics.Inpainting(img_size=tuple(mask.shape[1:]), mask=mask[0],
                                   noise_model=dinv.physics.GaussianNoise(sigma=sigma01))


def make_sampler(name, steps, denoiser):
    """deepinv's sampler `name` with `steps` network evaluations of the reverse process."""
    if name == "dps":
        return dinv.sampling.DPS(denoiser, num_steps=steps, device="cpu")
    if name == "pgdm":
        data_fidelity = dinv.sampling.PiGDMDataFidelity(denoiser=denoiser)
        sde = dinv.sampling.VariancePreservingDiffusion(alpha=1.0, device="cpu",
                                                        dtype=torch.float64)
        solver = dinv.sampling.DDPMSolver(timesteps=torch.linspace(1, 0, steps,
                                                                   dtype=torch.float64))
        return dinv.sampling.PosteriorDiffusion(data_fidelity=data_fidelity, denoiser=denoiser,
                                                sde=sde, solver=solver, device="cpu")
    if name == "ddrm":
        return dinv.sampling.DDRM(denoiser, sigmas=np.linspace(1, 0, steps))
    if name == "diffpir":
        return dinv.sampling.DiffPIR(denoiser, dinv.optim.data_fidelity.L2(), max_iter=steps)
    raise ValueError(f"no deepinv sampler '{name}'")


def solve(name, steps, denoiser, measurement, mask, sigma_y, seed, batch, warm_up=False):
    """Restores every image of `measurement` ([-1, 1] units) in batches; returns the
    restorations in [-1, 1], seconds, forwards and VJPs (totals over the images).
    warm_up: solve the first batch once, untimed and uncounted, before timing."""
    sampler = make_sampler(name, steps, denoiser)
    physics = physics_for(mask, sigma_y)
    if warm_up:
        y = mask * (measurement[:batch] + 1.0) / 2.0
        torch.manual_seed(seed)
        if name in ("dps", "pgdm"):
            sampler(y, physics, seed=seed)
        else:
            sampler(y, physics)
    denoiser.reset()
    parts = []
    seconds = 0.0
    for first in range(0, measurement.size(0), batch):
        y = mask * (measurement[first:first + batch] + 1.0) / 2.0
        torch.manual_seed(seed + first)
        start = time.perf_counter()
        if name in ("dps", "pgdm"):
            out = sampler(y, physics, seed=seed + first)
        else:
            out = sampler(y, physics)
        seconds += time.perf_counter() - start
        parts.append(2.0 * out.detach().to(torch.float32) - 1.0)
    return torch.cat(parts), seconds, denoiser.forwards, denoiser.vjps
