"""The Conversation API: every method sends its real request and returns the service's data."""

from __future__ import annotations

import pytest

import symbl
from symbl.emulator import Emulator

from helpers import MEETING, TRANSCRIPT_OPTIONS, assert_markdown_transcript

SPEAKER_EVENTS = {
    "speakerEvents": [
        {
            "type": "started_speaking",
            "user": {"id": "u1", "name": "Derek", "email": "derek@example.com"},
            "offset": {"seconds": 0, "nanos": 0},
        },
        {
            "type": "stopped_speaking",
            "user": {"id": "u1", "name": "Derek", "email": "derek@example.com"},
            "offset": {"seconds": 7, "nanos": 0},
        },
    ]
}


@pytest.fixture
def conversation(emu_env: Emulator) -> symbl.Conversation:
    params = {
        "trackers": [{"name": "Pricing", "vocabulary": ["pricing proposal", "annual plan"]}],
        "detectPhrases": True,
        "features": {"featureList": ["insights", "callScore"]},
    }
    made = symbl.Text.process(payload=MEETING, parameters=params)
    emu_env.state.requests.clear()
    return made


def last(emu: Emulator):
    return emu.requests()[-1]


@pytest.mark.parametrize(
    ("method", "suffix", "key"),
    [
        ("get_conversation", "", "name"),
        ("get_messages", "/messages", "messages"),
        ("get_topics", "/topics", "topics"),
        ("get_questions", "/questions", "questions"),
        ("get_action_items", "/action-items", "actionItems"),
        ("get_follow_ups", "/follow-ups", "followUps"),
        ("get_insights", "/insights", "insights"),
        ("get_members", "/members", "members"),
        ("get_entities", "/entities", "entities"),
        ("get_analytics", "/analytics", "metrics"),
        ("get_summary", "/summary", "summary"),
        ("get_call_score", "/callscore", "score"),
        ("get_call_score_status", "/callscore/status", "status"),
    ],
)
def test_each_getter_sends_its_request(
    emu_env: Emulator, conversation: symbl.Conversation, method: str, suffix: str, key: str
) -> None:
    cid = conversation.get_conversation_id()
    from_object = getattr(conversation, method)()
    from_resource = getattr(symbl.Conversations, method)(cid)
    assert from_object == from_resource
    assert key in from_object
    entries = emu_env.requests(f"/v1/conversations/{cid}")
    assert [(entry.method, entry.path, entry.query_string) for entry in entries] == [
        ("GET", f"/v1/conversations/{cid}{suffix}", "")
    ] * 2
    assert all(entry.status == 200 for entry in entries)


def test_results_hold_real_insights(conversation: symbl.Conversation) -> None:
    messages = conversation.get_messages().messages
    assert messages[0].text == "Hi Mike, thanks for joining the call today."
    assert messages[0].from_.name == "Natalia"
    questions = [q.text for q in conversation.get_questions().questions]
    assert any("annual plan" in text for text in questions)
    action_items = conversation.get_action_items().action_items
    contract = next(item for item in action_items if "contract" in item.text)
    assert contract.assignee.name == "Natalia"
    assert contract.due_by.startswith("2021-06-04")  # the Friday after 2021-06-01
    assert conversation.get_follow_ups().follow_ups
    names = {member.name for member in conversation.get_members().members}
    assert names == {"Natalia", "Mike"}
    (tracker,) = conversation.get_trackers()
    assert tracker.name == "Pricing"
    talk = conversation.get_analytics().metrics
    assert {metric.type for metric in talk} >= {"total_silence", "total_talk_time"}


def test_trackers_use_the_current_path_and_return_a_list(
    emu_env: Emulator, conversation: symbl.Conversation
) -> None:
    trackers = conversation.get_trackers()
    assert isinstance(trackers, list)
    assert last(emu_env).path.endswith("/trackers-detected")


def test_messages_and_topics_parameters_go_in_the_query(
    emu_env: Emulator, conversation: symbl.Conversation
) -> None:
    verbose = conversation.get_messages(parameters={"verbose": True, "sentiment": True})
    assert last(emu_env).query_string == "verbose=true&sentiment=true"
    assert verbose.messages[0].words
    assert verbose.messages[0].sentiment.suggested in ("positive", "neutral", "negative")
    cid = conversation.get_conversation_id()
    symbl.conversations.get_topics(cid, parameters={"sentiment": True, "parent_refs": True})
    assert last(emu_env).query_string == "sentiment=true&parentRefs=true"
    conversation.get_topics({"customTopicVocabulary": ["trainer"]})
    assert last(emu_env).query_string == "customTopicVocabulary=%5B%22trainer%22%5D"


def test_put_members_sends_the_member(emu_env: Emulator, conversation: symbl.Conversation) -> None:
    member = conversation.get_members().members[0]
    answer = conversation.put_members(member.id, {"name": "Natalia R.", "email": "nr@example.com"})
    entry = last(emu_env)
    assert (entry.method, entry.path) == (
        "PUT",
        f"/v1/conversations/{conversation.get_conversation_id()}/members/{member.id}",
    )
    assert entry.json == {"name": "Natalia R.", "email": "nr@example.com", "id": member.id}
    assert "updated successfully" in answer.message
    assert conversation.get_messages().messages[0].from_.name == "Natalia R."


