"""The journal of a :class:`~symbl.Batch`: one SQLite file that says, for every input, what
was done with it, so that no run (nor a run after a crash) submits anything twice.

Each input is a row: its identity (a file's content hash, a URL, a text payload's hash, each
with the media kind and the options), what to submit, and where it stands. The statuses, in
order: ``pending`` → ``submitting`` → ``in_progress`` → ``completed`` or ``failed``. A row is
marked ``submitting`` and committed *before* its request goes out, and gets its job id, also
committed, as soon as the service answers; a run that finds rows still ``submitting`` knows an
earlier run stopped between the two, so they may or may not have reached the service: they
become ``uncertain``, and are never resubmitted silently.

SQLite's own transactions make every step atomic, and its write-ahead log makes each commit
survive the process being killed. One connection is shared by the batch's threads, one
statement at a time. A journal carries its format's version (``PRAGMA user_version``), so that
any other SQLite file is refused rather than written into.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from symbl.errors import ConfigurationError

logger = logging.getLogger("symbl")

#: Where an input stands, in the order it goes through them.
STATUSES = ("pending", "submitting", "in_progress", "completed", "failed", "uncertain")
#: The statuses after which nothing more happens to an input.
FINAL = frozenset({"completed", "failed", "uncertain"})

#: The journal format this code reads and writes (``PRAGMA user_version``).
VERSION = 1
# How long a write waits in all for another program that keeps the file busy (SQLite itself
# waits up to _BUSY_TIMEOUT_MS of it at a time).
_BUSY_PATIENCE = 120.0
_BUSY_TIMEOUT_MS = 5000
_PAGE = 500  # rows read at a time when going through many

_SCHEMA = """
CREATE TABLE inputs (
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    media TEXT NOT NULL,
    source TEXT NOT NULL,
    label TEXT NOT NULL,
    parameters TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    job_id TEXT,
    conversation_id TEXT,
    error_type TEXT,
    error TEXT,
    error_status INTEGER,
    sha256 TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX inputs_by_status ON inputs (status);
CREATE TABLE file_hashes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Row:
    """One input as the journal has it."""

    id: int
    kind: str
    media: str
    source: str
    label: str
    parameters: dict[str, Any]
    status: str
    job_id: str | None
    conversation_id: str | None
    error_type: str | None
    error: str | None
    error_status: int | None
    sha256: str | None = None


class Journal:
    """The SQLite file behind a batch (``":memory:"`` for one that need not survive).

    Args:
        path: the database file; created with its tables when missing.

    Raises:
        ConfigurationError: the file cannot be opened or is not a batch journal.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._running = False  # a run holds the journal (see claim)
        self._claim: IO[bytes] | None = None
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._unusable(str(exc)) from exc
        try:
            self._db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            with self._transaction():
                self._prepare()
            self._db.execute("PRAGMA journal_mode=WAL")
            # With the write-ahead log, NORMAL loses no commit when the process is killed
            # (only a power cut can cost the last ones), and is much faster than FULL.
            self._db.execute("PRAGMA synchronous=NORMAL")
        except ConfigurationError:
            self._db.close()
            raise
        except sqlite3.Error as exc:
            self._db.close()
            raise self._unusable(str(exc)) from exc

    def _prepare(self) -> None:
        """Create the tables in a new file; refuse a file that is not a journal of this
        format."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version == VERSION:
            return
        if version != 0:
            raise self._unusable(
                f"it is a journal of format {version}, and this version of symbl reads format "
                f"{VERSION}"
            )
        if self._db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None:
            raise self._unusable("it is an SQLite database of another program")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self._db.execute(statement)
        self._db.execute(f"PRAGMA user_version={VERSION}")

    def _unusable(self, why: str) -> ConfigurationError:
        return ConfigurationError(
            f"cannot use {self.path!r} as a batch journal ({why}); give the path of a new "
            "file, or of a journal an earlier batch wrote"
        )

    def close(self) -> None:
        """Close the database (every change is already committed)."""
        self.release()
        with self._lock:
            self._db.close()

    # -- who runs it --------------------------------------------------------------------------

    def claim(self) -> None:
        """Hold the journal for one run until :meth:`release` (or the process's end, however
        it ends): a lock on ``<journal>.lock``, which the system drops with the process.

        Raises:
            ConfigurationError: a run holds it already (in this process or another).
        """
        with self._lock:
            if self._running:
                raise ConfigurationError(
                    f"the batch journal {self.path!r} is being run already: finish (or close) "
                    "the iteration of the first run() before starting another"
                )
            if self.path != ":memory:":
                self._claim = _hold(self.path + ".lock")
            self._running = True

    def release(self) -> None:
        """Let other runs (of this process or others) run the journal."""
        with self._lock:
            if self._claim is not None:
                _let_go(self._claim, self.path + ".lock")
                self._claim = None
            self._running = False

    # -- inputs -------------------------------------------------------------------------------

    def add(
        self,
        identity: str,
        kind: str,
        media: str,
        source: str,
        label: str,
        parameters: Mapping[str, Any],
        sha256: str | None = None,
    ) -> Row:
        """The row of ``identity``, added as ``pending`` when the journal does not have it
        (``sha256``: a file's content hash when it was added)."""
        options = json.dumps(dict(parameters), sort_keys=True, separators=(",", ":"))
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO inputs (identity, kind, media, source, label, parameters,"
                " sha256, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (identity, kind, media, source, label, options, sha256, time.time()),
            )
            found = self._db.execute(
                f"SELECT {_COLUMNS} FROM inputs WHERE identity = ?", (identity,)
            ).fetchone()
        return _row(found)

    def rows(self, *statuses: str) -> list[Row]:
        """The inputs with one of ``statuses`` (every input when none is given), oldest first.
        For few rows: :meth:`each` goes through many without holding them all."""
        return list(self.each(*statuses))

    def each(self, *statuses: str) -> Iterator[Row]:
        """The inputs with one of ``statuses`` (every input when none is given), oldest first,
        read a page at a time."""
        where = f" AND status IN ({','.join('?' * len(statuses))})" if statuses else ""
        after = 0
        while True:
            with self._lock:
                found = self._db.execute(
                    f"SELECT {_COLUMNS} FROM inputs WHERE id > ?{where} ORDER BY id LIMIT ?",
                    (after, *statuses, _PAGE),
                ).fetchall()
            yield from (_row(values) for values in found)
            if len(found) < _PAGE:
                return
            after = found[-1][0]

    def ids(self, *statuses: str) -> list[int]:
        """The ids of the inputs with one of ``statuses``, oldest first."""
        with self._lock:
            found = self._db.execute(
                f"SELECT id FROM inputs WHERE status IN ({','.join('?' * len(statuses))})"
                " ORDER BY id",
                statuses,
            ).fetchall()
        return [row_id for (row_id,) in found]

    def row(self, row_id: int) -> Row:
        """The input ``row_id``."""
        with self._lock:
            found = self._db.execute(
                f"SELECT {_COLUMNS} FROM inputs WHERE id = ?", (row_id,)
            ).fetchone()
        return _row(found)

    def counts(self) -> dict[str, int]:
        """How many inputs are in each status."""
        with self._lock:
            found = self._db.execute("SELECT status, COUNT(*) FROM inputs GROUP BY status")
            counted = dict(found.fetchall())
        return {status: counted.get(status, 0) for status in STATUSES}

    def mark(self, row_id: int, status: str, *, expect: str | None = None, **fields: Any) -> bool:
        """Move an input to ``status``, setting ``fields`` (job_id, conversation_id, error_type,
        error, error_status), and commit. With ``expect``, only if it is in that status now.

        Returns:
            Whether the row changed.

        Raises:
            ConfigurationError: another program kept the file busy for minutes.
        """
        names = ["status", "updated_at", *fields]
        values = [status, time.time(), *fields.values(), row_id]
        guard = ""
        if expect is not None:
            guard = " AND status = ?"
            values.append(expect)
        with self._transaction():
            changed = self._db.execute(
                f"UPDATE inputs SET {', '.join(name + ' = ?' for name in names)}"
                f" WHERE id = ?{guard}",
                values,
            )
        return changed.rowcount == 1

    def interrupted(self, note: str) -> int:
        """Mark the inputs an earlier run left ``submitting`` as ``uncertain``; how many."""
        with self._transaction():
            changed = self._db.execute(
                "UPDATE inputs SET status = 'uncertain', error_type = 'SymblError', error = ?,"
                " updated_at = ? WHERE status = 'submitting'",
                (note, time.time()),
            )
        return changed.rowcount

    def retry_uncertain(self, keys: Sequence[int | str] = ()) -> int:
        """Put the ``uncertain`` inputs (those with these ids or labels, or all) back to
        ``pending``; how many."""
        ids = [key for key in keys if isinstance(key, int)]
        labels = [key for key in keys if isinstance(key, str)]
        named = ""
        if keys:
            named = (
                f" AND (id IN ({','.join('?' * len(ids))})"
                f" OR label IN ({','.join('?' * len(labels))}))"
            )
        with self._transaction():
            changed = self._db.execute(
                "UPDATE inputs SET status = 'pending', error_type = NULL, error = NULL,"
                f" error_status = NULL, updated_at = ? WHERE status = 'uncertain'{named}",
                (time.time(), *ids, *labels),
            )
        return changed.rowcount

    # -- files --------------------------------------------------------------------------------

    def known_hash(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The content hash recorded for ``path`` when its size and time have not changed."""
        with self._lock:
            found = self._db.execute(
                "SELECT sha256 FROM file_hashes WHERE path = ? AND size = ? AND mtime_ns = ?",
                (path, size, mtime_ns),
            ).fetchone()
        return None if found is None else str(found[0])

    def remember_hash(self, path: str, size: int, mtime_ns: int, sha256: str) -> None:
        """Record a file's content hash, to skip hashing it again while it is unchanged."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?)",
                (path, size, mtime_ns, sha256),
            )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._lock, self._db, self.path)


