"""One router per resource; each translates HTTP to :mod:`reelrec.serve.ranking` calls and back."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from reelrec.serve.schemas import ErrorOut, ValidationOut

_DESCRIPTIONS = {
    401: "Admin token missing or wrong.",
    403: "The path leads outside the artifact root.",
    404: "Unknown user or video id (the detail names it), or no such artifact.",
    409: "The loaded model cannot answer this request (e.g. it has no embeddings or does not regress).",
    413: "Request body too large.",
    422: "Invalid request: the detail names the field (loc) and what was expected.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer with."""
    return {
        code: {"model": ValidationOut if code == 422 else ErrorOut, "description": _DESCRIPTIONS[code]}
        for code in codes
    }


def invalid(loc: list[str | int], msg: str, kind: str = "value_error") -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors (``loc`` below ``body``), for checks that need
    the loaded model or the store."""
    return HTTPException(422, detail=[{"loc": ["body", *loc], "msg": msg, "type": kind}])
