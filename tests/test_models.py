"""Response objects: attribute and item access, snake and camel case, to_dict, reprs."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from symbl._models import SymblObject, to_symbl

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
