"""Checkpoint files: atomic epoch directories and exact optimizer-state round trips."""

import pytest
import torch
from torch import nn

from reelrec.errors import ArtifactError
from reelrec.training import latest_checkpoint, load_checkpoint, save_checkpoint
from reelrec.training._checkpoint import flatten_optimizer, unflatten_optimizer


def test_optimizer_state_round_trips(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, betas=(0.8, 0.9))
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(4, 3)).pow(2).sum().backward()
        opt.step()
    tensors, meta = flatten_optimizer(opt.state_dict())
    save_checkpoint(tmp_path, 3, tensors, {"optimizer": meta})
    loaded, loaded_meta = load_checkpoint(latest_checkpoint(tmp_path))
    opt2 = torch.optim.AdamW(model.parameters(), lr=1.0)
    opt2.load_state_dict(unflatten_optimizer(loaded, loaded_meta["optimizer"]))
    assert opt2.param_groups[0]["lr"] == 0.1 and tuple(opt2.param_groups[0]["betas"]) == (0.8, 0.9)
    for p in model.parameters():
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(opt.state[p][key], opt2.state[p][key])


def test_latest_ignores_incomplete_directories(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    save_checkpoint(tmp_path, 1, {"w": torch.ones(2)}, {"note": "a"})
    (tmp_path / "epoch-000002").mkdir()  # a crash mid-write never looks like this, but be safe
    (tmp_path / ".epoch-000003.tmp-dead").mkdir()
    path = latest_checkpoint(tmp_path)
    assert path is not None and path.name == "epoch-000001"
    tensors, meta = load_checkpoint(path)
    assert meta == {"epoch": 1, "note": "a"} and torch.equal(tensors["w"], torch.ones(2))


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    path = save_checkpoint(tmp_path, 1, {"w": torch.ones(2)}, {})
    (path / "state.safetensors").write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match=r"state\.safetensors"):
        load_checkpoint(path)
    (path / "state.json").write_text("{")
    with pytest.raises(ArtifactError, match="unreadable"):
        load_checkpoint(path)
