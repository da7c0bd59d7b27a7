"""The reference notebook's pipeline, as a script: pandas loading, a Keras two-tower, its random row split.

Usage (in the benchmark-only environment, ``make seed-venv``; TensorFlow is never a reelrec dependency)::

    .venv-seed/bin/python benchmarks/seed_notebook.py DATA_DIR --out OUT_DIR [--seed 0] [--threads 1]

``DATA_DIR`` is a KuaiRec 2.0 folder (``reelrec synth`` writes one). This file deliberately does not
import reelrec: it is the notebook, the thing the ``seed`` preset is measured against. It writes to
``OUT_DIR`` (atomically): ``train_rows.npy`` / ``test_rows.npy`` (0-based row numbers of
big_matrix.csv, so the preset can train and test on the same rows) and ``metrics.json`` (RMSE and MAE
in watch-ratio units on the test rows, NDCG@10 on the fully observed small block, training seconds,
peak memory).

What the notebook does, step by step:

1. ``pd.read_csv`` big_matrix.csv, user_features.csv and item_daily_features.csv.
2. User features: the 18 ``onehot_feat*`` codes. Video features: ``music_id`` and ``video_tag_id``
   (static per video) and the per-video means of 15 daily counters. Each table is standardised with
   ``sklearn.preprocessing.StandardScaler`` fitted on that table (one row per user / video).
3. Both are merged onto the big matrix's rows (one wide table, as the notebook does).
4. Label: watch_ratio clipped to [0, 5], min-max scaled to [-1, 1] with the training rows' range.
5. Split (reconstructed; the notebook says only "80/20"): ``train_test_split`` of the rows,
   ``test_size=0.2, random_state=seed``; the same seed seeds Keras (initialisation, batch order).
6. Model: user MLP and video MLP 256-128-96-48 (ReLU between, linear last layer), L2-normalised
   outputs, dot product; MSE, Adam(lr 0.01), batch 512, 2 epochs.
7. Metrics: predictions mapped back to watch-ratio units, RMSE and MAE against the clipped label on
   the test rows; on the small block each user's 10 best-scored block videos (videos the user has in
   the training rows left out), relevant when watch_ratio >= 2, binary NDCG@10 averaged over users
   with a relevant video.

Assumptions, where the notebook leaves a detail open: a missing feature value (a user's blank
``onehot_feat`` code, a video without daily rows) becomes 0 after standardising, i.e. the column mean;
``StandardScaler`` ignores it while fitting.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

USER_COLUMNS = [f"onehot_feat{i}" for i in range(18)]
CODE_COLUMNS = ["music_id", "video_tag_id"]
COUNTERS = [
    "show_cnt", "play_cnt", "play_duration", "complete_play_cnt", "valid_play_cnt", "long_time_play_cnt",
    "short_time_play_cnt", "play_progress", "like_cnt", "comment_cnt", "follow_cnt", "share_cnt",
    "download_cnt", "report_cnt", "reduce_similar_cnt",
]  # fmt: skip
ITEM_COLUMNS = CODE_COLUMNS + [f"mean_{c}" for c in COUNTERS]
CLIP = 5.0
RELEVANT = 2.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="KuaiRec 2.0 folder (big_matrix.csv, user_features.csv, ...)")
    ap.add_argument("--out", type=Path, required=True, help="folder for the split, and metrics.json")
    ap.add_argument("--seed", type=int, default=0, help="split and Keras seed")
    ap.add_argument("--threads", type=int, default=1, help="TensorFlow intra- and inter-op threads")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=512)
    return ap.parse_args(argv)


def load_tables(data: Path):
    """The notebook's three pandas reads; returns the big matrix and per-entity standardised features."""
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    for name in ("big_matrix.csv", "user_features.csv", "item_daily_features.csv", "small_matrix.csv"):
        if not (data / name).exists():
            raise SystemExit(f"{data / name}: file not found (a KuaiRec 2.0 folder is expected)")
    big = pd.read_csv(data / "big_matrix.csv")
    users = pd.read_csv(data / "user_features.csv")[["user_id", *USER_COLUMNS]]
    daily = pd.read_csv(data / "item_daily_features.csv").sort_values(["video_id", "date"], kind="stable")
    agg = {c: "last" for c in CODE_COLUMNS} | {c: "mean" for c in COUNTERS}
    items = daily.groupby("video_id").agg(agg).rename(columns={c: f"mean_{c}" for c in COUNTERS}).reset_index()
    users[USER_COLUMNS] = StandardScaler().fit_transform(users[USER_COLUMNS].astype("float64"))
    items[ITEM_COLUMNS] = StandardScaler().fit_transform(items[ITEM_COLUMNS].astype("float64"))
    return big, users.fillna(0.0), items.fillna(0.0)


def build_model(n_user: int, n_item: int):
    """User and video MLPs 256-128-96-48 (ReLU between, linear last), L2-normalised, dotted."""
    import keras
    from keras import layers

    def tower(n_in: int, name: str) -> keras.Model:
        inp = keras.Input((n_in,))
        x = inp
        for width in (256, 128, 96):
            x = layers.Dense(width, activation="relu")(x)
        x = layers.UnitNormalization()(layers.Dense(48)(x))
        return keras.Model(inp, x, name=name)

    user_tower, item_tower = tower(n_user, "user_tower"), tower(n_item, "item_tower")
    u_in, i_in = keras.Input((n_user,)), keras.Input((n_item,))
    out = layers.Dot(axes=1)([user_tower(u_in), item_tower(i_in)])
    model = keras.Model([u_in, i_in], out)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    return model, user_tower, item_tower


