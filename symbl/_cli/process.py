"""``symbl process``: recordings (files, folders, URLs) through a :class:`~symbl.Batch`.

Every source gets a row: a path that does not exist, a folder that cannot be read, a file the
SDK refuses (an empty one) is reported in its own row while the others carry on. With
``--journal run.db`` the batch survives anything: run the same command again and it follows what
is in progress and skips what is done; a journal with unfinished inputs of another command is
refused, so that a command submits only what it was given. Ctrl+C stops submitting, prints the
ids of the jobs still running on the service, and exits with 130 at once.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from symbl import errors
from symbl._protocol.options import MEDIA_OPTIONS, normalize
from symbl._resources.base import checked_arguments
from symbl._resources.batch import VIDEO_SUFFIXES, Batch, BatchProgress
from symbl._resources.batch_steps import BatchResult
from symbl._resources.journal import Journal, Row

from . import inputs
from .terminal import elided, interactive, table

#: The file name endings of the media a folder is searched for.
MEDIA_SUFFIXES = VIDEO_SUFFIXES | {
    ".wav",
    ".mp3",
    ".mpeg",
    ".m4a",
    ".aac",
    ".ac3",
    ".aiff",
    ".aif",
    ".amr",
    ".flac",
    ".ogg",
    ".opus",
    ".wma",
}
# Columns beside the source in the results table: status, conversation id, and their gutters.
_FIXED_COLUMNS = len("uncertain") + 16 + 2 * 2
_SHORTEST_SOURCE = 16
#: Seconds Ctrl+C gives uploads under way to be answered, so that their ids are saved.
INTERRUPT_GRACE = 0.5
_NOTE_COLUMN = 24
# Inputs an error message names before it says how many more there are.
_NAMED = 5


def check_parameters(parameters: dict[str, Any]) -> None:
    """Check the ``--param`` options once, for every source: a bad one is the command's error,
    not a row per source.

    Raises:
        InvalidArgumentError: a known option with a bad value.
    """
    with inputs.option_terms(inputs.param_terms(parameters)), checked_arguments():
        normalize(parameters, MEDIA_OPTIONS, "Audio.process_file parameters")


def expand_sources(sources: Sequence[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """The files and URLs to submit (folders replaced by the media files in them), and a row
    for each source that cannot be: a missing file, a folder that cannot be read or holds no
    media. :func:`in_order` puts rows of both back in the order of the sources.

    Raises:
        InvalidArgumentError: a URL of a scheme other than http(s).
    """
    found: list[str] = []
    refused: list[dict[str, Any]] = []
    for source in sources:
        if inputs.web_url(source):
            found.append(source)
            continue
        try:
            found.extend(_media_in(source))
        except errors.InvalidArgumentError as exc:
            refused.append(row(source, "error", error=str(exc)))
    return found, refused


def _media_in(source: str) -> list[str]:
    """``[source]`` for a file, the media files in it for a folder.

    Raises:
        InvalidArgumentError: why there is nothing to submit.
    """
    path = Path(source)
    if not path.is_dir():
        inputs.require_file(source)
        return [source]
    try:
        media = sorted(
            str(item) for item in path.iterdir() if item.suffix.lower() in MEDIA_SUFFIXES
        )
    except OSError as exc:
        raise errors.InvalidArgumentError(
            f"cannot read the folder {source} ({exc.strerror})"
        ) from exc
    if not media:
        kinds = ", ".join(sorted(MEDIA_SUFFIXES))
        raise errors.InvalidArgumentError(f"{source} holds no media files ({kinds})")
    return media


def in_order(rows: Sequence[dict[str, Any]], sources: Sequence[str]) -> list[dict[str, Any]]:
    """``rows`` in the order of ``sources`` as given (a folder's files where the folder was)."""

    given = {source: index for index, source in enumerate(sources)}
    folders = {str(Path(source)): index for index, source in enumerate(sources)}

    def position(row: dict[str, Any]) -> tuple[int, str]:
        source = row["source"]
        found = given.get(source, folders.get(str(Path(source).parent), len(sources)))
        return found, source

    return sorted(rows, key=position)


def run_batch(
    args: argparse.Namespace, sources: Sequence[str], parameters: dict[str, Any]
) -> list[dict[str, Any]]:
    """Submit ``sources`` through a batch (journaled in ``args.journal`` when given) and
    return a row per source: only this command's, however many other inputs the journal holds.

    Raises:
        InvalidArgumentError: the journal holds unfinished inputs this command does not give
            (nothing is added nor sent).
    """
    if args.journal:
        refuse_other_inputs(
            args.journal, [_key_of(source, args.type, parameters) for source in sources]
        )
    rows: list[dict[str, Any]] = []
    given: dict[str, str] = {}  # the batch's name of each input -> the source as given here
    with Batch(args.journal, max_concurrency=args.concurrency) as batch:
        for source in sources:
            try:
                with inputs.option_terms(inputs.param_terms(parameters)):
                    given[_added(batch, source, args.type, parameters)] = source
            except errors.InvalidArgumentError as exc:
                rows.append(row(source, "error", error=str(exc)))
        if not given:
            return rows
        if args.retry_uncertain:
            batch.retry_uncertain(*given)
        bar = ProgressBar()
        try:
            for result in batch.run(progress=bar if bar.shown else None):
                if result.input in given:
                    rows.append(_result_row(result, given[result.input]))
        except KeyboardInterrupt:
            bar.clear()
            _report_interrupted(batch, args.journal)
            # Exit within the promised 2 s: an upload still unanswered is left behind.
            batch.close(timeout=INTERRUPT_GRACE)
            raise
        bar.clear()
    return rows


def refuse_other_inputs(journal: str, keys: Sequence[tuple[str, ...]]) -> None:
    """Refuse a journal that holds unfinished inputs other than ``keys`` (as :func:`_key_of`
    makes them): running it would submit, or wait for, what this command was not given.

    Raises:
        InvalidArgumentError: naming them, and how to finish them.
    """
    wanted = set(keys)
    others = [
        found
        for found in _journal_rows(journal, "pending", "submitting", "in_progress")
        if _key_of_row(found) not in wanted
    ]
    if others:
        raise errors.InvalidArgumentError(
            f"the journal {journal} holds {len(others)} unfinished input(s) this command does not "
            f"give: {_names(found.label for found in others)}. To finish them, run the command "
            "that added them again; to process these sources apart, give another --journal"
        )


def _added(batch: Batch, source: str, kind: str | None, parameters: dict[str, Any]) -> str:
    """Add one source to the batch; the batch's name for it."""
    if inputs.web_url(source):
        return batch.add_url(source, media=kind or media_of(source), parameters=parameters)
    return batch.add_file(source, parameters=parameters, media=kind)


def _key_of(source: str, kind: str | None, parameters: dict[str, Any]) -> tuple[str, ...]:
    """What tells a source apart in the journal (all but a file's content)."""
    if inputs.web_url(source):
        return ("url", kind or media_of(source), source, _canonical(parameters))
    return ("file", kind or media_of(source), str(Path(source).resolve()), _canonical(parameters))


def _key_of_row(found: Row) -> tuple[str, ...]:
    return (found.kind, found.media, found.source, _canonical(found.parameters))


def _canonical(parameters: dict[str, Any]) -> str:
    return json.dumps(parameters, sort_keys=True, separators=(",", ":"))


def _journal_rows(journal: str, *statuses: str) -> list[Row]:
    """The journal's inputs in these statuses, read apart from the batch that runs it."""
    reader = Journal(journal)
    try:
        return reader.rows(*statuses)
    finally:
        reader.close()


def _names(labels: Iterable[str]) -> str:
    """The first few of ``labels``, and how many more there are."""
    listed = list(labels)
    shown = ", ".join(listed[:_NAMED])
    return shown if len(listed) <= _NAMED else f"{shown} and {len(listed) - _NAMED} more"


def results_table(rows: Sequence[dict[str, Any]], width: int | None = None) -> str:
    """The rows as a table that fits the terminal (80 columns when it is not one): sources
    are shortened in the middle, errors wrap."""
    total = width or shutil.get_terminal_size((80, 24)).columns
    notes = any(row.get("error") for row in rows)
    room = total - _FIXED_COLUMNS - (_NOTE_COLUMN + 2 if notes else 0)
    source_width = max(_SHORTEST_SOURCE, room)
    columns: list[tuple[str, Any]] = [
        ("source", lambda row: elided(row["source"], source_width)),
        ("status", lambda row: row["status"]),
        ("conversation", lambda row: row.get("conversationId")),
    ]
    if notes:
        columns.append(("error", lambda row: row.get("error")))
    return table(rows, columns, width=total)


class ProgressBar:
    """A batch's progress on stderr, one line redrawn (on a terminal only)."""

    def __init__(self, stream: Any = sys.stderr) -> None:
        self._stream = stream
        self.shown = interactive(stream)

    def __call__(self, progress: BatchProgress) -> None:
        filled = 20 * progress.done // max(1, progress.total)
        line = (
            f"\r[{'#' * filled}{'.' * (20 - filled)}] {progress.done}/{progress.total} done, "
            f"{progress.in_progress} running (at most {progress.concurrency}), "
            f"{progress.failed} failed "
        )
        self._stream.write(line)
        self._stream.flush()

    def clear(self) -> None:
        """Remove the line."""
        if self.shown:
            self._stream.write("\r\033[K")
            self._stream.flush()


def _report_interrupted(batch: Batch, journal: str | None) -> None:
    """Say which jobs still run on the service and which uploads were under way, and how to
    follow them."""
    running = batch.in_progress()
    if running:
        print(f"symbl: {len(running)} job(s) still running on the service:", file=sys.stderr)
        for result in running:
            print(
                f"  {result.input}  conversation {result.conversation_id}  job {result.job_id}",
                file=sys.stderr,
            )
    if not journal:
        return
    sending = _journal_rows(journal, "submitting")
    if sending:
        print(
            f"symbl: {len(sending)} submission(s) were under way and may have reached the "
            "service; the same command will report them as uncertain:",
            file=sys.stderr,
        )
        for found in sending:
            print(f"  {found.label}", file=sys.stderr)
    if running or sending:
        print(f"symbl: run the same command again to follow them ({journal})", file=sys.stderr)


def _result_row(result: BatchResult, source: str) -> dict[str, Any]:
    error = str(result.error) if result.error is not None else None
    return row(source, result.status, result.conversation_id, result.job_id, error)


def row(
    source: str,
    status: str,
    conversation_id: str | None = None,
    job_id: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """One source's row, the same keys in the table and in ``--json`` (error None unless
    ``status`` is ``error``, ``failed`` or ``uncertain``)."""
    return {
        "source": source,
        "status": status,
        "conversationId": conversation_id,
        "jobId": job_id,
        "error": error,
    }


def media_of(source: str) -> str:
    """``video`` for .mp4, .m4v and .mov sources, else ``audio``."""
    return "video" if Path(source).suffix.lower() in VIDEO_SUFFIXES else "audio"
