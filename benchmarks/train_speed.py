"""Training speed and serving latency on full-scale (synthetic) KuaiRec: seed vs the default two-tower.

Usage::

    python benchmarks/train_speed.py DATA_DIR [--epochs 1 2 3] [--threads 1] [--skip-seed]
    python benchmarks/train_speed.py DATA_DIR [DATA_DIR ...] --defaults [--threads 2] [--models hybrid mf]

On a random 80/20 split of the big matrix's rows (seed 0) it measures, side by side:

1. ``seed``: wall and CPU time of its 2 epochs and the test RMSE (watch ratio clipped at 5, as trained);
2. the two-tower's regression configuration (``loss="regression"``, ids and features, no history bag)
   trained for each of ``--epochs`` (separate fits), with and without the closed-form ALS residual,
   and its test RMSE;
3. serving: top-10 over every video for one user (median of many in-process calls, item matrix
   cached), and top-10 for every user in one call.

With ``--defaults`` it instead fits each model as shipped (the default ``hybrid``, ``mf``, the
notebook preset; ``--models`` picks others, e.g. ``two-tower``) on the same training rows of each
DATA_DIR (several folders: one run, one table, e.g. the synthetic scales 0.03, 0.25 and 1) and
reports wall and CPU seconds of ``fit``, training views per wall second end to end, the hybrid's
fit-time breakdown (``fit_seconds_``: choosing MF, EASE, iALS, blend, cold; refits; feature maps)
and the two-tower's (training, held-out choices, refit, export, residual).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import machine_note, print_table, set_threads
from reelrec.data import load_dataset
from reelrec.models import create_model

#: The default model regressing only (no retrieval head, no validation split, no history bag).
REGRESSION = {
    "loss": "regression",
    "patience": 0,
    "validation_fraction": 0.0,
    "history_size": 0,
    "user_ids": True,
    "progress": False,
}


def rmse(model, users, items, label) -> float:
    pred = model.predict_indices(users, items)
    return float(np.sqrt(np.mean((pred - label) ** 2)))


def _timed_fit(name: str, model, train, test) -> dict:
    """Fit ``model`` and return its row: wall and CPU seconds of ``fit``, loop throughput, test RMSE."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(train)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    loop = sum(h["seconds"] for h in model.history_)
    rows = sum(h["rows"] for h in model.history_)
    return {
        "model": name,
        "train s": wall,
        "cpu s": cpu,
        "loop s": loop,
        "rows/s": rows / loop,
        "rows seen": rows,
        "epochs": len(model.history_),
        "test rmse": rmse(model, *test),
    }


DEFAULT_MODELS = ("hybrid", "mf", "notebook")
#: Models whose constructor takes the ``progress`` run option (kept off: bars would skew the timing).
_HAS_PROGRESS = ("two-tower", "notebook", "seed", "hybrid")


def defaults_rows(data: str, train, test, models: list[str]) -> list[dict]:
    """Each model as shipped on one data set: fit wall/CPU seconds, views/s, the phases of the fit."""
    rows = []
    n_views = len(train.interactions)
    for name in models:
        model = create_model(name, progress=False) if name in _HAS_PROGRESS else create_model(name)
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(train)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        row = {"data": data, "views": n_views, "model": name, "fit s": wall, "cpu s": cpu, "views/s": n_views / wall}
        history = getattr(model, "history_", None) or []
        if history:
            row["loop rows/s"] = sum(h["rows"] for h in history) / max(sum(h["seconds"] for h in history), 1e-9)
            row["epochs"] = len(history)
        phases = getattr(model, "fit_seconds_", None) or getattr(model, "options_", {}).get("fit_seconds")
        if phases:
            row["phases s"] = ", ".join(f"{k} {v:.1f}" for k, v in phases.items())
        if model.regresses:
            row["test rmse"] = rmse(model, *test)
        rows.append(row)
        print(row, flush=True)
    return rows


def split_rows(path: str):
    """The random 80/20 split of a folder's rows (seed 0): training data set and test (users, items, label)."""
    ds = load_dataset(path)
    inter = ds.interactions
    test = np.random.default_rng(0).random(len(inter)) < 0.2
    train = ds.with_interactions(inter.take(~test), fully_observed=None, truth=None)
    label = np.clip(inter.label[test], 0.0, 5.0)
    rows = f"{int((~test).sum()):,} training rows, {int(test.sum()):,} test"
    print(f"# {path}: {ds.n_users} users x {ds.n_items} videos; {rows}", flush=True)
    return ds, train, (inter.user[test], inter.item[test], label)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="+", help="data folder(s); several only with --defaults")
    ap.add_argument("--epochs", type=int, nargs="+", default=[1, 2, 3], help="two-tower regression epochs")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--skip-seed", action="store_true")
    ap.add_argument("--latency-calls", type=int, default=300)
    ap.add_argument("--defaults", action="store_true", help="fit each model as shipped (see the module doc)")
    ap.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help="models fitted by --defaults")
    args = ap.parse_args()
    threads = set_threads(args.threads)
    print(f"# {machine_note(threads)}\n")
    if args.defaults:
        rows = []
        for path in args.data:
            _, train, test = split_rows(path)
            rows += defaults_rows(path, train, test, args.models)
        columns = ["data", "views", "model", "fit s", "cpu s", "views/s", "loop rows/s", "epochs", "phases s"]
        print_table(rows, [*columns, "test rmse"])
        return
    if len(args.data) > 1:
        ap.error("several data folders need --defaults")
    ds, train, (tu, ti, label) = split_rows(args.data[0])
    rows = []
    if not args.skip_seed:
        seed = create_model("seed", progress=False)
        rows.append(_timed_fit("seed (2 epochs)", seed, train, (tu, ti, label)))
    tt = None
    for epochs in args.epochs:
        for variant, extra in (("towers", {"residual": "none"}), ("towers + ALS residual", {"residual": 30.0})):
            tt = create_model("two-tower", **REGRESSION, **extra, epochs=epochs)
            rows.append(_timed_fit(f"two-tower regression, {variant}, {epochs} epoch(s)", tt, train, (tu, ti, label)))
            print(rows[-1], flush=True)
    print_table(rows, ["model", "train s", "cpu s", "loop s", "rows/s", "rows seen", "epochs", "test rmse"])

    users = np.arange(ds.n_users, dtype=np.int32)
    tt.recommend_indices(users[:1], k=10)  # warm the cached item matrix
    rng = np.random.default_rng(1)
    times = []
    for u in rng.integers(0, ds.n_users, args.latency_calls):
        start = time.perf_counter()
        tt.recommend_indices([u], k=10)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    tt.recommend_indices(users, k=10)
    all_users = time.perf_counter() - start
    print()
    print_table(
        [
            {
                "what": f"top-10 of {ds.n_items:,} videos, one user (median of {args.latency_calls})",
                "ms": 1000 * float(np.median(times)),
                "p95 ms": 1000 * float(np.quantile(times, 0.95)),
            },
            {"what": f"top-10 for all {ds.n_users:,} users", "ms": 1000 * all_users},
        ],
        ["what", "ms", "p95 ms"],
    )


if __name__ == "__main__":
    main()
