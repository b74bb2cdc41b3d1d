"""Output for people on a terminal: tables, bar charts, an upload progress bar and a job
spinner.

Progress goes to stderr and only when stderr is a terminal, so piped or captured output holds
nothing but the results.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from typing import IO, Any, Callable

Column = tuple[str, Callable[[Any], Any]]
_SPINNER = "|/-\\"
#: The widest a bar chart is drawn, whatever the terminal's width.
CHART_WIDTH = 80
#: Labels of a bar chart are cut to this many characters.
CHART_LABEL = 20
# A bar in Unicode: full blocks, then the eighth-blocks that end it precisely.
_EIGHTHS = " ▏▎▍▌▋▊▉"


def table(rows: Sequence[Any], columns: Sequence[Column], width: int | None = None) -> str:
    """Rows as a plain-text table; the last column wraps to fit the terminal width.

    Args:
        rows: the records.
        columns: ``(header, getter)`` pairs; a getter's None shows as "-".
        width: total width; the terminal's when None.
    """
    if not rows:
        return "(none)"
    cells = [[_text(getter(row)) for _, getter in columns] for row in rows]
    headers = [header for header, _ in columns]
    widths = [max(len(headers[i]), *(len(line[i]) for line in cells)) for i in range(len(headers))]
    total = width or shutil.get_terminal_size((100, 24)).columns
    fixed = sum(widths[:-1]) + 2 * (len(widths) - 1)
    widths[-1] = min(widths[-1], max(20, total - fixed))
    lines = [_row(headers, widths), _row(["-" * w for w in widths], widths)]
    for line in cells:
        wrapped = textwrap.wrap(line[-1], widths[-1]) or [""]
        lines.append(_row([*line[:-1], wrapped[0]], widths))
        lines.extend(_row([""] * (len(widths) - 1) + [more], widths) for more in wrapped[1:])
    return "\n".join(lines)


def elided(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters in the middle, where ``…`` stands for the cut."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def bar_chart(
    bars: Sequence[tuple[str, float, str]], width: int | None = None, unicode: bool = True
) -> str:
    """Horizontal bars, one line each: label, bar (length proportional to the value), note.

    Args:
        bars: ``(label, value, note)`` triples; the longest bar is the largest value.
        width: the chart's width; the terminal's when None, at most :data:`CHART_WIDTH`.
        unicode: draw with block characters; ``#`` for terminals that cannot show them.
    """
    if not bars:
        return "(none)"
    total = min(width or shutil.get_terminal_size((CHART_WIDTH, 24)).columns, CHART_WIDTH)
    labels = [_cut(" ".join(label.split()), CHART_LABEL, unicode) for label, _, _ in bars]
    label_width = max(map(len, labels))
    note_width = max(len(note) for _, _, note in bars)
    room = max(total - label_width - note_width - 4, 1)
    largest = max(value for _, value, _ in bars)
    lines = []
    for label, (_, value, note) in zip(labels, bars):
        length = room * value / largest if largest > 0 else 0.0
        bar = _bar(length, unicode)
        lines.append(f"{label.ljust(label_width)}  {bar.ljust(room)}  {note}".rstrip())
    return "\n".join(lines)


def _bar(length: float, unicode: bool) -> str:
    if not unicode:
        return "#" * round(length)
    eighths = round(length * 8)
    return "█" * (eighths // 8) + _EIGHTHS[eighths % 8].strip()


def _cut(text: str, width: int, unicode: bool) -> str:
    if len(text) <= width:
        return text
    return text[: width - 1] + "…" if unicode else text[: width - 3] + "..."


def supports_unicode(stream: IO[str] = sys.stdout) -> bool:
    """Whether ``stream`` can show block characters (its encoding can write them)."""
    try:
        "█▏…".encode(getattr(stream, "encoding", None) or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()


def _text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return " ".join(str(value).split())


def interactive(stream: IO[str] = sys.stderr) -> bool:
    """Whether progress should be shown (the stream is a terminal)."""
    return stream.isatty()


class UploadBar:
    """``progress(sent, total)`` callback drawing a bar on stderr (on a terminal only)."""

    def __init__(self, label: str, stream: IO[str] = sys.stderr) -> None:
        self._label = label
        self._stream = stream
        self._shown = interactive(stream)
        self._last = -1

    def __call__(self, sent: int, total: int) -> None:
        if not self._shown or total <= 0:
            return
        percent = int(100 * sent / total)
        if percent == self._last:
            return
        self._last = percent
        filled = percent // 5
        self._stream.write(
            f"\r{self._label} [{'#' * filled}{'.' * (20 - filled)}] {percent:3d}% "
            f"{sent / 1e6:.1f}/{total / 1e6:.1f} MB"
        )
        self._stream.flush()
        if sent >= total:
            self._stream.write("\n")


class Spinner:
    """A one-line status that refreshes while something runs (on a terminal only).

    Example:
        >>> with Spinner(lambda: f"job {job}: {conversation.status}"):
        ...     conversation.wait()
    """

    def __init__(self, status: Callable[[], str], stream: IO[str] = sys.stderr) -> None:
        self._status = status
        self._stream = stream
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Spinner:
        if interactive(self._stream):
            self._thread = threading.Thread(target=self._spin, name="symbl-spinner", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
            self._stream.write("\r\033[K")
            self._stream.flush()

    def _spin(self) -> None:
        started = time.monotonic()
        frame = 0
        while not self._stop.wait(0.1):
            elapsed = time.monotonic() - started
            line = f"{_SPINNER[frame % 4]} {self._status()} ({elapsed:.1f} s)"
            self._stream.write("\r\033[K" + line)
            self._stream.flush()
            frame += 1
