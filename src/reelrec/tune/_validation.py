"""The validation split every tuning choice is made on, carved from a split's training part only."""

from __future__ import annotations

from reelrec.eval._splits import Split, holdout_split

#: Validation share of each user's training pairs under the kuairec protocol (its test is the block).
KUAIREC_VALIDATION_FRACTION = 0.2


def validation_split(split: Split, seed: int = 0) -> Split:
    """Carve a validation split from ``split.train`` the way ``split`` was carved from the data.

    ``holdout`` (random): a per-user random holdout of the training pairs with the same fraction;
    ``holdout`` (temporal): a temporal cutoff on the training rows with the same fraction;
    ``kuairec``: a per-user random holdout of the big matrix's training rows
    (``KUAIREC_VALIDATION_FRACTION``), judged with the same relevance threshold by the caller.
    Only ``split.train`` is read, so nothing chosen on the result can depend on ``split.test``.
    Every training user is kept (``min_interactions=1``) and none is held out as cold: the
    validation figure is the warm users' ranking quality.

    Parameters
    ----------
    split : Split
        The evaluation split whose training part is carved.
    seed : int
        Seed of the validation draw.

    Returns
    -------
    Split
        ``train`` is a subset of ``split.train``'s rows, ``test`` the rest of them.
    """
    if split.protocol == "kuairec":
        mode, fraction = "random", KUAIREC_VALIDATION_FRACTION
    else:
        mode = split.params.get("mode", "random")
        fraction = float(split.params.get("test_fraction", 0.2))
    return holdout_split(split.train, test_fraction=fraction, seed=seed, mode=mode, min_interactions=1)
