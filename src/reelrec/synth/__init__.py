"""Synthetic KuaiRec 2.0: the real files' shape and quirks, with a planted, known ground truth."""

from reelrec.synth._shape import SynthShape, synth_shape
from reelrec.synth._write import KUAIREC_FILES, TRUTH_FILE, write_kuairec

__all__ = ["KUAIREC_FILES", "TRUTH_FILE", "SynthShape", "synth_shape", "write_kuairec"]
