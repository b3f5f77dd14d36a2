"""The durable job store: SQLite in WAL mode, one row per job and per uploaded file.

Every status change goes through :meth:`JobStore.transition`, which checks it against
:data:`TRANSITIONS` inside the same statement that writes it, so two writers (the API
cancelling, the worker finishing) can never both win. Jobs and files belong to an
*owner*: the SHA-256 of the API key that created them (the key itself is never stored).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "IN_FLIGHT",
    "TERMINAL",
    "TRANSITIONS",
    "FileRecord",
    "IllegalTransition",
    "JobRecord",
    "JobStore",
    "now_ms",
]

# Which status may follow which. Terminal statuses have no way out.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "created": frozenset({"processing", "failed", "canceled"}),
    "processing": frozenset({"completed", "failed", "canceled"}),
    "completed": frozenset(),
    "failed": frozenset(),
    "canceled": frozenset(),
}
TERMINAL = frozenset(s for s, following in TRANSITIONS.items() if not following)
IN_FLIGHT = frozenset({"created", "processing"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    uploads TEXT NOT NULL DEFAULT '{}',
    webhook TEXT,
    idempotency_key TEXT,
    request_hash TEXT,
    progress REAL NOT NULL DEFAULT 0,
    output_file TEXT,
    video_seconds REAL,
    cost REAL,
    error_code TEXT,
    error_message TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    webhook_attempts TEXT NOT NULL DEFAULT '[]',
    webhook_pending INTEGER NOT NULL DEFAULT 0,
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency
    ON jobs (owner, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, seq);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
"""

# Columns added since the first release: an existing database gains them on open.
_ADDED_COLUMNS = {"warnings": "TEXT NOT NULL DEFAULT '[]'"}


def now_ms() -> int:
    """Milliseconds since the epoch, the API's time unit."""
    return int(time.time() * 1000)


class IllegalTransition(Exception):
    """A status change the table does not allow (e.g. cancelling a completed job)."""

    def __init__(self, job_id: str, current: str, wanted: str) -> None:
        super().__init__(f"job {job_id} is {current}; it cannot become {wanted}")
        self.current = current
        self.wanted = wanted


@dataclass(frozen=True)
class JobRecord:
    """One job as stored; ``input`` holds ``videoUrl``, ``faceUrl`` and ``advanced``.

    ``uploads`` maps an input field to the id of the server's own upload it names, so the
    job still finds its files after a restart on another address.
    """

    id: str
    owner: str
    model: str
    status: str
    input: dict[str, Any]
    webhook: str | None
    created_at: int
    uploads: dict[str, str] = field(default_factory=dict)
    progress: float = 0.0
    output_file: str | None = None
    video_seconds: float | None = None
    cost: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    started_at: int | None = None
    finished_at: int | None = None
    webhook_attempts: list[dict[str, Any]] = field(default_factory=list)
    webhook_pending: bool = False
    warnings: list[str] = field(default_factory=list)
    idempotency_key: str | None = None
    request_hash: str | None = None
    seq: int = 0

    @property
    def is_terminal(self) -> bool:
        """True once the job can no longer change status."""
        return self.status in TERMINAL


@dataclass(frozen=True)
class FileRecord:
    """An uploaded file: its id, owner, original name and size in bytes."""

    id: str
    owner: str
    name: str
    size: int
    created_at: int


def _job(row: sqlite3.Row) -> JobRecord:
    values = dict(row)
    values["input"] = json.loads(values["input"])
    values["uploads"] = json.loads(values["uploads"])
    values["webhook_attempts"] = json.loads(values["webhook_attempts"])
    values["warnings"] = json.loads(values["warnings"])
    values["webhook_pending"] = bool(values["webhook_pending"])
    return JobRecord(**values)


def _by_key(db: sqlite3.Connection, owner: str, idempotency_key: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM jobs WHERE owner = ? AND idempotency_key = ?", (owner, idempotency_key)
    ).fetchone()
    return row


