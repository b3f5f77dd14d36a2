"""The batch panel's table and totals, without widgets: pure functions of a result frame.

Every value from the frame is escaped; statuses get the colours of
:data:`faceswap_nb.batch.report.STATUS_COLORS`, as in the plots.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import pandas as pd

from faceswap_nb.batch.report import STATUS_COLORS, billable_estimates, sum_money
from faceswap_nb.widgets._status import format_duration

__all__ = ["ENDED", "IN_FLIGHT", "column", "in_flight_ids", "pending", "statuses", "table_html", "totals_text"]

IN_FLIGHT = ("created", "processing")
"""The statuses of jobs that Cancel-all cancels: submitted and not yet ended."""
ENDED = ("completed", "failed", "canceled")
_COLUMNS = ("#", "video", "face", "status", "job", "video s", "estimated", "actual", "queued", "ran", "notes")
_NUMBERS = frozenset({"#", "video s", "estimated", "actual", "queued", "ran"})


def column(df: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name``, or a missing value per row when the frame has no such column."""
    return df[name] if name in df.columns else pd.Series(pd.NA, index=df.index, dtype="object")


def statuses(df: pd.DataFrame) -> pd.Series:
    """Each row's status as a string; a row without one counts as not submitted."""
    return column(df, "status").astype("string").fillna("not_submitted")


def in_flight_ids(df: pd.DataFrame) -> list[str]:
    """Job ids of the frame's jobs still created or processing, in row order."""
    ids = column(df, "job_id").astype("string")
    mask = statuses(df).isin(IN_FLIGHT) & ids.notna()
    return [str(job_id) for job_id in ids[mask]]


def _cell(value: object, text: Callable[[Any], str] = str) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else html.escape(text(value))


def _short(value: object, width: int = 24) -> str:
    text = str(value).rstrip("/").rsplit("/", 1)[-1] or str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _seconds(value: pd.Timedelta) -> str:
    return format_duration(value.total_seconds())


def _badge(status: str) -> str:
    color = STATUS_COLORS.get(status, "#636363")
    return (
        f'<span class="fsnb-batch-status fsnb-batch-{html.escape(status)}" style="background: {color}; '
        f'color: #000; padding: 0 6px; border-radius: 8px">{html.escape(status)}</span>'
    )


def _notes(code: object, message: object, warnings: object) -> str:
    """The server's error (``code: message``), then what the engine noticed."""
    error = ": ".join(str(v) for v in (code, message) if v is not None and not pd.isna(v))
    noticed = "" if warnings is None or pd.isna(warnings) else f"note: {warnings}"
    return " · ".join(part for part in (error, noticed) if part)


def _style(column_name: str) -> str:
    align = "right" if column_name in _NUMBERS else "left"
    return f"padding: 1px 8px; text-align: {align}; border-bottom: 1px solid #e0e0e0"


def _rows_shown(df: pd.DataFrame, max_rows: int) -> pd.Index:
    """Which rows to show: all, or in-flight then failed then the rest, in frame order."""
    if len(df) <= max_rows:
        return df.index
    rank = statuses(df).map(lambda s: 0 if s in IN_FLIGHT else 1 if s == "failed" else 2)
    chosen = rank.reset_index(drop=True).sort_values(kind="stable").index[:max_rows]
    return df.index[sorted(chosen)]


def table_html(df: pd.DataFrame, *, max_rows: int = 50) -> str:
    """The batch as an HTML table, one row per job, every value escaped.

    Columns: row number, video and face (file names), status (a coloured badge), job id
    (its first 8 characters; the full id on hover), video seconds, estimated and actual
    cost, time queued and running, and notes: the server's error and what the engine
    noticed about the inputs (e.g. a smiling photo). Beyond ``max_rows`` jobs,
    in-flight and failed ones are shown first and a line says how many are hidden.
    """
    shown = _rows_shown(df, max_rows)
    status = statuses(df)
    # A duplicate runs once, under its first row: no estimate of its own.
    estimates = billable_estimates(df) if "est_cost" in df.columns else column(df, "est_cost")
    head = "".join(
        f'<th style="{_style(name)}">{html.escape(name)}</th>' for name in _COLUMNS
    )
    body = []
    for position, (label, row) in enumerate(df.iterrows()):
        if label not in shown:
            continue
        get = row.get
        job_id = _cell(get("job_id"))
        cells = [
            str(position + 1),
            f'<span title="{_cell(get("video"))}">{_cell(get("video"), _short)}</span>',
            f'<span title="{_cell(get("face"))}">{_cell(get("face"), _short)}</span>',
            _badge(status[label]),
            f'<code title="{job_id}">{job_id[:8]}</code>' if job_id else "",
            _cell(get("video_seconds"), lambda v: f"{v:.1f}"),
            _cell(estimates[label], lambda v: f"{v:.2f}"),
            _cell(get("actual_cost"), lambda v: f"{v:.2f}"),
            _cell(get("queue_time"), _seconds),
            _cell(get("run_time"), _seconds),
            html.escape(_notes(get("error_code"), get("error_message"), get("warnings"))),
        ]
        body.append("<tr>" + "".join(
            f'<td style="{_style(name)}">{cell}</td>' for name, cell in zip(_COLUMNS, cells, strict=True)
        ) + "</tr>")
    hidden = len(df) - len(shown)
    note = f"<div><i>{hidden} more jobs not shown (in-flight and failed jobs come first)</i></div>" if hidden else ""
    return (
        '<table class="fsnb-batch-grid" style="border-collapse: collapse; font-size: 90%">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{note}"
    )


def totals_text(df: pd.DataFrame) -> str:
    """``3/5 ended (completed 2, failed 1) · 1 in flight · spent 0.65 of 1.65 estimated``."""
    counts = statuses(df).value_counts()
    ended = int(sum(counts.get(s, 0) for s in ENDED))
    kinds = ", ".join(f"{s} {int(counts[s])}" for s in ENDED if counts.get(s, 0))
    spent = sum_money(column(df, "actual_cost"))
    estimated = sum_money(billable_estimates(df)) if "est_cost" in df.columns else float("nan")
    parts = [f"{ended}/{len(df)} ended" + (f" ({kinds})" if kinds else "")]
    parts.append(f"{int(sum(counts.get(s, 0) for s in IN_FLIGHT))} in flight")
    if counts.get("not_submitted", 0):
        parts.append(f"{int(counts['not_submitted'])} not submitted")
    spent_text = "0.00" if pd.isna(spent) else f"{spent:.2f}"
    estimated_text = "unknown" if pd.isna(estimated) else f"{estimated:.2f}"
    parts.append(f"spent {spent_text} of {estimated_text} estimated")
    return " · ".join(parts)




def pending(df: pd.DataFrame) -> bool:
    """Whether some pair still waits to be submitted (not submitted, and no reason given)."""
    waiting = (statuses(df) == "not_submitted") & column(df, "error_code").isna()
    return bool(waiting.any())
