"""The batch ledger: a JSON-lines file that makes a batch safe to run again.

Every line is one event, written and flushed to disk before the run goes on:

- ``batch`` (first line): ``batch_id``, ``created_at``, ``pricing``, ``pairs`` (how
  many), ``pair_ids``, ``advanced``, ``webhook``;
- ``uploaded``: a local file's upload URL, so a re-run does not upload it again;
- ``submitting``: written BEFORE a create is sent, with its ``idempotency_key`` and the
  exact URLs sent;
- ``submitted``: written after the server answered, with its ``job_id``;
- ``refused``: the server refused the create (nothing was created or billed);
- ``finished``: the job's final status, times, cost and output;
- ``downloaded``: where its output video was saved.

Running the batch again with the same ledger re-attaches: a pair with a ``submitted``
line is polled, a pair with only ``submitting`` is created again with the SAME
idempotency key and URLs (a server that honours ``Idempotency-Key`` answers with the
job it already made, so nothing is paid twice), and the other pairs are submitted.

A ledger is refused with :class:`~faceswap_nb.LedgerError`, before anything is sent,
when a line is not valid JSON or not a valid event, when it belongs to another batch
(other pairs, another batch id, other options), or while another run holds it. One
exception: a last line cut off without its newline is what a process killed while
writing leaves; it is dropped, which is safe because every step is repeated with the
same idempotency key.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from faceswap_nb._errors import LedgerError
from faceswap_nb.batch.money import Pricing

try:  # POSIX: one run at a time per ledger. Elsewhere the lock is skipped.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LEDGER_VERSION", "Ledger", "PairRecord", "utc_now"]

LEDGER_VERSION = 1
_REQUIRED: dict[str, tuple[str, ...]] = {
    "batch": ("batch_id", "created_at", "pricing", "pairs", "pair_ids"),
    "uploaded": ("batch_id", "path", "url", "at"),
    "submitting": (
        "batch_id",
        "pair_id",
        "idempotency_key",
        "video",
        "face",
        "video_url",
        "face_url",
        "at",
    ),
    "submitted": ("batch_id", "pair_id", "idempotency_key", "job_id", "at"),
    "refused": ("batch_id", "pair_id", "code", "message", "at"),
    "finished": ("batch_id", "pair_id", "job_id", "status", "at"),
    "downloaded": ("batch_id", "pair_id", "job_id", "path", "at"),
}


def utc_now() -> str:
    """The current time as ISO 8601 in UTC, the ledger's time format."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class PairRecord:
    """What the ledger knows of one pair; ``stage`` says what a re-run must do with it."""

    pair_id: str
    idempotency_key: str | None = None
    video_url: str | None = None
    face_url: str | None = None
    job_id: str | None = None
    submitted_at: str | None = None
    refused: dict[str, Any] | None = None
    finished: dict[str, Any] | None = None
    local_path: str | None = None

    @property
    def stage(self) -> str:
        """``new``, ``submitting``, ``refused``, ``submitted`` or ``finished``."""
        if self.finished is not None:
            return "finished"
        if self.job_id is not None:
            return "submitted"
        if self.refused is not None:
            return "refused"
        return "submitting" if self.idempotency_key is not None else "new"


