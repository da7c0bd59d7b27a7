"""Data layer: the in-memory :class:`Dataset`, id maps, and readers for KuaiRec and generic files."""

from reelrec.data._dataset import Dataset, FeatureKind, FeatureTable, Interactions
from reelrec.data._vocab import IdMap

__all__ = ["Dataset", "FeatureKind", "FeatureTable", "IdMap", "Interactions"]
