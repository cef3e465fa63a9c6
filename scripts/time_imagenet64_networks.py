#!/usr/bin/env python3
"""Time one call of the seed paper's ImageNet-64 networks at their full size (random
weights, built by scripts/imagenet64_factories.py from the upstream code), to estimate
the run time per image of each solver (docs/paper.md §5):

* a forward call without graph (what the solvers' plain network evaluations cost), and
* a forward call with graph followed by one vector-Jacobian product with respect to x
  (what a "forward + VJP" pair of MAP-GA, PGDM and DPS costs),

each at batch 1, after one warm-up call, as the median of --repeats calls.

    MAPINVERSE_EDM_REPO=... MAPINVERSE_CM_REPO=... PYTHONPATH=scripts \\
        python3 scripts/time_imagenet64_networks.py --threads 2 --network edm

Prints the parameter count and the seconds per call; --device cuda times on a GPU."""

import argparse
import os
import statistics
import sys
import time

import torch


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", choices=["edm", "cm"], required=True,
                        help="edm: EDMPrecond (ADM U-Net); cm: consistency_models' UNetModel")
    parser.add_argument("--width", type=int, default=192, help="base channels (192: full size)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    os.environ["MAPINVERSE_RANDOM_WIDTH"] = str(args.width)
    import imagenet64_factories as factories

    network = (factories.edm_denoiser() if args.network == "edm"
               else factories.cm_network()).to(args.device).eval()
    parameters = sum(p.numel() for p in network.parameters())
    x = torch.randn(1, 3, 64, 64, device=args.device)
    if args.network == "edm":
        labels = torch.nn.functional.one_hot(torch.tensor([3]), 1000).float().to(args.device)
        sigma = torch.tensor([1.0], device=args.device)
    else:
        labels = torch.tensor([3], device=args.device)
        sigma = 250.0 * torch.log(torch.tensor([1.0], device=args.device))

    def synchronise():
        if x.is_cuda:
            torch.cuda.synchronize()

    def forward():
        with torch.no_grad():
            network(x, sigma, labels)

    def forward_and_vjp():
        z = x.clone().requires_grad_(True)
        output = network(z, sigma, labels)
        torch.autograd.grad(output, z, torch.ones_like(output))

    figures = {}
    for name, call in [("forward", forward), ("forward + VJP", forward_and_vjp)]:
        call()
        synchronise()
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            call()
            synchronise()
            times.append(time.perf_counter() - start)
        figures[name] = statistics.median(times)
    print(f"{args.network} width {args.width}: {parameters / 1e6:.1f} M parameters, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.device}: "
          + ", ".join(f"{name} {seconds:.3f} s" for name, seconds in figures.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