def ndcg_at_10(data: Path, train_pairs, user_tower, item_tower, users, items) -> tuple[float, int]:
    """Binary NDCG@10 on the small block: block videos ranked per block user, training videos left out."""
    import numpy as np
    import pandas as pd

    small = pd.read_csv(data / "small_matrix.csv", usecols=["user_id", "video_id", "watch_ratio"])
    block_users = np.sort(small["user_id"].unique())
    block_items = np.sort(small["video_id"].unique())
    u_feat = users.set_index("user_id").reindex(block_users).fillna(0.0)[USER_COLUMNS].to_numpy("float32")
    i_feat = items.set_index("video_id").reindex(block_items).fillna(0.0)[ITEM_COLUMNS].to_numpy("float32")
    scores = user_tower.predict(u_feat, batch_size=4096, verbose=0) @ item_tower.predict(
        i_feat, batch_size=4096, verbose=0
    ).T
    u_pos = pd.Series(np.arange(len(block_users)), index=block_users)
    i_pos = pd.Series(np.arange(len(block_items)), index=block_items)
    seen = train_pairs[train_pairs["user_id"].isin(block_users) & train_pairs["video_id"].isin(block_items)]
    scores[u_pos[seen["user_id"]].to_numpy(), i_pos[seen["video_id"]].to_numpy()] = -np.inf
    relevant = np.zeros(scores.shape, dtype=bool)
    rel = small[small["watch_ratio"] >= RELEVANT]
    relevant[u_pos[rel["user_id"]].to_numpy(), i_pos[rel["video_id"]].to_numpy()] = True
    top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    discount = 1.0 / np.log2(np.arange(2, 12))
    dcg = (np.take_along_axis(relevant, top, axis=1) * discount).sum(1)
    n_rel = relevant.sum(1)
    idcg = np.cumsum(discount)[np.minimum(n_rel, 10) - 1]
    scored = n_rel > 0
    return float(np.mean(dcg[scored] / idcg[scored])), int(scored.sum())


def save_atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        write(fh)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras
    from sklearn.model_selection import train_test_split

    t0 = time.perf_counter()
    big, users, items = load_tables(args.data)
    table = big.merge(users, on="user_id", how="left").merge(items, on="video_id", how="left")
    table[USER_COLUMNS + ITEM_COLUMNS] = table[USER_COLUMNS + ITEM_COLUMNS].fillna(0.0)
    train_rows, test_rows = train_test_split(np.arange(len(table)), test_size=0.2, random_state=args.seed)
    load_seconds = time.perf_counter() - t0

    label = table["watch_ratio"].clip(0.0, CLIP).to_numpy("float32")
    lo, hi = float(label[train_rows].min()), float(label[train_rows].max())
    y = (2.0 * (label - lo) / max(hi - lo, 1e-12) - 1.0).astype("float32")
    u_x = table[USER_COLUMNS].to_numpy("float32")
    i_x = table[ITEM_COLUMNS].to_numpy("float32")

    keras.utils.set_random_seed(args.seed)
    model, user_tower, item_tower = build_model(len(USER_COLUMNS), len(ITEM_COLUMNS))
    u_train, i_train, y_train = u_x[train_rows], i_x[train_rows], y[train_rows]
    wall, cpu = time.perf_counter(), time.process_time()
    history = model.fit(
        [u_train, i_train], y_train, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0
    )
    train_seconds, train_cpu = time.perf_counter() - wall, time.process_time() - cpu
    del u_train, i_train, y_train

    cosine = model.predict([u_x[test_rows], i_x[test_rows]], batch_size=8192, verbose=0).reshape(-1)
    pred = (cosine + 1.0) * 0.5 * (hi - lo) + lo
    err = pred - label[test_rows]
    ndcg, n_scored = ndcg_at_10(
        args.data, table.iloc[train_rows][["user_id", "video_id"]], user_tower, item_tower, users, items
    )
    metrics = {
        "who": "notebook",
        "seed": args.seed,
        "threads": args.threads,
        "rows": len(table),
        "train_rows": len(train_rows),
        "test_rows": len(test_rows),
        "rmse": float(np.sqrt(np.mean(err.astype("float64") ** 2))),
        "mae": float(np.mean(np.abs(err.astype("float64")))),
        "ndcg@10": ndcg,
        "ndcg_users": n_scored,
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu,
        "load_seconds": load_seconds,
        "loss": [float(v) for v in history.history["loss"]],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: KiB
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    save_atomic(args.out / "train_rows.npy", lambda fh: np.save(fh, np.sort(train_rows).astype("int64")))
    save_atomic(args.out / "test_rows.npy", lambda fh: np.save(fh, np.sort(test_rows).astype("int64")))
    save_atomic(args.out / "metrics.json", lambda fh: fh.write(json.dumps(metrics, indent=2).encode()))
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
