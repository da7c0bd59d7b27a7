"""The training loop on a tiny regression task: determinism, early stopping, checkpoints and resume."""

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from reelrec.training import LoopOptions, list_checkpoints, run_training


class LinearTask:
    """y = X w + noise, fitted by a linear layer; validation MSE on held-out rows."""

    def __init__(self, n: int = 256, d: int = 4, batch: int = 32, seed: int = 0) -> None:
        g = np.random.default_rng(seed)
        self.x = torch.from_numpy(g.normal(size=(n, d)).astype(np.float32))
        w = torch.from_numpy(g.normal(size=(d, 1)).astype(np.float32))
        self.y = self.x @ w + 0.1 * torch.from_numpy(g.normal(size=(n, 1)).astype(np.float32))
        self.batch = batch
        torch.manual_seed(seed)
        self.module = nn.Sequential(nn.Linear(d, 8), nn.Dropout(0.1), nn.Linear(8, 1))

    def n_batches(self, epoch: int) -> int:
        return -(-200 // self.batch)

    def batches(self, epoch: int, rng: np.random.Generator) -> Iterator[torch.Tensor]:
        perm = torch.from_numpy(rng.permutation(200))
        for lo in range(0, 200, self.batch):
            yield perm[lo : lo + self.batch]

    def step(self, idx: torch.Tensor) -> tuple[torch.Tensor, int]:
        return nn.functional.mse_loss(self.module(self.x[idx]), self.y[idx]), len(idx)

    def validate(self) -> dict[str, float]:
        return {"loss": float(nn.functional.mse_loss(self.module(self.x[200:]), self.y[200:]))}


def train(task: LinearTask, **kw) -> tuple[dict, object]:
    opt = torch.optim.Adam(task.module.parameters(), lr=0.01)
    options = LoopOptions(**{"epochs": 5, "progress": False, **kw})
    result = run_training(task, opt, torch.device("cpu"), options, fingerprint={"task": "linear"})
    return {k: v.clone() for k, v in task.module.state_dict().items()}, result


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_learns_and_is_deterministic():
    a, res = train(LinearTask())
    b, _ = train(LinearTask())
    assert_same(a, b)
    losses = [h["train_loss"] for h in res.history]
    assert losses[-1] < losses[0] * 0.5
    assert len(res.history) == 5 and res.history[-1]["val_loss"] < res.history[0]["val_loss"]


def test_resume_continues_where_it_stopped(tmp_path):
    full, _ = train(LinearTask(), checkpoint_dir=tmp_path / "a", keep_checkpoints=10)
    # Interrupt a second run after epoch 2: drop the later checkpoints, then resume.
    train(LinearTask(), checkpoint_dir=tmp_path / "b", keep_checkpoints=10)
    kept = list_checkpoints(tmp_path / "b")
    assert [p.name for p in kept] == [f"epoch-{e:06d}" for e in range(1, 6)]
    for path in kept[2:]:
        for f in path.iterdir():
            f.unlink()
        path.rmdir()
    resumed, res = train(LinearTask(seed=0), checkpoint_dir=tmp_path / "b", resume=True)
    assert res.resumed_from == 2
    assert [h["epoch"] for h in res.history] == [1, 2, 3, 4, 5]
    assert_same(full, resumed)


def test_resume_refuses_a_foreign_checkpoint(tmp_path):
    train(LinearTask(), checkpoint_dir=tmp_path, epochs=1)
    task = LinearTask()
    opt = torch.optim.Adam(task.module.parameters())
    options = LoopOptions(epochs=2, progress=False, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match="differs in: task"):
        run_training(task, opt, torch.device("cpu"), options, fingerprint={"task": "other"})


def test_keeps_only_the_newest_checkpoints(tmp_path):
    train(LinearTask(), checkpoint_dir=tmp_path, keep_checkpoints=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["epoch-000004", "epoch-000005"]
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_early_stopping_restores_the_best_epoch():
    task = LinearTask()
    # A huge learning rate after the first epochs makes validation worse: stop and roll back.
    opt = torch.optim.SGD(task.module.parameters(), lr=0.05)
    seen = []

    def validate() -> dict[str, float]:
        value = [5.0, 1.0, 2.0, 3.0, 4.0, 0.5][len(seen)]
        seen.append(value)
        if len(seen) == 2:
            validate.best = {k: v.clone() for k, v in task.module.state_dict().items()}
        return {"loss": value}

    task.validate = validate
    res = run_training(task, opt, torch.device("cpu"), LoopOptions(epochs=6, patience=3, progress=False))
    assert res.stopped == "early" and res.best_epoch == 2 and len(res.history) == 5
    assert_same(validate.best, task.module.state_dict())


def test_non_finite_loss_is_an_error():
    task = LinearTask()
    task.y[:] = float("nan")
    opt = torch.optim.Adam(task.module.parameters())
    with pytest.raises(FloatingPointError, match="learning_rate"):
        run_training(task, opt, torch.device("cpu"), LoopOptions(epochs=1, progress=False))


def test_time_budget_stops_training():
    task = LinearTask()
    opt = torch.optim.Adam(task.module.parameters())
    res = run_training(task, opt, torch.device("cpu"), LoopOptions(epochs=50, progress=False, time_budget_s=1e-9))
    assert res.stopped == "time" and len(res.history) == 1 and res.history[0]["rows"] == task.batch


def test_progress_bar_runs(capsys):
    task = LinearTask()
    opt = torch.optim.Adam(task.module.parameters())
    run_training(task, opt, torch.device("cpu"), LoopOptions(epochs=2, progress=True, description="lin"))
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "rows/s" in err
