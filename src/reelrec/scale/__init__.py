"""Scale-out: an out-of-core shard store, batches streamed shard by shard, and distributed-run helpers.

Stability: provisional.
"""

from reelrec.scale._batches import ShardStream, assign_shards, iter_batches
from reelrec.scale._convert import convert_log, store_from_dataset
from reelrec.scale._fit import fit_store
from reelrec.scale._kuairec import find_sharded_kuairec, load_kuairec_sharded
from reelrec.scale._pairs import PairBlock
from reelrec.scale._run import train_sharded
from reelrec.scale._sources import LogColumns, LogSource, collect_ids, csv_to_parquet_shards, index_batches
from reelrec.scale._store import ShardInfo, ShardStore, is_store
from reelrec.scale._write import Batch, StoreWriter, store_from_arrays, write_store
from reelrec.training.distributed import (
    DistInfo,
    all_reduce_mean,
    all_reduce_sum,
    any_rank,
    barrier,
    broadcast_object,
    current,
    distributed_session,
    env_info,
    init_distributed,
    is_main_process,
    launched_by_torchrun,
    rank0_first,
    rank_device,
    shutdown_distributed,
)

__all__ = [
    "Batch",
    "DistInfo",
    "LogColumns",
    "LogSource",
    "PairBlock",
    "ShardInfo",
    "ShardStore",
    "ShardStream",
    "StoreWriter",
    "all_reduce_mean",
    "all_reduce_sum",
    "any_rank",
    "assign_shards",
    "barrier",
    "broadcast_object",
    "collect_ids",
    "convert_log",
    "csv_to_parquet_shards",
    "current",
    "distributed_session",
    "env_info",
    "find_sharded_kuairec",
    "fit_store",
    "index_batches",
    "init_distributed",
    "is_main_process",
    "is_store",
    "iter_batches",
    "launched_by_torchrun",
    "load_kuairec_sharded",
    "rank0_first",
    "rank_device",
    "shutdown_distributed",
    "store_from_arrays",
    "store_from_dataset",
    "train_sharded",
    "write_store",
]
