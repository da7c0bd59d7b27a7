"""Shared helpers of the model benchmarks: argument parsing of model params, threads, table printing."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``["loss=retrieval", "epochs=5"]`` to ``{"loss": "retrieval", "epochs": 5}`` (TOML values)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--param {item!r} must look like name=value")
        try:
            out[key] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = raw
    return out


def set_threads(threads: int | None) -> int:
    """Pin torch's intra-op threads (1 is fastest on a busy shared machine); returns the count used."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def machine_note(threads: int) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} CPUs, torch threads {threads}, load average {load:.1f} at start"


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A markdown table; floats to 4 decimals, missing cells blank."""

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.4f}"
        return str(v)

    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(cell(row.get(c)) for c in columns) + " |")


def dump(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def find_data(explicit: str | None) -> Path | None:
    """The ml-100k folder: ``--data`` (which must hold ``u.data``), else ``$REELREC_ML100K`` or the default."""
    if explicit is not None:
        if not (Path(explicit) / "u.data").exists():
            raise FileNotFoundError(f"--data {explicit}: no u.data in that folder")
        return Path(explicit)
    repo = Path(__file__).resolve().parents[1]
    for cand in (os.environ.get("REELREC_ML100K"), repo.parent / "shared" / "data" / "ml-100k"):
        if cand and (Path(cand) / "u.data").exists():
            return Path(cand)
    return None
