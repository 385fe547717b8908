"""Server-rendered SVG charts of the dashboards, each with a caption made from what it drew.

``chart(figure, data)`` draws figure 5.1 (:mod:`.trend`), 5.3 or the funnel plot
(:mod:`.institutions`), or 6.2/6.4 (:mod:`.scatter`) from the dashboard's data
(:mod:`reporting.dashboards`), or one of the policy figures 5.4–5.9 (:mod:`.shares`, from
``questionnaire.sector``), and keeps the result: a chart is drawn once per figure set
and reader's view, not per request.

Decision: the key of a kept chart is a hash of everything it is drawn from (the data as the
reader may see it, the language, ``VERSION``), so a new figure set, a new publication or
another reader's view is a new chart by itself and nothing needs invalidating; entries
expire after a week unused. The data is what the reader may see already (it went through
:mod:`reporting.access`), so a kept chart never shows one reader what another may see.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.utils import translation

from . import institutions, scatter, shares, trend
from .svg import inline_svg

__all__ = ["Chart", "chart", "inline_svg"]

VERSION = 3  # raise when the drawing changes
KEEP_SECONDS = 7 * 24 * 3600
FIGURES = {
    "5.1": trend.figure_51,
    "5.3": institutions.figure_53,
    "funnel": institutions.funnel,
    "6.2": scatter.scatter,
    "6.4": scatter.scatter,
    "answers": shares.answer_shares,
}


@dataclass(frozen=True)
class Chart:
    svg: bytes
    caption: str  # sentences naming only what is drawn


def _key(figure: str, data: dict[str, Any]) -> str:
    payload = json.dumps(
        {
            "figure": figure,
            "language": translation.get_language(),
            "version": VERSION,
            "data": {k: v for k, v in data.items() if k not in ("svg", "caption")},
        },
        sort_keys=True,
        default=repr,
    )
    return "miv:chart:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chart(figure: str, data: dict[str, Any]) -> Chart:
    """The chart of ``figure`` ("5.1", "5.3", "funnel", "6.2", "6.4", "answers") for
    ``data``."""
    key = _key(figure, data)
    kept = cache.get(key)
    if kept is not None:
        return Chart(svg=kept["svg"], caption=kept["caption"])
    svg, sentences = FIGURES[figure](data)
    made = Chart(svg=svg, caption=" ".join(str(s) for s in sentences))
    cache.set(key, {"svg": made.svg, "caption": made.caption}, KEEP_SECONDS)
    return made