class _Transaction:
    """The lock, then ``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on an exception).

    ``BEGIN IMMEDIATE`` waits while another program writes to the file: SQLite waits
    ``_BUSY_TIMEOUT_MS`` at a time, and this waits on for up to ``_BUSY_PATIENCE`` seconds in
    all, saying so in the log, before it gives up.
    """

    def __init__(self, lock: threading.Lock, db: sqlite3.Connection, path: str) -> None:
        self._lock = lock
        self._db = db
        self._path = path

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._begin()
        except BaseException:
            self._lock.release()
            raise

    def _begin(self) -> None:
        deadline = time.monotonic() + _BUSY_PATIENCE
        while True:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise ConfigurationError(
                        f"the batch journal {self._path!r} stayed busy (another program kept "
                        f"writing to it) for {_BUSY_PATIENCE:g} s"
                    ) from exc
                logger.warning("the batch journal %r is busy; waiting for it", self._path)

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            self._db.execute("ROLLBACK" if error is not None else "COMMIT")
        finally:
            self._lock.release()


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11 and later
    return code == _SQLITE_BUSY if code is not None else "locked" in str(exc)


_SQLITE_BUSY = 5


_COLUMNS = (
    "id, kind, media, source, label, parameters, status, job_id, conversation_id, error_type,"
    " error, error_status, sha256"
)


