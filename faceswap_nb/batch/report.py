"""Reading a batch's result frame: a summary table, two plots, and a typed export.

``summary`` counts jobs, seconds and money by status; ``plot_costs`` and ``plot_times``
draw cost per job and processing time against video length, so a person can look
instead of read; ``export`` writes the frame to CSV or Parquet and ``read_export``
brings it back with its types (categories, UTC datetimes, timedeltas, nullable strings;
see :mod:`faceswap_nb.batch._export`). Matplotlib (the ``[demo]`` extra) is imported
only when plotting.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from faceswap_nb.batch._export import (
    KNOWN_DTYPES,
    PYARROW_MISSING,
    export,
    pyarrow_installed,
    read_export,
    schema_path,
)
from faceswap_nb.batch._frame import STATUSES
from faceswap_nb.batch.money import to_micros, to_money

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "KNOWN_DTYPES",
    "PYARROW_MISSING",
    "STATUS_COLORS",
    "billable_estimates",
    "export",
    "job_labels",
    "plot_costs",
    "plot_times",
    "pyarrow_installed",
    "read_export",
    "schema_path",
    "sum_money",
    "summary",
]

ENDED = frozenset({"completed", "failed", "canceled"})
STATUS_COLORS = {
    "created": "#9ecae1",
    "processing": "#3182bd",
    "completed": "#31a354",
    "failed": "#de2d26",
    "canceled": "#969696",
    "not_submitted": "#d9d9d9",
}
"""One colour per status, shared by the plots and the batch panel."""

# -- summary ------------------------------------------------------------------------


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [name for name in columns if name not in df.columns]
    if missing:
        raise ValueError(f"{what} needs the column(s) {', '.join(missing)}: pass run_batch's result frame")


def sum_money(values: Iterable[float]) -> float:
    """The exact sum of money amounts (added as integer micro-units); NaN when none is known.

    Missing amounts (NaN, None) are left out: a job without a reported cost adds nothing.
    """
    known = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").dropna()
    if known.empty:
        return math.nan
    return to_money(sum(to_micros(float(amount)) for amount in known))


def _duplicates(df: pd.DataFrame) -> pd.Series:
    """Rows repeating an earlier pair: a true ``duplicate`` (estimate frames) or
    ``error_code == "duplicate"`` (result frames)."""
    duplicate = pd.Series(False, index=df.index)
    if "duplicate" in df.columns:
        duplicate |= df["duplicate"].fillna(False).astype(bool)
    if "error_code" in df.columns:
        duplicate |= (df["error_code"].astype("string") == "duplicate").fillna(False).astype(bool)
    return duplicate


def billable_estimates(df: pd.DataFrame) -> pd.Series:
    """Each row's ``est_cost``, NaN for a duplicate pair (it runs once, under its first row)."""
    costs = pd.to_numeric(df["est_cost"], errors="coerce").astype("float64")
    return costs.mask(_duplicates(df))


def _statuses(df: pd.DataFrame) -> list[str]:
    """The statuses that occur, in the category order (the known order otherwise)."""
    status = df["status"]
    order = list(status.cat.categories) if isinstance(status.dtype, pd.CategoricalDtype) else list(STATUSES)
    present = set(status.dropna().astype(str))
    return [s for s in order if s in present] + sorted(present - set(order))


def _wall_hours(df: pd.DataFrame) -> float:
    """Hours from the first submission to the last finish; NaN when nothing has finished."""
    if "submitted_at" not in df.columns or "finished_at" not in df.columns:
        return math.nan
    start, end = df["submitted_at"].min(), df["finished_at"].max()
    if pd.isna(start) or pd.isna(end) or end <= start:
        return math.nan
    return (end - start).total_seconds() / 3600


