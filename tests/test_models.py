"""Response objects: attribute and item access, snake and camel case, to_dict, reprs."""

from __future__ import annotations

import copy
import json
import pickle
from html.parser import HTMLParser

import pytest

from symbl._models.objects import SymblList, SymblObject, to_symbl
from symbl._models.tables import MAX_CELL, MAX_ROWS

MESSAGES = {
    "messages": [
        {
            "id": "6412283618000896",
            "text": "Best package for you is $69.99 per month.",
            "from": {"id": "c99e", "name": "Roger", "email": "roger@example.com"},
            "startTime": "2020-07-10T11:16:21.024Z",
            "timeOffset": 5.9,
            "phrases": [{"type": "action_phrase", "text": "submit the documents"}],
        }
    ]
}


@pytest.fixture
def response() -> SymblObject:
    return SymblObject.from_json(json.dumps(MESSAGES))


def test_attribute_access_in_camel_and_snake_case(response: SymblObject) -> None:
    message = response.messages[0]
    assert message.startTime == message.start_time == "2020-07-10T11:16:21.024Z"
    assert message.time_offset == 5.9
    assert message.phrases[0].text == "submit the documents"


def test_item_access_like_the_streaming_callbacks_use(response: SymblObject) -> None:
    assert response["messages"][0]["startTime"] == "2020-07-10T11:16:21.024Z"
    assert [m["text"] for m in response["messages"]] == [MESSAGES["messages"][0]["text"]]


def test_keyword_keys_are_reachable(response: SymblObject) -> None:
    message = response.messages[0]
    assert message.from_.name == "Roger"
    assert message._from.email == "roger@example.com"
    assert getattr(message, "from").id == "c99e"


def test_to_dict_returns_plain_data(response: SymblObject) -> None:
    plain = response.to_dict()
    assert plain == MESSAGES
    assert type(plain) is dict
    assert type(plain["messages"][0]) is dict
    assert type(plain["messages"][0]["from"]) is dict
    plain["messages"].clear()
    assert response.messages, "to_dict must be a copy"


def test_it_is_a_dict(response: SymblObject) -> None:
    assert isinstance(response, dict)
    assert response == MESSAGES
    assert json.loads(json.dumps(response)) == MESSAGES


def test_unknown_attribute_says_which_fields_exist(response: SymblObject) -> None:
    with pytest.raises(AttributeError, match=r"no field 'speaker'.*start_time"):
        response.messages[0].speaker  # noqa: B018


def test_attributes_are_read_only(response: SymblObject) -> None:
    with pytest.raises(AttributeError):
        response.messages[0].text = "changed"  # type: ignore[misc]


def test_dir_offers_snake_case_names(response: SymblObject) -> None:
    names = dir(response.messages[0])
    assert {"start_time", "time_offset", "from_", "text"} <= set(names)


def test_repr_is_short_and_readable() -> None:
    many = to_symbl({"messages": [{"text": "word " * 50, "id": str(n)} for n in range(40)]})
    text = repr(many)
    assert text.startswith("SymblObject({'messages': [")
    assert "+36 more" in text
    assert "…" in text
    assert len(text) < 600


def test_str_prints_everything_like_the_old_client(response: SymblObject) -> None:
    text = str(response)
    assert "roger@example.com" in text
    assert "'messages'" in text


def test_copies_and_pickles_keep_the_type(response: SymblObject) -> None:
    for duplicate in (
        copy.copy(response),
        copy.deepcopy(response),
        pickle.loads(pickle.dumps(response)),
        response.copy(),
    ):
        assert isinstance(duplicate, SymblObject)
        assert duplicate.messages[0].start_time == "2020-07-10T11:16:21.024Z"


def test_to_symbl_converts_nested_plain_data() -> None:
    converted = to_symbl({"a": [{"b_c": {"dE": 1}}]})
    assert converted.a[0].b_c.d_e == 1


# -- SymblList: JSON arrays -----------------------------------------------------------------


def test_every_json_array_becomes_a_symbl_list() -> None:
    parsed = SymblObject.from_json('{"a": [1, [2, [3]], {"b": []}], "c": {"d": [{"e": [4]}]}}')
    assert type(parsed.a) is SymblList
    assert type(parsed.a[1]) is SymblList and type(parsed.a[1][1]) is SymblList
    assert type(parsed.a[2].b) is SymblList
    assert type(parsed.c.d) is SymblList and type(parsed.c.d[0].e) is SymblList
    top = SymblObject.from_json('[{"name": "Budget", "matches": []}, [1]]')
    assert type(top) is SymblList and type(top[0]) is SymblObject and type(top[1]) is SymblList
    assert SymblObject.from_json("3") == 3