def _row(values: Any) -> Row:
    fields = list(values)
    fields[5] = json.loads(fields[5])
    return Row(*fields)


def _hold(path: str) -> IO[bytes]:
    """The lock file at ``path``, locked for this process.

    A run removes the lock file when it lets go (see :func:`_let_go`), so a file opened just
    before that may no longer be the one at ``path`` once locked: then it locks the new one.

    Raises:
        ConfigurationError: a run holds it.
    """
    while True:
        lock = open(path, "a+b")  # noqa: SIM115 (held until released)
        try:
            _lock_file(lock)
        except OSError:
            lock.close()
            raise ConfigurationError(
                f"the batch journal {path[: -len('.lock')]!r} is being run by another process "
                "(or another Batch of it in this one); wait for it to end, or use another journal"
            ) from None
        if sys.platform == "win32" or _is_at(lock, path):
            return lock
        lock.close()


def _let_go(lock: IO[bytes], path: str) -> None:
    """Remove the lock file, then drop its lock. Windows cannot remove a file open here: the
    file stays there, unlocked, and is reused."""
    if sys.platform != "win32":
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    lock.close()  # closing the file drops its lock


def _is_at(file: IO[bytes], path: str) -> bool:
    """Whether ``file`` is the file at ``path`` now."""
    try:
        there = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(file.fileno())
    return (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino)


def _lock_file(file: IO[bytes]) -> None:
    """Lock ``file`` for this process without waiting; OSError when another holds it."""
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
