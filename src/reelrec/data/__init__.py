"""Data layer: the in-memory :class:`Dataset`, id maps, and readers for KuaiRec and generic files."""

from reelrec.data._dataset import Dataset, FeatureKind, FeatureTable, Interactions
from reelrec.data._download import DATASETS, DownloadError, download_dataset
from reelrec.data._generic import load_generic
from reelrec.data._kuairec import load_kuairec
from reelrec.data._load import detect_format, load_dataset
from reelrec.data._movielens import load_movielens_100k
from reelrec.data._vocab import IdMap

__all__ = [
    "DATASETS",
    "Dataset",
    "DownloadError",
    "FeatureKind",
    "FeatureTable",
    "IdMap",
    "Interactions",
    "detect_format",
    "download_dataset",
    "load_dataset",
    "load_generic",
    "load_kuairec",
    "load_movielens_100k",
]
