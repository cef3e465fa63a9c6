#!/usr/bin/env python3
"""Wrap a PyTorch network into the TorchScript signature MapInverse loads.

MapInverse's TorchScript backends (include/mapinverse/models/torchscript.hpp) call

    forward(self, x: Tensor, sigma: Tensor) -> Tensor                  or
    forward(self, x: Tensor, sigma: Tensor, labels: Tensor) -> Tensor

with x of shape [B, C, H, W], sigma of shape [B] and labels [B] int64 class indices.
This script builds the network with a factory you name (``package.module:function``,
called with no arguments; load your weights inside it), puts a thin adapter around it
that maps (x, sigma[, labels]) onto the network's own argument names (turning the
indices into one-hot rows with ``--labels one-hot``), traces it and saves it together
with a record of what the file holds (``--form``, the labels, the image shape), so that
``mapinverse`` loads it without further flags. It then reloads the file and checks it
against the original network: outputs at two batch sizes and the gradient with respect
to x (MAP-GA, PGDM and DPS differentiate through the network).

``--form`` says what ``sigma`` means (``TorchScriptForm`` in C++):

* ``ready``: the file is a full denoiser D(x, sigma) (EDM's ``EDMPrecond``:
  ``--call x,sigma,class_labels --labels one-hot``) or a full consistency function C(x, t);
* ``edm``: a raw network F that receives c_noise = ln(sigma)/4;
* ``openai``: a raw network F that receives 250 ln(sigma), as the networks of OpenAI's
  ``consistency_models`` do (``UNetModel``: ``--call x,timesteps,y``): as a consistency
  model it gets the boundary scalings, as a denoiser (``edm_imagenet64_ema.pt``) EDM's.

While tracing, two things that the tracer cannot record are handled (``--no-trace-fixes``
turns this off): custom ``torch.autograd.Function``s (gradient checkpointing, EDM's
``AttentionOp``) run their forward inline, so that autograd differentiates the recorded
operations; and convolution arguments computed from weight shapes (EDM's ``Conv2d``
padding), which the tracer turns into tensors, become the integers they are. Networks
that call flash-attn's kernels are refused with what to change. See docs/paper.md.

Example:

    python3 scripts/wrap_torchscript.py --factory my_models:load_edm --form ready \\
        --call x,sigma,class_labels --labels one-hot --num-classes 1000 --shape 3,64,64 \\
        --out edm_denoiser.pt
"""

import argparse
import contextlib
import importlib
import os
import sys

import torch

METADATA_FILE = "mapinverse.txt"


class SignatureAdapter(torch.nn.Module):
    """Calls `network` with (x, sigma[, labels]) under the network's own argument names;
    with `num_classes` > 0 and one-hot labels, the [B] int64 labels become [B, classes]
    float32 rows first."""

    def __init__(self, network, argument_names, one_hot_classes=0):
        super().__init__()
        self.network = network
        self.argument_names = argument_names
        self.one_hot_classes = one_hot_classes

    def forward(self, x, sigma, labels=None):
        if labels is not None and self.one_hot_classes > 0:
            labels = torch.nn.functional.one_hot(labels, self.one_hot_classes).to(torch.float32)
        names = self.argument_names
        if not names:
            arguments = (x, sigma) if labels is None else (x, sigma, labels)
            return self.network(*arguments)
        keywords = {names[0]: x, names[1]: sigma}
        if labels is not None:
            keywords[names[2]] = labels
        return self.network(**keywords)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factory", required=True,
                        help="package.module:function returning the torch.nn.Module")
    parser.add_argument("--form", required=True, choices=["edm", "openai", "ready"],
                        help="what the file holds: edm or openai (a raw network receiving "
                             "ln(sigma)/4 or 250 ln(sigma)) or ready (D or C itself)")
    parser.add_argument("--call", default="",
                        help="the network's names for x, sigma[, labels], comma-separated; "
                             "empty: positional")
    parser.add_argument("--shape", default="1,28,28", help="C,H,W of one image")
    parser.add_argument("--num-classes", type=int, default=0,
                        help="> 0: the network takes class labels in [0, num_classes)")
    parser.add_argument("--labels", choices=["index", "one-hot"], default="index",
                        help="what the network takes as labels: int64 indices [B] or "
                             "one-hot float32 rows [B, num_classes] (EDM's class_labels)")
    parser.add_argument("--batch", type=int, default=2, help="batch size of the trace inputs")
    parser.add_argument("--sigma", type=float, default=1.0,
                        help="value of the second input while tracing and checking")
    parser.add_argument("--tolerance", type=float, default=1e-5,
                        help="largest allowed difference between the file and the original, "
                             "relative to the largest value (outputs and gradients)")
    parser.add_argument("--no-trace-fixes", action="store_true",
                        help="trace the network exactly as it runs (see the description)")
    parser.add_argument("--out", required=True, help="TorchScript file to write")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    return parser.parse_args(argv)


