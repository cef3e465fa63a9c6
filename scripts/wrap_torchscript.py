#!/usr/bin/env python3
"""Wrap a PyTorch network into the TorchScript signature MapInverse loads.

MapInverse's TorchScript backends (include/mapinverse/models/torchscript.hpp) expect

    forward(self, x: Tensor, sigma: Tensor) -> Tensor                  or
    forward(self, x: Tensor, sigma: Tensor, labels: Tensor) -> Tensor

with x of shape [B, C, H, W], sigma of shape [B] and labels [B] int64. This script
builds the network with a factory you name (``package.module:function``, called with
no arguments; load your weights inside it), puts a thin adapter around it that maps
(x, sigma[, labels]) onto the network's own argument names, traces it and saves it.
It then reloads the file and checks that it gives the same output as the original.

What ``sigma`` means is decided when loading in C++ (``TorchScriptForm``):

* ``kReady``: the file is a full denoiser D(x, sigma) (e.g. an EDM ``EDMPrecond``
  network: ``--call x,sigma,class_labels``) or a full consistency function C(x, t);
* ``kEdmNetwork``: the file is a raw network F and receives c_noise = ln(sigma)/4;
* ``kOpenAiNetwork``: a raw consistency network (OpenAI's consistency-model UNet:
  ``--call x,timesteps,y``) that receives 250 ln(t).

Example:

    python3 scripts/wrap_torchscript.py --factory my_models:load_edm --call x,sigma,class_labels \\
        --shape 3,64,64 --num-classes 1000 --out edm_denoiser.pt
"""

import argparse
import importlib
import os
import sys

import torch


class SignatureAdapter(torch.nn.Module):
    """Calls `network` with (x, sigma[, labels]) under the network's own argument names."""

    def __init__(self, network, argument_names):
        super().__init__()
        self.network = network
        self.argument_names = argument_names

    def forward(self, x, sigma, labels=None):
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
    parser.add_argument("--call", default="",
                        help="the network's names for x, sigma[, labels], comma-separated; "
                             "empty: positional")
    parser.add_argument("--shape", default="1,28,28", help="C,H,W of one image")
    parser.add_argument("--num-classes", type=int, default=0,
                        help="> 0: the network takes class labels in [0, num_classes)")
    parser.add_argument("--batch", type=int, default=2, help="batch size of the trace inputs")
    parser.add_argument("--sigma", type=float, default=1.0,
                        help="value of the second input while tracing and checking")
    parser.add_argument("--tolerance", type=float, default=1e-5,
                        help="largest allowed difference between the file and the original")
    parser.add_argument("--out", required=True, help="TorchScript file to write")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    return parser.parse_args(argv)


def build_network(factory):
    module_name, _, function_name = factory.partition(":")
    if not module_name or not function_name:
        raise SystemExit(f"--factory {factory!r}: expected package.module:function")
    sys.path.insert(0, os.getcwd())
    network = getattr(importlib.import_module(module_name), function_name)()
    if not isinstance(network, torch.nn.Module):
        raise SystemExit(f"--factory {factory}: returned {type(network).__name__}, "
                         "not a torch.nn.Module")
    return network.eval()


def example_inputs(args):
    shape = [int(size) for size in args.shape.split(",")]
    if len(shape) != 3 or min(shape) < 1:
        raise SystemExit(f"--shape {args.shape!r}: expected C,H,W")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn([args.batch] + shape, generator=generator)
    sigma = torch.full([args.batch], args.sigma)
    if args.num_classes <= 0:
        return (x, sigma)
    labels = torch.randint(args.num_classes, [args.batch], generator=generator)
    return (x, sigma, labels)


def main(argv):
    args = parse_arguments(argv)
    if os.path.exists(args.out) and not args.force:
        raise SystemExit(f"--out {args.out}: exists; pass --force to overwrite it")
    names = [name for name in args.call.split(",") if name]
    if names and len(names) != (3 if args.num_classes > 0 else 2):
        raise SystemExit(f"--call {args.call!r}: expected names for x, sigma"
                         + (", labels" if args.num_classes > 0 else ""))
    adapter = SignatureAdapter(build_network(args.factory), names).eval()
    inputs = example_inputs(args)
    with torch.no_grad():
        traced = torch.jit.trace(adapter, inputs)
        expected = adapter(*inputs)
    temporary = args.out + ".tmp"
    torch.jit.save(traced, temporary)
    reloaded = torch.jit.load(temporary)
    with torch.no_grad():
        difference = (reloaded(*inputs) - expected).abs().max().item()
    if not difference <= args.tolerance:
        os.remove(temporary)
        raise SystemExit(f"the traced module differs from the original by {difference:.3g} "
                         f"(> --tolerance {args.tolerance}); is forward data-dependent?")
    os.replace(temporary, args.out)
    print(f"wrote {args.out}: {reloaded.forward.schema}; "
          f"largest difference to the original {difference:.3g}")


if __name__ == "__main__":
    main(sys.argv[1:])
