"""Device choice happens in one place and refuses impossible requests clearly."""

import pytest
import torch

from reelrec.training import autocast, resolve_device, to_device


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    with pytest.raises(ValueError, match="device='tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")


def test_cpu_copies_and_autocast_are_no_ops():
    t = torch.arange(4)
    assert to_device(t, torch.device("cpu")) is t
    with autocast(torch.device("cpu")):
        out = torch.ones(2, 2) @ torch.ones(2, 2)
    assert out.dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_autocast_uses_bf16():
    device = torch.device("cuda")
    x = to_device(torch.ones(8, 8), device)
    with autocast(device):
        assert (x @ x).dtype == torch.bfloat16