FLASH_ADVICE = (
    "flash attention runs flash-attn's CUDA kernels, which TorchScript cannot record. Build "
    "the network with its plain attention instead: consistency_models' AttentionBlock takes "
    "attention_type='legacy' (UNetModel does not pass it on; scripts/imagenet64_factories.py "
    "makes it AttentionBlock's default before building). The legacy attention splits q, k "
    "and v in the same channel order, so the checkpoint loads unchanged")


def build_network(factory):
    module_name, _, function_name = factory.partition(":")
    if not module_name or not function_name:
        raise SystemExit(f"--factory {factory!r}: expected package.module:function")
    sys.path.insert(0, os.getcwd())
    try:
        network = getattr(importlib.import_module(module_name), function_name)()
    except ImportError as error:
        if "flash_attn" in str(error):
            raise SystemExit(f"--factory {factory}: {error}; {FLASH_ADVICE}")
        raise
    if not isinstance(network, torch.nn.Module):
        raise SystemExit(f"--factory {factory}: returned {type(network).__name__}, "
                         "not a torch.nn.Module")
    for name, module in network.named_modules():
        if "flashattention" in type(module).__name__.lower():
            raise SystemExit(f"--factory {factory}: module {name or '(root)'} is "
                             f"{type(module).__name__}: {FLASH_ADVICE}")
    return network.eval()


class _InlineContext:
    """Stands in for an autograd Function's ctx while its forward runs inline."""

    def __init__(self, arguments):
        self.needs_input_grad = tuple(isinstance(a, torch.Tensor) and a.requires_grad
                                      for a in arguments)

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors

    def mark_dirty(self, *tensors):
        pass

    def mark_non_differentiable(self, *tensors):
        pass

    def set_materialize_grads(self, value):
        pass


def _run_inline(cls, *arguments):
    return cls.forward(_InlineContext(arguments), *arguments)


def _integer_scalar(value):
    """A traced shape value (a 0-dim integer tensor) as the int it is; others unchanged."""
    if isinstance(value, torch.Tensor) and value.dim() == 0 and not value.is_floating_point():
        return int(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_integer_scalar(item) for item in value)
    return value


def _with_integer_arguments(function):
    # Arguments after (input, weight, bias) are stride, padding, dilation, groups...
    def call(input, weight, *rest, **keywords):
        rest = list(rest)
        for index in range(1, len(rest)):
            rest[index] = _integer_scalar(rest[index])
        keywords = {key: value if key == "bias" else _integer_scalar(value)
                    for key, value in keywords.items()}
        return function(input, weight, *rest, **keywords)
    return call


CONVOLUTIONS = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d"]


@contextlib.contextmanager
def trace_fixes(enabled):
    """While tracing: autograd Functions run inline, convolutions get int arguments."""
    if not enabled:
        yield
        return
    function_class = torch.autograd.Function
    own_apply = function_class.__dict__.get("apply")
    functional = torch.nn.functional
    convolutions = {name: getattr(functional, name) for name in CONVOLUTIONS}
    function_class.apply = classmethod(_run_inline)
    for name, function in convolutions.items():
        setattr(functional, name, _with_integer_arguments(function))
    try:
        yield
    finally:
        if own_apply is None:
            del function_class.apply
        else:
            function_class.apply = own_apply
        for name, function in convolutions.items():
            setattr(functional, name, function)


