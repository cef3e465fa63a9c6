"""The shipped Fashion-MNIST models: where they are and how to load them."""

import os
from pathlib import Path

from . import _core

DENOISER_FILE = "fmnist_edm_denoiser.pt"
CONSISTENCY_FILE = "fmnist_consistency.pt"
MIXTURE_FILE = "fmnist_gmm.pt"

# An installed package carries the models next to its code (pip install .).
_BUNDLED = Path(__file__).resolve().parent / "models"


def model_directory():
    """$MAPINVERSE_MODELS when set; else the models installed with the package; else the
    folder the library was configured with (the source tree's models/ for a build tree)."""
    folder = os.environ.get("MAPINVERSE_MODELS")
    if folder:
        return Path(folder)
    if (_BUNDLED / DENOISER_FILE).is_file():
        return _BUNDLED
    return Path(_core.model_directory())


def shipped_model_path(file):
    path = model_directory() / file
    if not path.is_file():
        raise FileNotFoundError(
            f"shipped model {file} not found in {model_directory()} (set MAPINVERSE_MODELS to "
            "the folder that holds it)"
        )
    return path


def load_shipped_denoiser(device=None):
    """The shipped EDM denoiser (a U-Net on Fashion-MNIST, images [B,1,28,28] in [-1,1])."""
    return _core.load_unet_denoiser(str(shipped_model_path(DENOISER_FILE)), device)


def load_shipped_consistency(device=None):
    """The shipped consistency model, distilled from the shipped denoiser."""
    return _core.load_unet_consistency(str(shipped_model_path(CONSISTENCY_FILE)), device)


def load_shipped_mixture():
    """The shipped Gaussian mixture fitted to Fashion-MNIST (an exact denoiser)."""
    return _core.GaussianMixturePrior.load(str(shipped_model_path(MIXTURE_FILE)))


def shipped_prior(device=None):
    """{'denoiser': ..., 'consistency': ...}, to pass to make_solver as **prior."""
    return {
        "denoiser": load_shipped_denoiser(device),
        "consistency": load_shipped_consistency(device),
    }
