"""Shared fixtures. Every test runs with one LibTorch thread, as the command-line tool
does with --threads 1: results depend on the thread count (reduction order)."""

import os
import shutil

import pytest
import torch

import mapinverse as mi

mi.set_thread_count(1)
torch.set_num_threads(1)

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(scope="session")
def prior():
    """The shipped Fashion-MNIST denoiser and consistency model (CPU)."""
    return mi.shipped_prior()


@pytest.fixture(scope="session")
def test_images():
    """Fashion-MNIST test images 0 and 1, [2,1,28,28] in [-1, 1]."""
    images, _ = mi.read_fashion_mnist(FASHION_MNIST, "test")
    return images[:2].clone()


@pytest.fixture(scope="session")
def tool():
    """The command-line tool of the same build ($MAPINVERSE_TOOL, set by CTest)."""
    path = os.environ.get("MAPINVERSE_TOOL") or shutil.which("mapinverse")
    if not path:
        pytest.skip("no command-line tool: set MAPINVERSE_TOOL to build-torch2/apps/mapinverse")
    return path
