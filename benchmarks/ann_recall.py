"""Recall@10 of the faiss IVF retriever against exact search on a large synthetic catalogue.

Usage::

    python benchmarks/ann_recall.py [--items 1000000] [--dim 64] [--queries 1000] [--nprobe 8 16 32 64 128]
                                    [--structure clustered|uniform] [--threads 2] [--out FILE]

The catalogue imitates trained embeddings: videos scattered around ``--clusters`` topic centres, with
within-topic noise as large as the spread between centres (``--spread 1``: topics overlap, so the
nearest neighbours are not simply "the same cluster") and uneven norms (popular, well-learned videos
have longer vectors); users are drawn from the same topics.
``--structure uniform`` draws i.i.d. Gaussian vectors instead, the worst case for any ANN index since
there is no structure to exploit. Two workloads are measured, as the service runs them:

- ``users``: maximum inner product of user vectors with raw item vectors (known users' top-k);
- ``similar``: cosine between unit item vectors (``GET /v1/items/{id}/similar``).

For each ``nprobe`` the script reports recall@10 against :class:`ExactRetriever` (the fraction of the
exact top 10 that the index returns, averaged over queries) and single-query latency with one thread,
as each service worker uses; exact search is timed the same way for comparison.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from reelrec.serve.retrieval import ExactRetriever, FaissRetriever, default_nlist, unit_rows


def catalogue(
    n_items: int, n_users: int, dim: int, clusters: int, structure: str, spread: float, seed: int
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    rng = np.random.default_rng(seed)
    if structure == "uniform":
        return (rng.standard_normal((n_items, dim), dtype=np.float32),
                rng.standard_normal((n_users, dim), dtype=np.float32))
    centres = rng.standard_normal((clusters, dim), dtype=np.float32)
    items = np.empty((n_items, dim), np.float32)
    step = 200_000
    for lo in range(0, n_items, step):  # in blocks: the noise alone would double peak memory
        hi = min(n_items, lo + step)
        topic = rng.integers(0, clusters, hi - lo)
        block = centres[topic] + spread * rng.standard_normal((hi - lo, dim), dtype=np.float32)
        block *= rng.lognormal(0.0, 0.25, (hi - lo, 1)).astype(np.float32)
        items[lo:hi] = block
    topic = rng.integers(0, clusters, n_users)
    users = centres[topic] + spread * rng.standard_normal((n_users, dim), dtype=np.float32)
    return items, users.astype(np.float32)


def recall(truth: NDArray[np.int32], got: NDArray[np.int32]) -> float:
    hits = [len(set(t[t >= 0]) & set(g[g >= 0])) / max(1, int((t >= 0).sum())) for t, g in zip(truth, got, strict=True)]
    return float(np.mean(hits))


def single_query_us(search: Any, queries: NDArray[np.float32], k: int) -> dict[str, float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        search(q, k)
        times.append(time.perf_counter() - t)
    us = np.asarray(times) * 1e6
    return {"p50_us": round(float(np.median(us)), 1), "p99_us": round(float(np.percentile(us, 99)), 1)}


def measure(name: str, items: NDArray[np.float32], queries: NDArray[np.float32], args: argparse.Namespace,
            exclude_self: bool) -> dict[str, Any]:
    k = 10
    exact = ExactRetriever(items)
    exclude = [np.array([i], np.int32) for i in args.self_ids] if exclude_self else None
    t = time.perf_counter()
    truth, _ = exact.search(queries, k, exclude)
    truth_s = time.perf_counter() - t
    torch.set_num_threads(1)
    import faiss

    faiss.omp_set_num_threads(1)
    timing = queries[: args.timed]
    exact_lat = single_query_us(exact.search, timing, k)
    faiss.omp_set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    t = time.perf_counter()
    ann = FaissRetriever(items, nlist=args.nlist, nprobe=1)
    build_s = time.perf_counter() - t
    rows = []
    for nprobe in args.nprobe:
        ann._index.nprobe = nprobe
        faiss.omp_set_num_threads(args.threads)
        got, _ = ann.search(queries, k, exclude)
        faiss.omp_set_num_threads(1)
        lat = single_query_us(ann.search, timing, k)
        rows.append({"nprobe": nprobe, "recall_at_10": round(recall(truth, got), 4), **lat})
        print(f"  {name}: nprobe={nprobe:4d} recall@10={rows[-1]['recall_at_10']:.4f} "
              f"p50={lat['p50_us']:.0f} us p99={lat['p99_us']:.0f} us", flush=True)
    best = next((r for r in rows if r["recall_at_10"] >= 0.95), None)
    return {
        "workload": name,
        "nlist": ann.nlist,
        "build_s": round(build_s, 1),
        "exact_ground_truth_s": round(truth_s, 1),
        "exact_single_query": exact_lat,
        "sweep": rows,
        "smallest_nprobe_reaching_0.95": None if best is None else best["nprobe"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--timed", type=int, default=200, help="Queries timed one by one.")
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=1.0,
                        help="Within-topic noise relative to the spread of topic centres (1: topics overlap).")
    parser.add_argument("--structure", choices=["clustered", "uniform"], default="clustered")
    parser.add_argument("--nlist", type=int, default=None, help="Default: the service's default_nlist.")
    parser.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    parser.add_argument("--threads", type=int, default=2, help="Threads for the batch searches and the build.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workloads", nargs="+", choices=["users", "similar"], default=["users", "similar"])
    parser.add_argument("--out", help="Also write the JSON result here.")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    t = time.perf_counter()
    items, users = catalogue(
        args.items, args.queries, args.dim, args.clusters, args.structure, args.spread, args.seed
    )
    print(f"catalogue: {args.items:,} x {args.dim} ({args.structure}) in {time.perf_counter() - t:.1f} s", flush=True)
    results = []
    if "users" in args.workloads:
        results.append(measure("users (inner product)", items, users, args, exclude_self=False))
    if "similar" in args.workloads:
        unit = unit_rows(items)
        del items
        args.self_ids = np.random.default_rng(args.seed + 1).choice(len(unit), args.queries, replace=False)
        results.append(measure("similar (cosine)", unit, unit[args.self_ids], args, exclude_self=True))
    out = {
        "items": args.items,
        "dim": args.dim,
        "structure": args.structure,
        "clusters": args.clusters if args.structure == "clustered" else None,
        "spread": args.spread if args.structure == "clustered" else None,
        "queries": args.queries,
        "default_nlist": default_nlist(args.items),
        "results": results,
    }
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