def example_inputs(args, batch, seed):
    shape = [int(size) for size in args.shape.split(",")]
    if len(shape) != 3 or min(shape) < 1:
        raise SystemExit(f"--shape {args.shape!r}: expected C,H,W")
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn([batch] + shape, generator=generator)
    sigma = torch.full([batch], args.sigma) * torch.linspace(1.0, 1.5, batch)
    if args.num_classes <= 0:
        return (x, sigma)
    labels = torch.randint(args.num_classes, [batch], generator=generator)
    return (x, sigma, labels)


def relative_difference(value, reference):
    scale = max(reference.abs().max().item(), 1e-12)
    return (value - reference).abs().max().item() / scale


def compare(reloaded, original, inputs):
    """Largest relative differences of the outputs and of the gradients with respect to x
    of <output, v> for a fixed v."""
    with torch.no_grad():
        output_difference = relative_difference(reloaded(*inputs), original(*inputs))
    gradients = []
    for module in (reloaded, original):
        x = inputs[0].clone().requires_grad_(True)
        output = module(x, *inputs[1:])
        direction = torch.cos(torch.arange(output.numel(), dtype=output.dtype)).view_as(output)
        gradients.append(torch.autograd.grad((output * direction).sum(), x)[0])
    return output_difference, relative_difference(gradients[0], gradients[1])


def metadata_text(args):
    labels = "none" if args.num_classes <= 0 else args.labels
    return "\n".join([
        "format=1",
        f"form={args.form}",
        f"labels={labels}",
        f"num_classes={max(args.num_classes, 0)}",
        f"shape={args.shape}",
        f"call={args.call}",
        f"traced_with=torch {torch.__version__}",
    ]) + "\n"


def main(argv):
    args = parse_arguments(argv)
    if os.path.exists(args.out) and not args.force:
        raise SystemExit(f"--out {args.out}: exists; pass --force to overwrite it")
    names = [name for name in args.call.split(",") if name]
    if names and len(names) != (3 if args.num_classes > 0 else 2):
        raise SystemExit(f"--call {args.call!r}: expected names for x, sigma"
                         + (", labels" if args.num_classes > 0 else ""))
    one_hot = args.num_classes if args.labels == "one-hot" else 0
    adapter = SignatureAdapter(build_network(args.factory), names, one_hot).eval()
    inputs = example_inputs(args, args.batch, 0)
    with torch.no_grad(), trace_fixes(not args.no_trace_fixes):
        try:
            traced = torch.jit.trace(adapter, inputs, check_trace=False)
        except Exception as error:  # the tracer raises many kinds; say which step failed
            raise SystemExit(f"tracing {args.factory} failed: {error}")
    temporary = args.out + ".partial"
    try:
        torch.jit.save(traced, temporary, _extra_files={METADATA_FILE: metadata_text(args)})
    except RuntimeError as error:
        raise SystemExit(f"saving the traced {args.factory} failed (a Python call the tracer "
                         f"kept; is --no-trace-fixes set?): {error}")
    reloaded = torch.jit.load(temporary)
    checks = [compare(reloaded, adapter, inputs),
              compare(reloaded, adapter, example_inputs(args, args.batch + 1, 1))]
    worst = max(max(check) for check in checks)
    if not worst <= args.tolerance:
        os.remove(temporary)
        raise SystemExit(
            f"the traced module differs from the original (relative output / gradient "
            f"differences at batch {args.batch}: {checks[0][0]:.3g} / {checks[0][1]:.3g}, at "
            f"batch {args.batch + 1}: {checks[1][0]:.3g} / {checks[1][1]:.3g}; --tolerance "
            f"{args.tolerance}): is forward data-dependent or its batch size fixed?")
    os.replace(temporary, args.out)
    print(f"wrote {args.out}: {reloaded.forward.schema}; form {args.form}, labels "
          f"{'none' if args.num_classes <= 0 else args.labels}; largest relative difference "
          f"to the original (outputs and gradients, batches {args.batch} and {args.batch + 1}): "
          f"{worst:.3g}")


if __name__ == "__main__":
    main(sys.argv[1:])
