"""Feature pipeline: encode user and item side features for models, fitted on training entities only."""

from reelrec.features._encoded import EncodedFeatures, FeatureSpec
from reelrec.features._hashing import hash_bucket
from reelrec.features._pipeline import FeaturePipeline

__all__ = ["EncodedFeatures", "FeaturePipeline", "FeatureSpec", "hash_bucket"]
