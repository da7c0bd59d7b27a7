"""Saving and loading trained models as verified, pickle-free directories."""

from reelrec.artifacts._artifact import (
    FORMAT_VERSION,
    Artifact,
    History,
    load_artifact,
    read_manifest,
    recent_history,
    save_artifact,
)

__all__ = [
    "FORMAT_VERSION",
    "Artifact",
    "History",
    "load_artifact",
    "read_manifest",
    "recent_history",
    "save_artifact",
]