def test_put_speakers_events_reattributes_messages(
    emu_env: Emulator, conversation: symbl.Conversation
) -> None:
    answer = symbl.Conversations.put_speakers_events(
        conversation.get_conversation_id(), SPEAKER_EVENTS
    )
    entry = last(emu_env)
    assert (entry.method, entry.json) == ("PUT", SPEAKER_EVENTS)
    assert entry.path.endswith("/speakers")
    assert "successfully" in answer.message
    speakers = [message.from_.name for message in conversation.get_messages().messages]
    assert speakers[0] == "Derek"


def test_formatted_transcript(emu_env: Emulator, conversation: symbl.Conversation) -> None:
    markdown = conversation.get_formatted_transcript(TRANSCRIPT_OPTIONS)
    assert_markdown_transcript(last(emu_env), markdown)
    srt = conversation.get_formatted_transcript({"contentType": "text/srt"})
    assert srt.transcript.payload.startswith("1\n00:00:00,000 --> ")


def test_call_score_insights_url(emu_env: Emulator, conversation: symbl.Conversation) -> None:
    answer = symbl.Conversations.get_call_score_insights_url(conversation.get_conversation_id())
    entry = last(emu_env)
    assert (
        entry.path
        == f"/v1/conversations/experiences/insights/details/{conversation.get_conversation_id()}"
    )
    assert entry.query_string == "includeCallScore=true"
    assert answer.url.startswith("https://")


def test_delete_conversation(emu_env: Emulator, conversation: symbl.Conversation) -> None:
    answer = conversation.delete_conversation()
    assert (last(emu_env).method, answer.message) == (
        "DELETE",
        "successfully deleted the conversation",
    )
    with pytest.raises(symbl.NotFoundError) as caught:
        conversation.get_messages()
    assert caught.value.message == "The conversationId is either invalid or does not exist."


def test_documented_int_conversation_id_works(emu_env: Emulator) -> None:
    emu_env.add_conversation(MEETING["messages"], conversation_id="1234567890")
    assert symbl.conversations.get_messages(1234567890).messages


def test_unknown_conversation_raises_not_found_for_every_method(emu_env: Emulator) -> None:
    for method in (
        "get_messages",
        "get_topics",
        "get_questions",
        "get_action_items",
        "get_follow_ups",
        "get_members",
        "get_conversation",
        "get_entities",
        "get_trackers",
        "get_analytics",
        "delete_conversation",
        "get_summary",
    ):
        with pytest.raises(symbl.NotFoundError):
            getattr(symbl.Conversations, method)("999")
    with pytest.raises(symbl.NotFoundError):
        symbl.Conversations.put_members("999", "m1", {"name": "X"})
    with pytest.raises(symbl.NotFoundError):
        symbl.Conversations.put_speakers_events("999", SPEAKER_EVENTS)
    with pytest.raises(symbl.NotFoundError):
        symbl.Conversations.get_formatted_transcript("999")


def test_conversations_belong_to_the_app_that_made_them(emu: Emulator, monkeypatch) -> None:
    emu.add_app("other", "secret2")
    monkeypatch.setenv("SYMBL_BASE_URL", emu.base_url)
    mine = symbl.Text.process(payload=MEETING, credentials=emu.credentials)
    with pytest.raises(symbl.NotFoundError):
        symbl.Conversations.get_messages(
            mine.get_conversation_id(), credentials={"app_id": "other", "app_secret": "secret2"}
        )


def test_a_member_id_goes_raw_in_the_body_and_escaped_in_the_path(
    emu_env: Emulator, conversation: symbl.Conversation
) -> None:
    with pytest.raises(symbl.NotFoundError):  # no such member: the service says so
        conversation.put_members("ann@example.com", {"name": "Ann"})
    entry = last(emu_env)
    assert entry.json == {"name": "Ann", "id": "ann@example.com"}
    assert entry.path.endswith("/members/ann@example.com")  # as the server decoded it


def test_conversation_methods_take_what_conversations_takes_but_the_id_and_credentials(
    emu_env: Emulator, conversation: symbl.Conversation
) -> None:
    assert conversation.get_messages({"verbose": True}).messages[0].words
    with pytest.raises(TypeError, match="unexpected keyword argument 'credentials'"):
        conversation.get_messages(credentials=emu_env.credentials)
    with pytest.raises(TypeError, match="takes 1 arguments but 2 were given"):
        conversation.get_topics({}, {})
    assert "conversation_id" not in (symbl.Conversation.get_messages.__doc__ or "")
    assert "credentials" not in (symbl.Conversation.put_members.__doc__ or "")


def test_conversations_of_the_shared_clients_have_a_full_client(
    emu_env: Emulator, conversation: symbl.Conversation
) -> None:
    again = symbl.Conversation(conversation.get_conversation_id())
    assert isinstance(again.client, symbl.Client)
    assert again.client.Conversations.get_conversation(again.get_conversation_id()).id