class Ledger:
    """One batch's ledger: its header, what happened to each pair, and the file.

    Build it with :meth:`open`; nothing is written until :meth:`start`. With ``path``
    None it lives in memory only (a run that cannot be resumed).
    """

    def __init__(self, path: Path | None, header: dict[str, Any]) -> None:
        self.path = path
        self.header = header
        self.pairs = {pid: PairRecord(pid) for pid in header["pair_ids"]}
        self.uploads: dict[str, str] = {}
        self.resumed = False
        self._file: IO[str] | None = None
        self._keep_bytes: int | None = None

    @property
    def batch_id(self) -> str:
        """The batch's id (a UUID hex string), the same in every line."""
        return str(self.header["batch_id"])

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None,
        *,
        pair_ids: Iterable[str],
        pricing: Pricing,
        advanced: bool = False,
        webhook: str | None = None,
    ) -> Ledger:
        """The ledger at ``path`` for a batch of ``pair_ids``: read it when it exists.

        Raises:
            LedgerError: a line is corrupt, or the file is another batch's ledger.
        """
        ids = list(dict.fromkeys(pair_ids))
        header = {
            "event": "batch",
            "version": LEDGER_VERSION,
            "batch_id": uuid.uuid4().hex,
            "created_at": utc_now(),
            "pricing": pricing.to_dict(),
            "pairs": len(ids),
            "pair_ids": ids,
            "advanced": advanced,
            "webhook": webhook,
        }
        file = Path(path) if path is not None else None
        if file is None or not file.exists() or file.stat().st_size == 0:
            return cls(file, header)
        ledger = cls._read(file)
        ledger._check_same_batch(header)
        return ledger

    @classmethod
    def _read(cls, path: Path) -> Ledger:
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        torn = lines.pop()  # b"" when the file ends with a newline
        events = [(number, _parse(path, number, line)) for number, line in enumerate(lines, 1)]
        keep = len(raw)
        if torn:
            try:
                events.append((len(lines) + 1, _parse(path, len(lines) + 1, torn)))
            except LedgerError:
                keep = len(raw) - len(torn)  # a write cut short by a kill: drop it
        if not events:
            raise LedgerError(f"{path} has no batch header line", path=str(path), line=1)
        ledger = cls(path, _header(path, events[0][1]))
        for number, event in events[1:]:
            ledger._apply(event, number)
        ledger.resumed = True
        ledger._keep_bytes = keep
        return ledger

    def _check_same_batch(self, wanted: Mapping[str, Any]) -> None:
        where = f"{self.path} is the ledger of batch {self.batch_id} (created {self.header['created_at']})"
        have, want = set(self.header["pair_ids"]), set(wanted["pair_ids"])
        if have != want:
            raise LedgerError(
                f"{where} with {len(have)} pairs; this batch has {len(want)} pairs, {len(want - have)} "
                f"of them not in the ledger and {len(have - want)} of the ledger's missing. Nothing "
                "was submitted: pass the same pairs to resume it, or a new ledger path for a new batch",
                path=str(self.path),
            )
        for option in ("advanced", "webhook"):
            if self.header.get(option) != wanted[option]:
                raise LedgerError(
                    f"{where} with {option}={self.header.get(option)!r}, not {wanted[option]!r}; "
                    "nothing was submitted: resume it with the same options, or use a new ledger path",
                    path=str(self.path),
                )

    def idempotency_key(self, pair_id: str) -> str:
        """The create's idempotency key for a pair: the same in every run of the batch."""
        return f"fsnb-{self.batch_id}-{pair_id}"

    def start(self) -> None:
        """Take the file for this run (one run at a time) and write the header if new.

        Raises:
            LedgerError: another run holds the ledger.
        """
        if self.path is None or self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("a+", encoding="utf-8")
        if fcntl is not None:
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                file.close()
                raise LedgerError(
                    f"{self.path} is in use by another running batch; wait for it or stop it first",
                    path=str(self.path),
                ) from None
        if self._keep_bytes is not None:
            file.truncate(self._keep_bytes)
            file.seek(0, os.SEEK_END)
            if self._keep_bytes and self.path.read_bytes()[-1:] != b"\n":
                file.write("\n")
        self._file = file
        if not self.resumed:
            self._write(self.header)

    def close(self) -> None:
        """Release the file (and the lock)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        """Apply one event to the ledger and write it to the file, durably, before returning.

        Raises:
            LedgerError: the event contradicts the ledger (a bug, never user input).
        """
        line = {"event": event, "batch_id": self.batch_id, **fields}
        line.setdefault("at", utc_now())
        self._apply(line, None)
        self._write(line)
        return line

    def _write(self, line: Mapping[str, Any]) -> None:
        if self.path is None:
            return
        if self._file is None:
            raise RuntimeError("Ledger.start() must be called before writing")
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def _apply(self, event: Mapping[str, Any], number: int | None) -> None:
        """The one place a ledger event changes the state; checks it first."""
        kind = _checked(self.path, number, event, self.batch_id)
        if kind == "uploaded":
            self.uploads[event["path"]] = event["url"]
            return
        pair = self.pairs.get(event["pair_id"])
        if pair is None:
            raise _corrupt(
                self.path, number, f"names pair {event['pair_id']}, which is not in this batch"
            )
        if kind == "submitting":
            pair.idempotency_key, pair.refused = event["idempotency_key"], None
            pair.video_url, pair.face_url = event["video_url"], event["face_url"]
        elif kind == "refused":
            pair.refused = dict(event)
        elif kind == "submitted":
            if pair.idempotency_key is None:
                raise _corrupt(
                    self.path,
                    number,
                    f"pair {pair.pair_id} was submitted without a 'submitting' line before it",
                )
            if pair.job_id not in (None, event["job_id"]):
                raise _corrupt(
                    self.path,
                    number,
                    f"pair {pair.pair_id} has two jobs, {pair.job_id} and {event['job_id']}",
                )
            pair.job_id, pair.submitted_at = event["job_id"], event["at"]
        elif pair.job_id != event["job_id"]:
            raise _corrupt(
                self.path, number, f"job {event['job_id']} is not pair {pair.pair_id}'s job"
            )
        elif kind == "finished":
            pair.finished = dict(event)
        else:
            pair.local_path = event["path"]


def _parse(path: Path, number: int, raw: bytes) -> dict[str, Any]:
    try:
        event = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, number, f"is not valid JSON ({exc})") from None
    if not isinstance(event, dict):
        raise _corrupt(path, number, "is not a JSON object")
    return event


def _header(path: Path, event: Mapping[str, Any]) -> dict[str, Any]:
    if event.get("event") != "batch":
        raise _corrupt(path, 1, "is not a batch header: this is not a faceswap_nb batch ledger")
    _checked(path, 1, event, None)
    ids = event["pair_ids"]
    if (
        not isinstance(ids, list)
        or not all(isinstance(i, str) for i in ids)
        or event["pairs"] != len(ids)
    ):
        raise _corrupt(path, 1, "has a broken list of pair ids")
    try:
        Pricing.from_dict(event["pricing"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise _corrupt(path, 1, f"has a broken pricing ({exc})") from None
    return dict(event)


def _checked(
    path: Path | None, number: int | None, event: Mapping[str, Any], batch_id: str | None
) -> str:
    """The event's kind, after checking its fields and batch; LedgerError otherwise."""
    kind = event.get("event")
    if kind not in _REQUIRED or (kind == "batch") != (batch_id is None):
        raise _corrupt(path, number, f"has an unexpected event {kind!r}")
    missing = [name for name in _REQUIRED[kind] if name not in event]
    if missing:
        raise _corrupt(path, number, f"({kind}) lacks {', '.join(missing)}")
    if batch_id is not None and event["batch_id"] != batch_id:
        raise _corrupt(
            path,
            number,
            f"belongs to batch {event['batch_id']!r}, not this ledger's "
            f"batch {batch_id!r} (two batches' lines mixed in one file?)",
        )
    wrong = [
        n
        for n in _REQUIRED[kind]
        if n not in ("pricing", "pairs", "pair_ids") and not isinstance(event[n], str)
    ]
    if wrong:
        raise _corrupt(path, number, f"({kind}) has non-text {', '.join(wrong)}")
    return str(kind)


def _corrupt(path: Path | None, number: int | None, problem: str) -> LedgerError:
    where = f"line {number} of {path}" if number is not None else f"a new line of {path}"
    return LedgerError(
        f"{where} {problem}; nothing was submitted. Fix or remove the line, or "
        "use a new ledger path",
        path=None if path is None else str(path),
        line=number,
    )
