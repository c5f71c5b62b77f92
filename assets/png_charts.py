"""The canvas every report chart is drawn on, and its PNG bytes.

matplotlib's object API on an Agg canvas (no pyplot, no display, no global
state), so charts render headless and in parallel runs alike; a chart with
nothing to show says so rather than failing.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    # matplotlib is imported when a chart is drawn, not with the code location: it is
    # about a second of every Dagster process's start (the code server, each run).
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI: Final = 100


def new_figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), dpi=DPI, layout="constrained")
    return fig, fig.subplots()


def empty_chart(fig: Figure, ax: Axes, message: str) -> bytes:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return png(fig)


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No timestamp or software version in the file: the same rows give the same bytes.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