def test_symbl_list_behaves_as_a_plain_list(response: SymblObject) -> None:
    messages = response.messages
    assert isinstance(messages, list)
    assert messages == MESSAGES["messages"]
    assert json.loads(json.dumps(messages)) == MESSAGES["messages"]
    assert messages[0].text == MESSAGES["messages"][0]["text"]
    assert messages[-1] is messages[0]
    assert type(messages[:1]) is SymblList and messages[:1] == messages
    assert type(messages.copy()) is SymblList


def test_to_dict_and_to_list_return_plain_lists(response: SymblObject) -> None:
    plain = response.to_dict()
    assert type(plain["messages"]) is list
    assert type(plain["messages"][0]["phrases"]) is list
    listed = response.messages.to_list()
    assert type(listed) is list and type(listed[0]) is dict and listed == MESSAGES["messages"]


def test_symbl_lists_copy_and_pickle(response: SymblObject) -> None:
    copies = [copy.copy(response.messages), copy.deepcopy(response.messages)]
    copies += [pickle.loads(pickle.dumps(response, protocol=p)).messages for p in range(6)]
    for duplicate in copies:
        assert type(duplicate) is SymblList
        assert duplicate == MESSAGES["messages"]
        assert type(duplicate[0]) is SymblObject


def test_symbl_list_repr_is_short_and_str_is_complete() -> None:
    many = to_symbl([{"text": "word " * 50, "from": {"name": "Ann"}} for _ in range(40)])
    assert type(many) is SymblList
    text = repr(many)
    assert text.startswith("SymblList([{'text': 'word word")
    assert "'from': {...}" in text
    assert "+36 more" in text
    assert len(text) < 400
    assert str(many).count("Ann") == 40
    assert repr(SymblList()) == "SymblList([])"


# -- HTML tables for notebooks --------------------------------------------------------------


class _Tables(HTMLParser):
    """Tables as lists of rows of cell texts; captions by table."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.captions: list[str] = []
        self._text: list[str] | None = None
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
            self.captions.append("")
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th", "caption"):
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._text is not None:
            self.tables[-1][-1].append("".join(self._text))
            self._text = None
        elif tag == "caption" and self._text is not None:
            self.captions[-1] = "".join(self._text)
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def table_of(value: SymblObject | SymblList) -> list[list[str]]:
    """The only table in ``value``'s HTML, header row first."""
    markup = value._repr_html_()
    assert markup is not None
    [table] = _Tables(markup).tables
    return table


def test_messages_table_has_start_offset_speaker_and_text() -> None:
    table = table_of(SymblObject.from_json(json.dumps(MESSAGES)).messages)
    assert table == [
        ["start", "offset (s)", "speaker", "text"],
        ["2020-07-10 11:16:21", "5.9", "Roger", "Best package for you is $69.99 per month."],
    ]


def test_streamed_messages_table_reads_their_own_field_names() -> None:
    streamed = to_symbl(
        [
            {
                "from": {"name": "Natalia"},
                "payload": {"content": "Hi Mike."},
                "duration": {"startTime": "2021-06-01T16:00:00.400Z", "timeOffset": 0.4},
            }
        ]
    )
    assert table_of(streamed)[1] == ["2021-06-01 16:00:00", "0.4", "Natalia", "Hi Mike."]


