"""A Gaussian prior N(mu, v I) on small images written in plain PyTorch: its exact
denoiser D(x, sigma) = mu + (x - mu) v / (v + sigma^2), the same prior as the library's
GaussianMixturePrior.isotropic(mu, v), so that solves with either must agree."""

import torch

import mapinverse as mi

SHAPE = (1, 8, 8)
VARIANCE = 0.3


def mean():
    return torch.linspace(-0.5, 0.5, 64, dtype=torch.float64).reshape(SHAPE)


def gaussian_denoiser(x, sigma):
    v = VARIANCE
    s2 = sigma.reshape(-1, *([1] * (x.dim() - 1))) ** 2
    mu = mean().to(x)
    return mu + (x - mu) * (v / (v + s2))


class GaussianDenoiserModule(torch.nn.Module):
    """The same as a torch.nn.Module with its mean as a buffer."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mu", mean())
        self.variance = VARIANCE

    def forward(self, x, sigma):
        s2 = sigma.reshape(-1, 1, 1, 1) ** 2
        return self.mu + (x - self.mu) * (self.variance / (self.variance + s2))


def library_prior():
    return mi.GaussianMixturePrior.isotropic(mean(), VARIANCE)


def images(batch=2, seed=3):
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn((batch, *SHAPE), generator=generator, dtype=torch.float64)
    return mean() + VARIANCE**0.5 * noise


def mask():
    return mi.paper_mask("box50", SHAPE[1], SHAPE[2]).to(torch.float64)


def inpainting_problem(forward_operator, sigma_y=0.1, seed=5, batch=2):
    x = images(batch)
    clean = mi.Inpainting(mask()).apply(x)
    y = clean + sigma_y * mi.randn_like(clean, 99)
    return mi.Problem(y, forward_operator, sigma_y=sigma_y, image_shape=list(SHAPE), seed=seed)
