"""Training machinery for the neural models: device choice, the epoch loop, checkpoints, progress.

Stability: provisional. ``resolve_device`` and the checkpoint layout are stable; the loop's
``TrainTask`` protocol may grow.
"""

from reelrec._progress import TrainProgress, progress_enabled
from reelrec.training._checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from reelrec.training._device import adam, autocast, resolve_device, to_device
from reelrec.training._gather import take_cells, take_rows
from reelrec.training._loop import LoopOptions, TrainResult, TrainTask, run_training

__all__ = [
    "LoopOptions",
    "TrainProgress",
    "TrainResult",
    "TrainTask",
    "adam",
    "autocast",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "progress_enabled",
    "resolve_device",
    "run_training",
    "save_checkpoint",
    "take_cells",
    "take_rows",
    "to_device",
]
