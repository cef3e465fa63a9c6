"""Small stand-ins for the seed paper's two ImageNet-64 networks, written for the tests:
the same calling conventions and the same constructs that trouble the tracer, with
random weights and a fraction of the width. Nothing here is upstream code.

* `EdmPrecondStandIn`: like NVlabs edm's `EDMPrecond` around its ADM U-Net
  (`edm-imagenet-64x64-cond-adm.pkl`): forward(x, sigma, class_labels) with one-hot
  float32 labels [B, classes] (int64 indices fail in its reshape), EDM's scalings and
  c_noise = ln(sigma)/4 inside; convolutions whose padding is computed from the weight's
  shape; attention weights from a custom autograd Function.
* `ConsistencyUNetStandIn`: like openai consistency_models' `UNetModel`
  (`cd_imagenet64_*.pt`, `edm_imagenet64_ema.pt`): forward(x, timesteps, y) with index
  labels [B] and the time input 250 ln(t) given from outside; its attention runs through
  a gradient-checkpoint autograd Function, and attention_type="flash" needs flash-attn.
"""

import math

import torch
from torch import nn

IMAGE_SHAPE = (3, 64, 64)
NUM_CLASSES = 1000


# --- EDM-like ---------------------------------------------------------------------

class ShapePaddedConv(nn.Module):
    """A convolution that derives its padding from its weight's shape at call time, the
    way EDM's Conv2d does (the tracer turns that number into a tensor)."""

    def __init__(self, in_channels, out_channels, kernel, stride=1, transpose=False):
        super().__init__()
        shape = (in_channels, out_channels) if transpose else (out_channels, in_channels)
        self.weight = nn.Parameter(torch.randn(*shape, kernel, kernel) /
                                   math.sqrt(in_channels * kernel * kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.stride = stride
        self.transpose = transpose

    def forward(self, x):
        half = self.weight.shape[-1] // 2
        if self.transpose:  # kernel 4, stride 2, padding 1 doubles the size
            return nn.functional.conv_transpose2d(x, self.weight, self.bias, stride=self.stride,
                                                  padding=half - 1)
        return nn.functional.conv2d(x, self.weight, self.bias, stride=self.stride, padding=half)


class SoftmaxWeights(torch.autograd.Function):
    """Attention weights softmax(q^T k / sqrt(c)) with a hand-written backward, as EDM
    computes them (a Python autograd Function: the tracer cannot save it)."""

    @staticmethod
    def forward(ctx, q, k):
        scale = 1.0 / math.sqrt(k.shape[1])
        w = torch.einsum("ncq,nck->nqk", q, k * scale).softmax(dim=2)
        ctx.save_for_backward(q, k, w)
        return w

    @staticmethod
    def backward(ctx, grad_w):
        q, k, w = ctx.saved_tensors
        scale = 1.0 / math.sqrt(k.shape[1])
        grad_logits = w * (grad_w - (grad_w * w).sum(dim=2, keepdim=True))
        grad_q = torch.einsum("nck,nqk->ncq", k, grad_logits) * scale
        grad_k = torch.einsum("ncq,nqk->nck", q, grad_logits) * scale
        return grad_q, grad_k


def sinusoidal_embedding(values, channels, max_period=10000.0):
    half = channels // 2
    frequencies = torch.exp(-math.log(max_period) *
                            torch.arange(half, dtype=torch.float32, device=values.device) / half)
    angles = values.float()[:, None] * frequencies[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class EdmUNetStandIn(nn.Module):
    """A tiny U-Net F(x_in, c_noise, class_labels) in ADM's layout: noise and one-hot
    label embeddings added, one down and one up level, attention at the bottom."""

    def __init__(self, channels=8, label_dim=NUM_CLASSES):
        super().__init__()
        embedding = 4 * channels
        self.channels = channels
        self.map_noise = nn.Linear(channels, embedding)
        self.map_label = nn.Linear(label_dim, embedding, bias=False)
        self.enter = ShapePaddedConv(3, channels, 3)
        self.down = ShapePaddedConv(channels, 2 * channels, 3, stride=2)
        self.affine = nn.Linear(embedding, 2 * channels)
        self.qkv = ShapePaddedConv(2 * channels, 6 * channels, 1)
        self.up = ShapePaddedConv(2 * channels, channels, 4, stride=2, transpose=True)
        self.leave = ShapePaddedConv(2 * channels, 3, 3)

    def forward(self, x, noise_labels, class_labels):
        emb = self.map_noise(sinusoidal_embedding(noise_labels, self.channels))
        emb = nn.functional.silu(emb + self.map_label(class_labels))
        skip = nn.functional.silu(self.enter(x))
        h = self.down(skip) + self.affine(emb)[:, :, None, None]
        q, k, v = self.qkv(nn.functional.silu(h)).reshape(h.shape[0], h.shape[1], 3, -1).unbind(2)
        w = SoftmaxWeights.apply(q, k)
        h = h + torch.einsum("nqk,nck->ncq", w, v).reshape(*h.shape)
        h = nn.functional.silu(self.up(h))
        return self.leave(torch.cat([h, skip], dim=1))


class EdmPrecondStandIn(nn.Module):
    """D(x, sigma, class_labels) = c_skip x + c_out F(c_in x, ln(sigma)/4, labels) with
    EDM's scalings (Karras et al. 2022, Table 1), labels one-hot float32 [B, classes]."""

    def __init__(self, label_dim=NUM_CLASSES, sigma_data=0.5):
        super().__init__()
        self.label_dim = label_dim
        self.sigma_data = sigma_data
        self.model = EdmUNetStandIn(label_dim=label_dim)

    def forward(self, x, sigma, class_labels=None):
        x = x.to(torch.float32)
        sigma = sigma.to(torch.float32).reshape(-1, 1, 1, 1)
        if class_labels is None:
            class_labels = torch.zeros([1, self.label_dim], device=x.device)
        class_labels = class_labels.to(torch.float32).reshape(-1, self.label_dim)
        sd = self.sigma_data
        c_skip = sd ** 2 / (sigma ** 2 + sd ** 2)
        c_out = sigma * sd / (sigma ** 2 + sd ** 2).sqrt()
        c_in = 1 / (sd ** 2 + sigma ** 2).sqrt()
        c_noise = sigma.log() / 4
        return c_skip * x + c_out * self.model(c_in * x, c_noise.flatten(), class_labels)


# --- OpenAI-like --------------------------------------------------------------------

class Recompute(torch.autograd.Function):
    """Gradient checkpointing as a Python autograd Function: forward without graph,
    backward recomputes (what consistency_models runs its attention through)."""

    @staticmethod
    def forward(ctx, function, count, *arguments):
        ctx.function = function
        ctx.inputs = arguments[:count]
        ctx.parameters = arguments[count:]
        with torch.no_grad():
            return function(*ctx.inputs)

    @staticmethod
    def backward(ctx, grad_output):
        inputs = [tensor.detach().requires_grad_(True) for tensor in ctx.inputs]
        with torch.enable_grad():
            output = ctx.function(*[tensor.view_as(tensor) for tensor in inputs])
        grads = torch.autograd.grad(output, inputs + list(ctx.parameters), grad_output,
                                    allow_unused=True)
        return (None, None) + tuple(grads)


class FlashAttentionStandIn(nn.Module):
    """Needs the flash-attn package, as consistency_models' QKVFlashAttention does."""

    def __init__(self):
        super().__init__()
        import flash_attn  # noqa: F401  (absent here: construction fails as upstream's)


class SplitHeadsAttention(nn.Module):
    """Plain attention on qkv [B, 3 C, T], q, k, v split as (three, heads, channels)."""

    def __init__(self, heads):
        super().__init__()
        self.heads = heads

    def forward(self, qkv):
        batch, width, length = qkv.shape
        channels = width // (3 * self.heads)
        q, k, v = qkv.reshape(batch, 3, self.heads, channels, length).unbind(1)
        q, k, v = (t.reshape(batch * self.heads, channels, length) for t in (q, k, v))
        scale = 1 / math.sqrt(math.sqrt(channels))
        weights = torch.einsum("bct,bcs->bts", q * scale, k * scale).softmax(dim=-1)
        return torch.einsum("bts,bcs->bct", weights, v).reshape(batch, -1, length)


class CheckpointedAttentionBlock(nn.Module):
    def __init__(self, channels, heads=2, attention_type="legacy"):
        super().__init__()
        self.norm = nn.GroupNorm(4, channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.attention = (FlashAttentionStandIn() if attention_type == "flash"
                          else SplitHeadsAttention(heads))
        self.proj_out = nn.Conv1d(channels, channels, 1)

    def forward(self, x):
        # Always through the checkpoint Function, as upstream's default does.
        return Recompute.apply(self._forward, 1, x, *self.parameters())

    def _forward(self, x):
        batch, channels, *spatial = x.shape
        h = x.reshape(batch, channels, -1)
        h = self.attention(self.qkv(self.norm(h)))
        return x + self.proj_out(h).reshape(batch, channels, *spatial)


class ConsistencyUNetStandIn(nn.Module):
    """F(x, timesteps, y): timesteps = 250 ln(t) given from outside (the scalings are
    applied by the caller, as in consistency_models' karras_diffusion), y int64 [B]."""

    def __init__(self, channels=8, num_classes=NUM_CLASSES, attention_type="legacy", seed=1):
        super().__init__()
        torch.manual_seed(seed)
        embedding = 4 * channels
        self.channels = channels
        self.num_classes = num_classes
        self.time_embed = nn.Sequential(nn.Linear(channels, embedding), nn.SiLU(),
                                        nn.Linear(embedding, embedding))
        self.label_emb = nn.Embedding(num_classes, embedding)
        self.enter = nn.Conv2d(3, channels, 3, padding=1)
        self.down = nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1)
        self.emb_layers = nn.Linear(embedding, 2 * channels)
        self.attention = CheckpointedAttentionBlock(2 * channels, attention_type=attention_type)
        self.up = nn.Conv2d(2 * channels, channels, 3, padding=1)
        self.out = nn.Conv2d(2 * channels, 3, 3, padding=1)

    def forward(self, x, timesteps, y=None):
        assert (y is not None) == (self.num_classes is not None), "y iff class-conditional"
        emb = self.time_embed(sinusoidal_embedding(timesteps, self.channels))
        if y is not None:
            emb = emb + self.label_emb(y)
        skip = nn.functional.silu(self.enter(x))
        h = self.down(skip) + self.emb_layers(nn.functional.silu(emb))[:, :, None, None]
        h = self.attention(h)
        h = nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")
        h = nn.functional.silu(self.up(h))
        return self.out(torch.cat([h, skip], dim=1))


# --- Factories for scripts/wrap_torchscript.py --factory ----------------------------

def edm_precond():
    """The EDM denoiser stand-in: --form ready --call x,sigma,class_labels --labels one-hot."""
    torch.manual_seed(0)
    return EdmPrecondStandIn()


def consistency_unet():
    """The consistency-model stand-in: --form openai --call x,timesteps,y."""
    return ConsistencyUNetStandIn(seed=1)


def consistency_unet_flash():
    """The same with attention_type="flash": refused (flash-attn is not installed)."""
    return ConsistencyUNetStandIn(attention_type="flash", seed=1)


def openai_edm_unet():
    """OpenAI's EDM-trained denoiser stand-in (edm_imagenet64_ema.pt's convention: EDM
    scalings, 250 ln(sigma)): the same U-Net, other weights, --form openai."""
    return ConsistencyUNetStandIn(seed=2)
