"""HTML tables of API records, for Jupyter (``_repr_html_`` of response objects and lists).

A list of records (messages, insights, topics, ...) becomes one table, one row per record, with
the columns that matter for its kind; the kind is read from the first record's shape, so a list
renders the same whether it came from the Conversation API or a streaming callback (whose
records spell some fields differently: ``payload.content`` for ``text``, ``confidence`` for
``score``). Cells are HTML-escaped and shortened; long lists stop after :data:`MAX_ROWS` rows.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any, Callable

#: Rows shown before a "… N more" row.
MAX_ROWS = 100
#: Characters shown of a cell before it is cut with "…".
MAX_CELL = 160
#: Columns of a record kind we know nothing about: its first scalar fields, at most this many.
MAX_GENERIC_COLUMNS = 8
_INSIGHT_TYPES = ("question", "action_item", "follow_up")
_SCALARS = (str, int, float, bool)

Column = tuple[str, Callable[[Mapping[str, Any]], Any]]


def _nested(record: Mapping[str, Any], *path: str) -> Any:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _first(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _text(record: Mapping[str, Any]) -> Any:
    return _first(record.get("text"), _nested(record, "payload", "content"), record.get("phrases"))


def _when(value: Any) -> Any:
    """An ISO-8601 time to the second, without the "T": ``2021-06-01 16:00:03``."""
    return value[:19].replace("T", " ") if isinstance(value, str) else value


def _start(record: Mapping[str, Any]) -> Any:
    return _when(_first(record.get("startTime"), _nested(record, "duration", "startTime")))


def _offset(record: Mapping[str, Any]) -> Any:
    return _first(record.get("timeOffset"), _nested(record, "duration", "timeOffset"))


def _due_by(record: Mapping[str, Any]) -> Any:
    due = record.get("dueBy")
    return _when(due.get("value") if isinstance(due, Mapping) else due)


def _score(record: Mapping[str, Any]) -> Any:
    return _first(record.get("score"), record.get("confidence"))


MESSAGE_COLUMNS: list[Column] = [
    ("start", _start),
    ("offset (s)", _offset),
    ("speaker", lambda record: _nested(record, "from", "name")),
    ("text", _text),
]
# The long text comes last: terminal tables wrap their last column.
INSIGHT_COLUMNS: list[Column] = [
    ("type", lambda record: record.get("type")),
    ("assignee", lambda record: _nested(record, "assignee", "name")),
    ("due by", _due_by),
    ("score", _score),
    ("text", _text),
]
TOPIC_COLUMNS: list[Column] = [("score", _score), ("text", _text)]
TRACKER_COLUMNS: list[Column] = [
    ("name", lambda record: record.get("name")),
    ("matches", lambda record: len(record.get("matches") or ())),
]
MEMBER_COLUMNS: list[Column] = [
    ("name", lambda record: record.get("name")),
    ("email", lambda record: record.get("email")),
]


def columns_for(records: Sequence[Mapping[str, Any]]) -> list[Column]:
    """The columns for a list of records, chosen by the shape of the first one."""
    known = _kind_columns(records[0])
    if known is not None:
        return known
    names: list[str] = []
    for record in records[:10]:
        for key, value in record.items():
            if isinstance(value, _SCALARS) and key not in names:
                names.append(key)
    # Records with no scalar fields at all still get columns: their first keys, as JSON.
    names = names or [key for key in records[0] if isinstance(key, str)]
    return [(name, _field(name)) for name in names[:MAX_GENERIC_COLUMNS]]


def record_kind(record: Mapping[str, Any]) -> str | None:
    """What a record is, by its shape: ``insight``, ``topic``, ``message``, ``tracker``,
    ``member``, or None for a kind we know nothing about."""
    kind = record.get("type")
    if kind in _INSIGHT_TYPES:
        return "insight"
    if kind == "topic":
        return "topic"
    if "from" in record and ("text" in record or "payload" in record):
        return "message"
    if "name" in record and isinstance(record.get("matches"), list):
        return "tracker"
    if "name" in record and "email" in record:
        return "member"
    return None


_KIND_COLUMNS = {
    "insight": INSIGHT_COLUMNS,
    "topic": TOPIC_COLUMNS,
    "message": MESSAGE_COLUMNS,
    "tracker": TRACKER_COLUMNS,
    "member": MEMBER_COLUMNS,
}


def _kind_columns(record: Mapping[str, Any]) -> list[Column] | None:
    """The columns of a record of a kind we know (a message, an insight, ...), else None."""
    kind = record_kind(record)
    return None if kind is None else _KIND_COLUMNS[kind]


def _field(name: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda record: record.get(name)


def is_records(value: Any) -> bool:
    """True for a list whose items are all JSON objects (an empty list too)."""
    return isinstance(value, list) and all(isinstance(item, Mapping) for item in value)


def records_table(records: Sequence[Mapping[str, Any]], caption: str | None = None) -> str:
    """One table of ``records``: a row each (at most :data:`MAX_ROWS`), columns per kind."""
    title = f"<caption>{html.escape(caption)} ({len(records)})</caption>" if caption else ""
    if not records:
        return f"<table>{title}<tbody><tr><td>(none)</td></tr></tbody></table>"
    columns = columns_for(records)
    head = "".join(f"<th {_LEFT}>{html.escape(name)}</th>" for name, _ in columns)
    rows = [
        "<tr>" + "".join(f"<td {_LEFT}>{_cell(get(record))}</td>" for _, get in columns) + "</tr>"
        for record in records[:MAX_ROWS]
    ]
    if len(records) > MAX_ROWS:
        more = len(records) - MAX_ROWS
        rows.append(f'<tr><td colspan="{len(columns)}" {_LEFT}>… {more} more</td></tr>')
    return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def object_html(value: Mapping[str, Any]) -> str | None:
    """The HTML of a response whose content is lists of records, or None for other objects.

    Such a response (``{"messages": [...]}``, a conversation with its ``members``) shows its
    scalar fields, if any, then a table per list of records. Objects with no records in them
    (a job status) and single records of a known kind (a message, whose ``phrases`` are
    records too) return None: their text repr says it better.
    """
    tables = {key: item for key, item in value.items() if is_records(item)}
    if not tables or _kind_columns(value) is not None:
        return None
    if not any(tables.values()) and len(tables) < len(value):
        return None  # only empty lists, beside other fields: nothing worth a table
    fields = [(key, item) for key, item in value.items() if isinstance(item, _SCALARS)]
    parts = []
    if fields:
        rows = "".join(
            f"<tr><th {_LEFT}>{html.escape(str(key))}</th><td {_LEFT}>{_cell(item)}</td></tr>"
            for key, item in fields
        )
        parts.append(f"<table><tbody>{rows}</tbody></table>")
    parts += [records_table(records, caption=str(key)) for key, records in tables.items()]
    return "<div>" + "".join(parts) + "</div>"


# Notebooks right-align table cells by default, which makes sentences hard to read.
_LEFT = 'style="text-align: left"'


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    return html.escape(text)
