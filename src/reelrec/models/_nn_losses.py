"""Training losses: watch-ratio regression and softmax retrieval with logQ-corrected negatives."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from reelrec.training._gather import take_cells, take_rows


def regression_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error on the (transformed, standardised) label."""
    return F.mse_loss(pred.float(), target.float())


def softmax_retrieval_loss(
    users: torch.Tensor,
    row_user: torch.Tensor,
    items: torch.Tensor,
    item_bias: torch.Tensor,
    row_pos: torch.Tensor,
    log_q: torch.Tensor | None = None,
    seen: tuple[torch.Tensor, torch.Tensor] | torch.Tensor | None = None,
) -> torch.Tensor:
    """Sampled (or full) softmax cross-entropy of each row's positive video against the candidates.

    Logits are computed once per unique user (``users`` rows), not per training row: a row's loss is
    ``logsumexp(user logits) - positive logit``, so a batch with many rows per user costs no more.

    Parameters
    ----------
    users : Tensor, shape (U, d)
        Retrieval embeddings of the batch's unique users.
    row_user : Tensor of int64, shape (B,)
        Each training row's user, as a position in ``users``.
    items : Tensor, shape (C, d)
        Candidate video embeddings (the whole catalogue, the batch's videos, or a sample).
    item_bias : Tensor, shape (C,)
        The candidates' learned log-prior.
    row_pos : Tensor of int64, shape (B,)
        Each row's positive video, as a position in ``items``.
    log_q : Tensor, shape (C,), optional
        Log of each candidate's expected inclusion in the candidate set. Subtracting it
        (Yi et al., RecSys 2019, "Sampling-bias-corrected neural modeling") stops popular videos
        from being over-penalised as negatives, which is what makes in-batch softmax rank well.
    seen : (Tensor, Tensor) of int64, or Tensor of bool with shape (U, C), optional
        Cells (user position, candidate position), or a mask, left out of every denominator: the user's other
        positives. Recommendations exclude what a user already watched, so the model should not spend
        capacity ranking one watched video above another; each row's own positive is added back.
    """
    logits = users.float() @ items.float().T + item_bias.float()
    if log_q is not None:
        logits = logits - log_q
    pos = take_cells(logits, row_user, row_pos)
    if seen is None:
        lse = take_rows(torch.logsumexp(logits, dim=1), row_user)
    else:
        if isinstance(seen, torch.Tensor):
            masked = logits.masked_fill(seen, float("-inf"))
        else:
            masked = logits.index_put(seen, logits.new_full((len(seen[0]),), float("-inf")))
        lse = torch.logaddexp(take_rows(torch.logsumexp(masked, dim=1), row_user), pos)
    return (lse - pos).mean()
