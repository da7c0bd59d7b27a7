"""Training checkpoints: one directory per epoch (safetensors + JSON), written atomically, resumable."""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from reelrec.errors import ArtifactError

_NAME = re.compile(r"^epoch-(\d{6})$")
_TENSORS = "state.safetensors"
_META = "state.json"


def flatten_optimizer(state: dict[str, Any], prefix: str = "optim.") -> tuple[dict[str, torch.Tensor], dict]:
    """Split ``optimizer.state_dict()`` into tensors (for safetensors) and plain JSON.

    Returns
    -------
    tensors : dict
        ``{prefix}state.{param}.{key}`` -> tensor, for every tensor-valued entry.
    meta : dict
        ``param_groups`` and the non-tensor per-parameter entries.
    """
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}state.{pid}.{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def unflatten_optimizer(
    tensors: dict[str, torch.Tensor], meta: dict, prefix: str = "optim."
) -> dict[str, Any]:
    """Inverse of :func:`flatten_optimizer`: a dict for ``optimizer.load_state_dict``."""
    state: dict[int, dict[str, Any]] = {}
    head = f"{prefix}state."
    for name, value in tensors.items():
        if name.startswith(head):
            pid, _, key = name[len(head) :].partition(".")
            state.setdefault(int(pid), {})[key] = value
    for pid, entries in meta.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(entries)
    groups = [dict(g) for g in meta["param_groups"]]
    for group in groups:
        for key, value in group.items():
            if isinstance(value, list) and key != "params":
                group[key] = tuple(value)
    return {"state": state, "param_groups": groups}


def save_checkpoint(
    directory: str | Path, epoch: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any], keep: int = 2
) -> Path:
    """Write ``epoch-NNNNNN/`` under ``directory`` atomically and keep only the newest ``keep``.

    The files are written to a hidden temporary directory that is renamed into place, so an
    interrupted run never leaves a half-written checkpoint that :func:`latest_checkpoint` would pick.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"epoch-{epoch:06d}"
    tmp = directory / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        # safetensors refuses tensors sharing storage; contiguous CPU clones are always safe.
        flat = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
        save_file(flat, str(tmp / _TENSORS))
        (tmp / _META).write_text(json.dumps({"epoch": epoch, **meta}, indent=1, sort_keys=True) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in list_checkpoints(directory)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(directory: str | Path) -> list[Path]:
    """Complete checkpoint directories under ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [
        p for p in directory.iterdir() if _NAME.match(p.name) and (p / _TENSORS).exists() and (p / _META).exists()
    ]
    return sorted(found, key=lambda p: p.name)


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The newest complete checkpoint, or ``None`` when there is none."""
    found = list_checkpoints(directory)
    return found[-1] if found else None


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and JSON metadata of one checkpoint directory; :class:`ArtifactError` when unreadable."""
    path = Path(path)
    try:
        meta = json.loads((path / _META).read_text())
        tensors = load_file(str(path / _TENSORS))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: unreadable checkpoint ({exc})") from None
    except Exception as exc:  # safetensors raises its own error types
        raise ArtifactError(f"{path / _TENSORS}: unreadable checkpoint ({exc})") from None
    return tensors, meta