def test_insight_tables_show_type_text_assignee_due_date_and_score() -> None:
    insights = to_symbl(
        {
            "actionItems": [
                {
                    "type": "action_item",
                    "text": "Send the contract.",
                    "assignee": {"name": "Natalia"},
                    "dueBy": "2021-06-04T07:00:00.000Z",
                    "score": 0.95,
                    "messageIds": ["1"],
                },
                {  # the streaming insight_response shape
                    "type": "question",
                    "payload": {"content": "Is $69.99 fine?"},
                    "confidence": 0.9,
                    "dueBy": {"value": "2021-06-05T00:00:00Z"},
                },
            ]
        }
    )
    assert table_of(insights) == [
        ["type", "assignee", "due by", "score", "text"],
        ["action_item", "Natalia", "2021-06-04 07:00:00", "0.95", "Send the contract."],
        ["question", "", "2021-06-05 00:00:00", "0.9", "Is $69.99 fine?"],
    ]
    [caption] = _Tables(insights._repr_html_() or "").captions
    assert caption == "actionItems (2)"


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        (
            [{"id": "1", "text": "pricing", "type": "topic", "score": 0.4615, "messageIds": []}],
            [["score", "text"], ["0.4615", "pricing"]],
        ),
        (
            [{"id": "1", "name": "Budget", "matches": [{"type": "vocabulary"}, {}]}],
            [["name", "matches"], ["Budget", "2"]],
        ),
        (
            [{"id": "1", "name": "Ann", "email": "ann@example.com"}],
            [["name", "email"], ["Ann", "ann@example.com"]],
        ),
        (  # anything else: the scalar fields of the first records
            [
                {"type": "total_silence", "percent": 10.606, "nested": {"x": 1}},
                {"type": "total_talk_time", "seconds": 29.5, "flag": True},
            ],
            [
                ["type", "percent", "seconds", "flag"],
                ["total_silence", "10.61", "", ""],
                ["total_talk_time", "", "29.5", "true"],
            ],
        ),
        ([{"a": {"b": 1}}], [["a"], ['{"b": 1}']]),
    ],
    ids=["topics", "trackers", "members", "generic", "no-scalars"],
)
def test_columns_follow_the_kind_of_record(records: list, expected: list) -> None:
    assert table_of(to_symbl(records)) == expected


def test_cells_are_escaped_and_shortened() -> None:
    text = "<script>alert('x')</script> & " + "y" * 500
    markup = to_symbl([{"type": "question", "text": text}])._repr_html_() or ""
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup and "&amp;" in markup
    cell = table_of(to_symbl([{"type": "question", "text": text}]))[1][-1]
    assert cell.startswith("<script>alert('x')</script> & yyy")
    assert cell.endswith("…") and len(cell) == MAX_CELL


def test_long_lists_stop_after_a_hundred_rows() -> None:
    topics = to_symbl([{"type": "topic", "text": f"topic {n}", "score": 1} for n in range(250)])
    table = table_of(topics)
    assert len(table) == 1 + MAX_ROWS + 1
    assert table[MAX_ROWS] == ["1", f"topic {MAX_ROWS - 1}"]
    assert table[-1] == ["… 150 more"]
    assert len(table_of(topics[:MAX_ROWS])) == 1 + MAX_ROWS


def test_responses_show_their_fields_and_each_list_of_records() -> None:
    conversation = to_symbl(
        {
            "id": "5000",
            "name": "Pricing <call>",
            "metadata": {},
            "members": [{"name": "Ann", "email": "ann@example.com"}],
            "metrics": [{"type": "total_silence", "seconds": 3.5}],
        }
    )
    parsed = _Tables(conversation._repr_html_() or "")
    fields, members, metrics = parsed.tables
    assert fields == [["id", "5000"], ["name", "Pricing <call>"]]
    assert members == [["name", "email"], ["Ann", "ann@example.com"]]
    assert metrics == [["type", "seconds"], ["total_silence", "3.5"]]
    assert parsed.captions == ["", "members (1)", "metrics (1)"]


def test_an_empty_answer_says_none() -> None:
    assert table_of(to_symbl({"questions": []})) == [["(none)"]]


@pytest.mark.parametrize(
    "value",
    [
        {"text": "one message", "phrases": [], "from": {"name": "Ann"}},  # a single record
        {"text": "a message", "phrases": [{"type": "action_phrase"}], "from": {"name": "A"}},
        {"type": "action_item", "text": "Send it.", "entities": [{"type": "date"}]},
        {"name": "Budget", "matches": [{"type": "vocabulary"}]},
        {"id": "1", "status": "completed"},
        {"messageIds": ["1", "2"]},  # a list, but not of records
        {},
    ],
)
def test_objects_without_records_have_no_html(value: dict) -> None:
    assert to_symbl(value)._repr_html_() is None


def test_lists_without_records_have_no_html() -> None:
    assert SymblList()._repr_html_() is None
    assert to_symbl(["1", "2"])._repr_html_() is None
    assert to_symbl([{"a": 1}, 2])._repr_html_() is None
