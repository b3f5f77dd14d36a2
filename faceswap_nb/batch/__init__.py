"""Batches of face-swap jobs: know the cost first, pay once, end with a table.

::

    from faceswap_nb import batch

    pairs = [("clips/a.mp4", "faces/ada.jpg"), ("https://…/b.mp4", "faces/ada.jpg")]
    estimated = batch.estimate(pairs, client=client)   # seconds and cost per pair
    estimated.attrs["totals"]                          # what the batch will cost
    df = batch.run_batch(pairs, client=client, max_cost=5.0, ledger="batch.jsonl")
    batch.summary(df); batch.plot_costs(df); batch.export(df, "batch.csv")

The parts, one module each:

- :mod:`~faceswap_nb.batch.money`: money in integer micro-units, ``Pricing`` (price
  per second, exact or per started second);
- :mod:`~faceswap_nb.batch.pairs`: the (video, face) pairs as a frame, ids and
  duplicates flagged;
- :mod:`~faceswap_nb.batch.estimate`: each video's duration read from its container
  (range requests for URLs) times the price;
- :mod:`~faceswap_nb.batch.ledger`: the JSON-lines file that lets a restarted kernel
  re-attach to its jobs without paying twice;
- :mod:`~faceswap_nb.batch.run`: ``run_batch`` / ``arun_batch`` (bounded concurrency,
  429 backoff, one poll loop); :mod:`~faceswap_nb.batch.background`: ``start_batch``
  for a run that leaves the notebook free;
- :mod:`~faceswap_nb.batch.report`: summary, plots and a typed export of the result.

Errors: :class:`~faceswap_nb.CostLimitExceeded` and :class:`~faceswap_nb.LedgerError`
(nothing submitted), plus the client's errors.
"""

from __future__ import annotations

from faceswap_nb.batch.background import BatchRun, start_batch
from faceswap_nb.batch.estimate import estimate, probe_seconds, totals
from faceswap_nb.batch.ledger import Ledger
from faceswap_nb.batch.money import Pricing, billed_seconds, cost_micros, to_money
from faceswap_nb.batch.pairs import normalize_pairs
from faceswap_nb.batch.report import (
    export,
    plot_costs,
    plot_times,
    read_export,
    summary,
)
from faceswap_nb.batch.run import arun_batch, run_batch

__all__ = [
    "BatchRun",
    "Ledger",
    "Pricing",
    "arun_batch",
    "billed_seconds",
    "cost_micros",
    "estimate",
    "export",
    "normalize_pairs",
    "plot_costs",
    "plot_times",
    "probe_seconds",
    "read_export",
    "run_batch",
    "start_batch",
    "summary",
    "to_money",
    "totals",
]