def _row(jobs: pd.DataFrame, hours: float, ended: bool) -> dict[str, Any]:
    counted = jobs[~_duplicates(jobs)]  # a duplicate's seconds and money belong to its first row
    video_seconds = float(counted["video_seconds"].sum(min_count=1))
    return {
        "jobs": len(jobs),
        "video_seconds": video_seconds,
        "billed_seconds": float(counted["billed_seconds"].sum(min_count=1)),
        "est_cost": sum_money(counted["est_cost"]),
        "actual_cost": sum_money(counted["actual_cost"]),
        "jobs_per_hour": len(jobs) / hours if ended and hours > 0 else math.nan,
        "video_seconds_per_hour": video_seconds / hours if ended and hours > 0 else math.nan,
    }


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Jobs, seconds and money by status, with a ``total`` row and the batch's throughput.

    Args:
        df: run_batch's result frame (one row per pair).

    Returns:
        One row per status that occurs (in the status order) and a last row ``total``;
        columns ``jobs``, ``video_seconds``, ``billed_seconds``, ``est_cost``,
        ``actual_cost`` (money summed exactly; NaN where the server reported none; a
        duplicate pair is counted but adds no seconds nor money), and
        the throughput ``jobs_per_hour`` and ``video_seconds_per_hour``: how many ended
        jobs of that status (and their video seconds) the batch got through per hour of
        wall clock, from the first submission to the last finish. The total row counts
        every ended job; statuses still running, or never submitted, have NaN there.

    Raises:
        ValueError: a column it needs is missing.
    """
    needed = ("status", "video_seconds", "billed_seconds", "est_cost", "actual_cost")
    _require(df, needed, "summary")
    hours = _wall_hours(df)
    status = df["status"].astype("string")
    rows = {s: _row(df[status == s], hours, s in ENDED) for s in _statuses(df)}
    total = _row(df, hours, ended=True)
    ended = df[status.isin(list(ENDED)).fillna(False)]
    total["jobs_per_hour"] = len(ended) / hours if hours > 0 else math.nan
    total["video_seconds_per_hour"] = (
        float(ended["video_seconds"].sum()) / hours if hours > 0 else math.nan
    )
    table = pd.DataFrame.from_dict({**rows, "total": total}, orient="index")
    table.index.name = "status"
    return table.astype({"jobs": "int64"})


# -- plots --------------------------------------------------------------------------


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # the [demo] extra; imported only when plotting

    _figure, new = plt.subplots(figsize=(7, 3.5), layout="constrained")
    return new


def _name(value: object, width: int = 18) -> str:
    text = "?" if pd.isna(value) else os.path.basename(str(value).rstrip("/")) or str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def job_labels(df: pd.DataFrame) -> list[str]:
    """A short label per row: ``1 target.mp4 + face.jpg`` (numbered, since pairs may repeat)."""
    return [
        f"{number} {_name(video)} + {_name(face)}"
        for number, (video, face) in enumerate(zip(df["video"], df["face"], strict=True), 1)
    ]


def plot_costs(df: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Bars of the estimated and the actual cost of each job, side by side.

    A job without a reported cost (not finished, failed, never submitted) has no actual
    bar, a duplicate pair no estimated one. The title gives both totals.

    Args:
        ax: draw here; None makes a new figure.

    Returns:
        The matplotlib Axes.
    """
    _require(df, ("video", "face", "est_cost", "actual_cost"), "plot_costs")
    ax = _axes(ax)
    positions = range(len(df))
    width = 0.4
    estimated = billable_estimates(df).to_numpy(dtype=float, na_value=math.nan)
    actual = pd.to_numeric(df["actual_cost"], errors="coerce").to_numpy(dtype=float, na_value=math.nan)
    ax.bar([p - width / 2 for p in positions], estimated, width, label="estimated", color="#bdbdbd")
    ax.bar([p + width / 2 for p in positions], actual, width, label="actual", color="#3182bd")
    ax.set_xticks(list(positions), job_labels(df), rotation=30, ha="right", fontsize="small")
    ax.set_ylabel("cost")
    ax.set_title(
        f"cost per job — estimated {sum_money(billable_estimates(df)):.2f}, "
        f"actual {_total_text(sum_money(df['actual_cost']))}"
    )
    ax.legend()
    return ax


def _total_text(value: float) -> str:
    return "not reported yet" if math.isnan(value) else f"{value:.2f}"


def plot_times(df: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Each job's processing time (``run_time``) against its video length, by status.

    A dashed line marks real time (processing as long as the video); points above it
    took longer than the video lasts. Jobs without a run time are left out.

    Args:
        ax: draw here; None makes a new figure.

    Returns:
        The matplotlib Axes.
    """
    _require(df, ("status", "video_seconds", "run_time"), "plot_times")
    ax = _axes(ax)
    seconds = pd.to_numeric(df["video_seconds"], errors="coerce")
    run = pd.to_timedelta(df["run_time"]).dt.total_seconds()
    status = df["status"].astype("string")
    shown = seconds.notna() & run.notna()
    for name in _statuses(df):
        mask = shown & (status == name).fillna(False)
        if mask.any():
            ax.scatter(seconds[mask], run[mask], label=name, color=STATUS_COLORS.get(name, "#636363"),
                       edgecolors="black", linewidths=0.5, zorder=3)
    if shown.any():
        top = float(max(seconds[shown].max(), run[shown].max())) * 1.1
        ax.plot([0, top], [0, top], linestyle="--", color="#969696", linewidth=1, label="real time")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.legend()
    ax.set_xlabel("video length (s)")
    ax.set_ylabel("processing time (s)")
    ax.set_title(f"processing time against video length — {int(shown.sum())} of {len(df)} jobs")
    return ax