class JobStore:
    """Jobs and uploads in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        # WAL lets the API read while the worker writes. NORMAL survives a crash of the
        # server (the durability that matters here) without an fsync per progress update,
        # which would stall every request; only a power cut can lose the last changes.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Bring a database written by an older version up to the current columns."""
        present = {row["name"] for row in self._db.execute("PRAGMA table_info(jobs)")}
        for name, definition in _ADDED_COLUMNS.items():
            if name not in present:
                self._db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {definition}")

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def create(
        self,
        owner: str,
        *,
        model: str,
        input: dict[str, Any],
        webhook: str | None,
        uploads: dict[str, str] | None = None,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
    ) -> tuple[JobRecord, bool]:
        """Insert a ``created`` job; returns ``(job, True)``, or the existing job and
        ``False`` when this owner already used ``idempotency_key``."""
        with self._tx() as db:
            if idempotency_key is not None:
                row = _by_key(db, owner, idempotency_key)
                if row is not None:
                    return _job(row), False
            job_id = str(uuid.uuid4())
            db.execute(
                "INSERT INTO jobs (id, owner, model, status, input, uploads, webhook,"
                " idempotency_key, request_hash, created_at)"
                " VALUES (?, ?, ?, 'created', ?, ?, ?, ?, ?, ?)",
                (job_id, owner, model, json.dumps(input), json.dumps(uploads or {}), webhook,
                 idempotency_key, request_hash, now_ms()),
            )
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row), True

    def get(self, job_id: str, owner: str | None = None) -> JobRecord | None:
        """The job, or None when it does not exist or belongs to another owner."""
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or (owner is not None and row["owner"] != owner):
            return None
        return _job(row)

    def by_idempotency_key(self, owner: str, key: str) -> JobRecord | None:
        """The owner's job created with this ``Idempotency-Key``, if any."""
        with self._lock:
            row = _by_key(self._db, owner, key)
        return None if row is None else _job(row)

    def list(self, owner: str, *, limit: int, before_seq: int | None = None) -> list[JobRecord]:
        """The owner's jobs, newest first, optionally only those older than ``before_seq``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM jobs WHERE owner = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                (owner, before_seq if before_seq is not None else 2**62, limit),
            ).fetchall()
        return [_job(row) for row in rows]

    def count_in_flight(self, owner: str) -> int:
        """How many of the owner's jobs are created or processing."""
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM jobs WHERE owner = ? AND status IN ('created', 'processing')",
                (owner,),
            ).fetchone()
        return int(count)

    def next_created(self) -> JobRecord | None:
        """The oldest job waiting to be processed."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM jobs WHERE status = 'created' ORDER BY seq LIMIT 1"
            ).fetchone()
        return None if row is None else _job(row)

    def transition(self, job_id: str, status: str, **fields: Any) -> JobRecord:
        """Move a job to ``status`` and set ``fields``, atomically.

        Sets ``started_at`` on ``processing`` and ``finished_at`` on a terminal status;
        a terminal status also marks a pending webhook delivery when the job has one.

        Raises:
            KeyError: no such job.
            IllegalTransition: :data:`TRANSITIONS` does not allow the change.
        """
        with self._tx() as db:
            row = db.execute("SELECT status, webhook FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise KeyError(job_id)
            if status not in TRANSITIONS[row["status"]]:
                raise IllegalTransition(job_id, row["status"], status)
            if status == "processing":
                fields.setdefault("started_at", now_ms())
            if status in TERMINAL:
                fields.setdefault("finished_at", now_ms())
                fields["webhook_pending"] = int(row["webhook"] is not None)
            self._update(db, job_id, status=status, **fields)
            return _job(db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone())

    def update(self, job_id: str, **fields: Any) -> None:
        """Set fields that are not the status (progress, webhook attempts, output file)."""
        if "status" in fields:
            raise ValueError("use transition() to change a job's status")
        with self._tx() as db:
            self._update(db, job_id, **fields)

    @staticmethod
    def _update(db: sqlite3.Connection, job_id: str, **fields: Any) -> None:
        for name in ("webhook_attempts", "warnings"):
            if name in fields:
                fields[name] = json.dumps(fields[name])
        columns = ", ".join(f"{name} = ?" for name in fields)
        db.execute(f"UPDATE jobs SET {columns} WHERE id = ?", (*fields.values(), job_id))

    def interrupted(self) -> list[JobRecord]:
        """Jobs left ``processing`` by a server that stopped without finishing them."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE status = 'processing'").fetchall()
        return [_job(row) for row in rows]

    def pending_webhooks(self) -> list[JobRecord]:
        """Finished jobs whose webhook has not been delivered or given up on."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs WHERE webhook_pending = 1").fetchall()
        return [_job(row) for row in rows]

    def expired_outputs(self, finished_before: int) -> list[JobRecord]:
        """Jobs that finished before ``finished_before`` (ms) and still have an output."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM jobs WHERE output_file IS NOT NULL AND finished_at < ?",
                (finished_before,),
            ).fetchall()
        return [_job(row) for row in rows]

    def add_file(self, owner: str, name: str, size: int) -> FileRecord:
        """Record an uploaded file and return it with its new id."""
        record = FileRecord(str(uuid.uuid4()), owner, name, size, now_ms())
        with self._tx() as db:
            db.execute(
                "INSERT INTO files (id, owner, name, size, created_at) VALUES (?, ?, ?, ?, ?)",
                (record.id, owner, name, size, record.created_at),
            )
        return record

    def get_file(self, file_id: str, owner: str | None = None) -> FileRecord | None:
        """The uploaded file, or None when unknown or another owner's."""
        with self._lock:
            row = self._db.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
        if row is None or (owner is not None and row["owner"] != owner):
            return None
        return FileRecord(**dict(row))

    def delete_files_before(self, created_before: int) -> list[str]:
        """Forget uploads older than ``created_before`` (ms); returns their ids."""
        with self._tx() as db:
            ids = [r[0] for r in db.execute(
                "SELECT id FROM files WHERE created_at < ?", (created_before,)
            ).fetchall()]
            db.execute("DELETE FROM files WHERE created_at < ?", (created_before,))
        return ids
