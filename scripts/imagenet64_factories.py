"""Factories for scripts/wrap_torchscript.py that build the seed paper's ImageNet-64
networks from their upstream code and checkpoints (docs/paper.md):

* `edm_denoiser`: NVlabs edm's `EDMPrecond` (ADM U-Net) from
  `edm-imagenet-64x64-cond-adm.pkl`; wrap with
  `--form ready --call x,sigma,class_labels --labels one-hot`.
* `cm_network`: openai consistency_models' `UNetModel` with its ImageNet-64 settings,
  loading `cd_imagenet64_l2.pt`, `cd_imagenet64_lpips.pt` (consistency models) or
  `edm_imagenet64_ema.pt` (its EDM-trained denoiser); wrap with
  `--form openai --call x,timesteps,y --labels index`.

Where things are comes from environment variables: MAPINVERSE_EDM_REPO and
MAPINVERSE_EDM_PKL (a checkout of github.com/NVlabs/edm and the pickle),
MAPINVERSE_CM_REPO and MAPINVERSE_CM_CHECKPOINT (a checkout of
github.com/openai/consistency_models and the .pt file). Without a checkpoint but with
MAPINVERSE_RANDOM_WIDTH=N, the same architectures are built with random weights and N
base channels (192 is the checkpoints' size), to try the route without downloading.

Nothing in the upstream code is edited. consistency_models' UNetModel builds its
attention with attention_type="flash" (flash-attn's CUDA kernels, which TorchScript
cannot record, and which UNetModel gives no argument to change), so `cm_network` makes
the "legacy" attention the default of AttentionBlock before building: it splits q, k and
v in the same channel order and has the same (no) parameters, so the checkpoint loads
unchanged. That attention computes in float16 (as upstream does), which the CPU supports
from PyTorch/LibTorch 2.x on."""

import functools
import os
import pickle
import sys

import torch


def _environment(name, required=True):
    value = os.environ.get(name, "")
    if required and not value:
        raise SystemExit(f"set {name} (see scripts/imagenet64_factories.py)")
    return value


def _random_width():
    width = os.environ.get("MAPINVERSE_RANDOM_WIDTH", "")
    return int(width) if width else 0


def edm_denoiser():
    """EDMPrecond for class-conditional ImageNet-64 (forward(x, sigma, class_labels))."""
    sys.path.insert(0, _environment("MAPINVERSE_EDM_REPO"))
    width = _random_width()
    if width:
        from training.networks import EDMPrecond
        torch.manual_seed(0)
        # The pickle's architecture: ADM U-Net, channel multipliers 1,2,3,4, 3 blocks per
        # level, attention at 32, 16 and 8 pixels (training/networks.py defaults).
        return EDMPrecond(img_resolution=64, img_channels=3, label_dim=1000,
                          model_type="DhariwalUNet", model_channels=width)
    with open(_environment("MAPINVERSE_EDM_PKL"), "rb") as file:
        network = pickle.load(file)["ema"]  # needs the edm checkout on sys.path
    network.use_fp16 = False  # traced on the CPU in float32; see docs/paper.md
    return network


def cm_network():
    """UNetModel with consistency_models' ImageNet-64 settings (forward(x, timesteps, y))."""
    sys.path.insert(0, _environment("MAPINVERSE_CM_REPO"))
    import cm.unet  # not cm.script_util: it imports the training losses (piq, ...)

    if not isinstance(cm.unet.AttentionBlock, functools.partial):
        cm.unet.AttentionBlock = functools.partial(cm.unet.AttentionBlock,
                                                   attention_type="legacy")
    width = _random_width()
    torch.manual_seed(1)
    # scripts/launch.sh's ImageNet-64 flags as cm/script_util.py's create_model turns
    # them into UNetModel arguments; float32 (use_fp16=False) for tracing.
    network = cm.unet.UNetModel(
        image_size=64, in_channels=3, model_channels=width or 192, out_channels=3,
        num_res_blocks=3, attention_resolutions=(2, 4, 8), dropout=0.0,
        channel_mult=(1, 2, 3, 4), num_classes=1000, use_checkpoint=False, use_fp16=False,
        num_heads=1, num_head_channels=64, num_heads_upsample=-1, use_scale_shift_norm=True,
        resblock_updown=True, use_new_attention_order=False)
    if not width:
        state = torch.load(_environment("MAPINVERSE_CM_CHECKPOINT"), map_location="cpu")
        network.load_state_dict(state)
    return network.eval()
