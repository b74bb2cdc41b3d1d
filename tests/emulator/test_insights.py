"""The insight engine on a realistic sales call and a stand-up, with hand-checked values.

The reference time is Thursday 2021-06-03 10:00 UTC, so "Friday" is 2021-06-04 and "next
week" is Monday 2021-06-07.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import pytest

from symbl.emulator.engine import language
from symbl.emulator.engine.insights import (
    IdFactory,
    Insight,
    Options,
    Speaker,
    Utterance,
    classify,
    match_trackers,
    split_sentences,
    stream_message_json,
    stream_topic_json,
    topics_for,
)
from symbl.emulator.engine.reports import Analysis, analyse, formatted_transcript

THURSDAY = datetime(2021, 6, 3, 10, 0, tzinfo=timezone.utc)
NATALIA = Speaker("nat-1", "Natalia", "natalia@example.com")
MIKE = Speaker("mike-2", "Mike Jones", email="mike@acme.com")
TRACKERS = [
    {"name": "Pricing", "vocabulary": ["cost", "special discount", "pricing plan"]},
    {"name": "Legal", "vocabulary": ["contract signed"]},
]
SALES_CALL = [
    Utterance(NATALIA, "Hi Mike, thanks for joining the call today.", 0.0, 4.0),
    Utterance(
        MIKE,
        "Thanks Natalia. We are looking at the enterprise plan for our sales team. "
        "How much does it cost?",
        4.5,
        12.0,
    ),
    Utterance(
        NATALIA,
        "The enterprise plan is $69.99 per user per month. "
        "For 25 users we can offer a special discount.",
        12.5,
        20.0,
    ),
    Utterance(MIKE, "That sounds great. Can you send me the contract by Friday?", 19.0, 26.0),
    Utterance(
        NATALIA,
        "Sure, I will send the contract by Friday. "
        "I'll also schedule a meeting with Dr. Smith next week.",
        26.5,
        33.0,
    ),
    Utterance(MIKE, "Perfect. Please email the pricing plans to jo@acme.com.", 34.0, 40.0),
]


def sales_options(**changes: object) -> Options:
    options = Options(
        detect_phrases=True,
        custom_entities=[{"customType": "Plan", "text": "Enterprise Plan"}],
        trackers=TRACKERS,
        reference_time=THURSDAY,
    )
    for name, value in changes.items():
        setattr(options, name, value)
    return options


@pytest.fixture(scope="module")
def call() -> Analysis:
    return analyse(SALES_CALL, sales_options(), "conv-1")


def texts(items: list[dict[str, Any]]) -> list[str]:
    return [item["text"] for item in items]


def message_id(analysis: Analysis, text: str) -> str:
    return str(next(m["id"] for m in analysis.messages if m["text"] == text))


# --- sentences and messages ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("It costs $69.99 per month. Deal?", ["It costs $69.99 per month.", "Deal?"]),
        ("Dr. Smith and Mr. Lee agreed! Great.", ["Dr. Smith and Mr. Lee agreed!", "Great."]),
        ("Write to jo@acme.com. Thanks", ["Write to jo@acme.com.", "Thanks"]),
        ("Use a tool, e.g. ruff. Done?! Yes", ["Use a tool, e.g. ruff.", "Done?!", "Yes"]),
        ("no punctuation at all", ["no punctuation at all"]),
        ("   ", []),
    ],
)
def test_split_sentences_keeps_abbreviations_decimals_and_addresses(
    text: str, sentences: list[str]
) -> None:
    assert split_sentences(text) == sentences


def test_messages_are_sentences_timed_by_word_count(call: Analysis) -> None:
    messages = call.messages
    assert len(messages) == 12
    thanks, looking, cost = messages[1:4]
    # 2 + 11 + 5 words over 4.5 s .. 12.0 s
    assert (thanks["text"], thanks["timeOffset"], thanks["duration"]) == (
        "Thanks Natalia.",
        4.5,
        0.83,
    )
    assert looking["startTime"] == "2021-06-03T10:00:05.333Z"
    assert looking["endTime"] == "2021-06-03T10:00:09.917Z"
    assert (cost["timeOffset"], cost["duration"], cost["endTime"]) == (
        9.92,
        2.08,
        "2021-06-03T10:00:12.000Z",
    )
    assert messages[0]["from"] == {
        "id": "nat-1",
        "name": "Natalia",
        "userId": "natalia@example.com",
        "email": "natalia@example.com",
    }
    assert thanks["from"] == {"id": "mike-2", "name": "Mike Jones", "email": "mike@acme.com"}
    assert {m["conversationId"] for m in messages} == {"conv-1"}
    assert set(messages[0]) == {
        "id", "text", "from", "startTime", "endTime", "timeOffset", "duration",
        "conversationId", "phrases",
    }  # fmt: skip


def test_phrases_only_when_detect_phrases(call: Analysis) -> None:
    promise = next(m for m in call.messages if m["text"].startswith("Sure"))
    assert promise["phrases"] == [{"type": "action_phrase", "text": "send the contract by Friday"}]
    plain = analyse(SALES_CALL, sales_options(detect_phrases=False), "conv-1")
    assert all(m["phrases"] == [] for m in plain.messages)


def test_words_spread_evenly_over_the_sentence(call: Analysis) -> None:
    words = call.words[message_id(call, "Thanks Natalia.")]
    assert [w["word"] for w in words] == ["Thanks", "Natalia."]
    assert words[0]["startTime"] == "2021-06-03T10:00:04.500Z"
    assert words[1]["startTime"] == words[0]["endTime"] == "2021-06-03T10:00:04.917Z"
    assert words[1]["endTime"] == "2021-06-03T10:00:05.333Z"
    assert (words[1]["timeOffset"], words[1]["duration"]) == (4.92, 0.42)
    assert "score" not in words[0]


# --- questions, action items, follow-ups ---------------------------------------------------


def test_questions(call: Analysis) -> None:
    questions = call.questions
    assert texts(questions) == ["How much does it cost?", "Can you send me the contract by Friday?"]
    assert [q["score"] for q in questions] == [0.98, 0.98]
    assert questions[0]["messageIds"] == [message_id(call, "How much does it cost?")]
    assert questions[0]["from"]["name"] == "Mike Jones"
    assert questions[0]["type"] == "question"


@pytest.mark.parametrize(
    ("sentence", "score"),
    [
        ("It does not have speakers right?", 0.9),
        ("What is the price", 0.75),
        ("Is that the final offer", 0.7),
        ("What we need is more time.", 0.0),
        ("Okay, so when does the trial end?", 0.98),
    ],
)
def test_question_scores_follow_the_cues(sentence: str, score: float) -> None:
    assert language.question_score(sentence) == score


def test_a_request_is_a_question_and_an_action_item_for_the_other_speaker(call: Analysis) -> None:
    request = call.action_items[0]
    assert request["text"] == "Can you send me the contract by Friday?"
    assert request["assignee"] == {
        "id": "nat-1",
        "name": "Natalia",
        "userId": "natalia@example.com",
        "email": "natalia@example.com",
    }
    assert request["dueBy"] == "2021-06-04T07:00:00.000Z"
    assert request["entities"] == [
        {"type": "daterange", "text": "by Friday", "offset": 29, "end": "2021-06-04"}
    ]
    assert request["phrases"] == [
        {"type": "action_phrase", "text": "send me the contract by Friday"}
    ]
    assert request["definitive"] is True
    assert request["from"]["id"] == "mike-2"


def test_a_promise_is_assigned_to_the_speaker(call: Analysis) -> None:
    promise = call.action_items[1]
    assert promise["text"] == "Sure, I will send the contract by Friday."
    assert promise["assignee"]["id"] == "nat-1"
    assert promise["score"] == 0.95
    assert promise["dueBy"] == "2021-06-04T07:00:00.000Z"
    assert len(call.action_items) == 2


def test_follow_ups_are_not_also_action_items(call: Analysis) -> None:
    follow_ups = call.follow_ups
    assert texts(follow_ups) == [
        "I'll also schedule a meeting with Dr. Smith next week.",
        "Please email the pricing plans to jo@acme.com.",
    ]
    assert {f["type"] for f in follow_ups} == {"follow_up"}
    meeting, email = follow_ups
    assert meeting["dueBy"] == "2021-06-07T07:00:00.000Z"
    assert meeting["phrases"][0]["text"] == "schedule a meeting with Dr. Smith next week"
    assert meeting["entities"] == [
        {"type": "date", "text": "next week", "offset": 44, "value": "2021-06-07"}
    ]
    assert email["assignee"]["id"] == "nat-1"  # "please" from Mike: the other of two
    assert "dueBy" not in email
    assert not set(texts(follow_ups)) & set(texts(call.action_items))


PRIYA = Speaker("p", "Priya", "priya@example.com")
RAJ = Speaker("r", "Raj Patel", "raj@example.com")
LUCY = Speaker("l", "Lucy", "lucy@example.com")
TEAM = [PRIYA, RAJ, LUCY]


def insights_of(sentence: str, speaker: Speaker, **changes: object) -> list[Insight]:
    options = Options(reference_time=THURSDAY)
    for name, value in changes.items():
        setattr(options, name, value)
    return classify(sentence, speaker, TEAM, options)


def test_standup_assignees_come_from_names_subjects_and_vocatives() -> None:
    question, review = insights_of("Raj, can you review the pull request today?", PRIYA)
    assert (question.type, review.type) == ("question", "action_item")
    assert review.assignee["id"] == "r"
    assert review.due_by == "2021-06-03T07:00:00.000Z"
    assert review.entities[0] == {
        "type": "person",
        "text": "Raj",
        "offset": 0,
        "value": {"name": "Raj Patel", "id": "r", "userId": "raj@example.com", "assignee": True},
    }

    (roadmap,) = insights_of("Lucy will update the roadmap by next Monday.", PRIYA)
    assert roadmap.assignee["id"] == "l"
    assert roadmap.due_by == "2021-06-07T07:00:00.000Z"
    assert roadmap.definitive is True

    (callback,) = insights_of("Sure, I'll get back to you by end of day.", RAJ)
    assert callback.type == "follow_up"
    assert callback.assignee["id"] == "r"
    assert callback.due_by == "2021-06-03T07:00:00.000Z"

    (unclear,) = insights_of("You need to fix the login bug.", PRIYA)
    assert unclear.assignee == {}  # "you" among three members is nobody in particular


def test_tentative_actions_are_not_definitive_and_fall_below_a_higher_threshold() -> None:
    (deploy,) = insights_of("Maybe we could deploy on June 10th.", LUCY)
    assert deploy.definitive is False
    assert deploy.score == 0.6
    assert deploy.due_by == "2021-06-10T07:00:00.000Z"
    assert insights_of("Maybe we could deploy on June 10th.", LUCY, confidence_threshold=0.7) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "Can you hear me?",
        "I will be there.",
        "Do we need to sign anything?",
        "Review went well.",
        "We won't ship on Friday.",
    ],
)
def test_facts_and_refusals_are_not_action_items(sentence: str) -> None:
    assert [i.type for i in insights_of(sentence, PRIYA)] in ([], ["question"])


@pytest.mark.parametrize(
    ("due", "day"),
    [
        ("today", "2021-06-03"),
        ("tonight", "2021-06-03"),
        ("by end of day", "2021-06-03"),
        ("tomorrow", "2021-06-04"),
        ("by Friday", "2021-06-04"),
        ("by the end of the week", "2021-06-04"),
        ("on Monday", "2021-06-07"),
        ("next week", "2021-06-07"),
        ("on Thursday", "2021-06-10"),
        ("in 3 days", "2021-06-06"),
        ("in two weeks", "2021-06-17"),
        ("on June 5", "2021-06-05"),
        ("by June 5th", "2021-06-05"),
        ("on 5 June 2022", "2022-06-05"),
        ("by 2021-06-07", "2021-06-07"),
        ("on June 1", "2022-06-01"),
    ],
)
def test_due_dates_resolve_against_the_reference_time(due: str, day: str) -> None:
    (action,) = insights_of(f"I will send the invoice {due}.", PRIYA)
    assert action.due_by == f"{day}T07:00:00.000Z"


# --- topics, entities, trackers ------------------------------------------------------------


def test_topics(call: Analysis) -> None:
    topics = call.topics
    # No names ("Mike", "Dr. Smith"), verbs ("schedule"), addresses ("acme") or dates.
    assert texts(topics) == [
        "enterprise plan", "user", "contract", "call", "sales team", "special discount",
        "meeting", "pricing plan",
    ]  # fmt: skip
    assert [t["score"] for t in topics[:4]] == [1.0, 0.9231, 0.9231, 0.4231]
    assert (
        topics[0]["parentRefs"] == topics[-1]["parentRefs"] == [{"type": "topic", "text": "plan"}]
    )
    assert topics[1]["parentRefs"] == []
    assert topics[0]["messageIds"] == [
        message_id(call, "We are looking at the enterprise plan for our sales team."),
        message_id(call, "The enterprise plan is $69.99 per user per month."),
    ]
    call_topic = next(t for t in topics if t["text"] == "call")
    assert call_topic["sentiment"] == {"polarity": {"score": 0.447}, "suggested": "positive"}


def test_topics_sharing_a_head_noun_get_a_parent() -> None:
    messages = [
        {"id": "1", "text": "The pricing plan is simple."},
        {"id": "2", "text": "Our enterprise plans cost more."},
        {"id": "3", "text": "The budget is fixed."},
    ]
    topics = {t["text"]: t for t in topics_for(messages, IdFactory("x"))}
    assert topics["pricing plan"]["parentRefs"] == [{"type": "topic", "text": "plan"}]
    assert topics["enterprise plan"]["parentRefs"] == [{"type": "topic", "text": "plan"}]
    assert topics["budget"]["parentRefs"] == []
    assert topics_for([], IdFactory("x")) == []


def test_entities(call: Analysis) -> None:
    found = {(e["type"], e["value"]): e for e in call.entities}
    assert set(found) == {
        ("person", "Mike Jones"),
        ("person", "Natalia"),
        ("person", "Dr. Smith"),
        ("date", "2021-06-03"),
        ("date", "2021-06-04"),
        ("date", "2021-06-07"),
        ("custom", "Enterprise Plan"),
        ("money", "69.99 USD"),
        ("number", "25"),
        ("email", "jo@acme.com"),
    }
    assert found["person", "Mike Jones"]["text"] == "Mike"
    friday = found["date", "2021-06-04"]
    assert friday["text"] == "Friday"
    assert [ref["offset"] for ref in friday["messageRefs"]] == [32, 34]
    custom = found["custom", "Enterprise Plan"]
    assert custom["customType"] == "Plan"
    assert custom["text"] == "enterprise plan"
    assert len(custom["messageRefs"]) == 2
    money = found["money", "69.99 USD"]["messageRefs"][0]
    assert money == {
        "id": message_id(call, "The enterprise plan is $69.99 per user per month."),
        "text": "The enterprise plan is $69.99 per user per month.",
        "offset": 23,
    }


def test_money_and_number_values() -> None:
    money = language.find_money("Pay twenty dollars, €5k, £3 or 1,200 euros.")
    assert [m.value for m in money] == ["20 USD", "5000 EUR", "3 GBP", "1200 EUR"]
    numbers = language.find_numbers(
        "We have 3 seats, 1,200 users and two hundred fifty calls at 3pm."
    )
    assert [n.value for n in numbers] == ["3", "1200", "250"]


def test_trackers_match_exactly_at_an_offset_or_fuzzily(call: Analysis) -> None:
    (pricing,) = call.trackers  # "Legal" matched nothing
    assert pricing["name"] == "Pricing"
    assert pricing["id"] == IdFactory("conv-1").stable("tracker:Pricing")
    cost, discount, plan = pricing["matches"]
    assert cost["value"] == "cost"
    assert cost["messageRefs"] == [
        {
            "id": message_id(call, "How much does it cost?"),
            "text": "How much does it cost?",
            "offset": 17,
        }
    ]
    assert cost["insightRefs"] == [
        {
            "id": call.questions[0]["id"],
            "text": "How much does it cost?",
            "offset": 17,
            "type": "question",
        }
    ]
    assert (discount["messageRefs"][0]["offset"], discount["insightRefs"]) == (28, [])
    assert plan["messageRefs"][0]["offset"] == -1  # "pricing plans": all words, not verbatim
    assert plan["insightRefs"][0]["type"] == "follow_up"


def test_match_trackers_needs_whole_words_and_ordered_content_words() -> None:
    trackers = [{"name": "T", "vocabulary": ["price", "special promotion"]}]
    assert match_trackers("Priceless.", "m", trackers) == []
    assert [h.offset for h in match_trackers("The PRICE is right.", "m", trackers)] == [4]
    assert [h.offset for h in match_trackers("Prices went up.", "m", trackers)] == [-1]
    assert match_trackers("A promotion, special.", "m", trackers) == []


# --- members, analytics, sentiment, summary ------------------------------------------------


def test_members(call: Analysis) -> None:
    assert call.members == [
        {
            "id": "nat-1",
            "name": "Natalia",
            "email": "natalia@example.com",
            "userId": "natalia@example.com",
        },
        {"id": "mike-2", "name": "Mike Jones", "email": "mike@acme.com"},
    ]


def test_analytics_add_up(call: Analysis) -> None:
    metrics = {m["type"]: m for m in call.analytics["metrics"]}
    # Talk: Natalia 4 + 7.5 + 6.5 = 18 s, Mike 7.5 + 7 + 6 = 20.5 s, overlapping 19-20 s.
    assert metrics["total_talk_time"] == {
        "type": "total_talk_time",
        "percent": 93.75,
        "seconds": 37.5,
    }
    assert metrics["total_silence"] == {"type": "total_silence", "percent": 6.25, "seconds": 2.5}
    assert metrics["total_overlap"] == {"type": "total_overlap", "percent": 2.667, "seconds": 1.0}
    natalia, mike = call.analytics["members"]
    assert natalia["talkTime"] == {"percentage": 48.0, "seconds": 18.0}
    assert natalia["listenTime"] == {"percentage": 52.0, "seconds": 19.5}
    assert natalia["pace"] == {"wpm": 147}  # 44 words in 18 s
    assert mike["talkTime"]["seconds"] + mike["listenTime"]["seconds"] == 37.5
    assert mike["overlap"]["overlapDuration"] == 1.0
    assert mike["overlap"]["overlappingMembers"] == [
        {
            "id": "nat-1",
            "name": "Natalia",
            "userId": "natalia@example.com",
            "email": "natalia@example.com",
            "percent": 4.878,
            "seconds": 1.0,
        }
    ]


def test_audio_analytics_use_the_duration_and_speech_segments() -> None:
    said = [Utterance(NATALIA, "Hello there.", 1.0, 3.0), Utterance(MIKE, "Hi.", 5.0, 6.0)]
    analysis = analyse(
        said, Options(), "a", duration=10.0, speech_segments=[(0.9, 3.2), (4.8, 6.1)]
    )
    metrics = {m["type"]: (m["percent"], m["seconds"]) for m in analysis.analytics["metrics"]}
    assert metrics == {
        "total_silence": (64.0, 6.4),
        "total_talk_time": (36.0, 3.6),
        "total_overlap": (0.0, 0.0),
    }
    assert [m["overlap"] for m in analysis.analytics["members"]] == [{}, {}]


@pytest.mark.parametrize(
    ("text", "score", "suggested"),
    [
        ("That sounds great.", 0.447, "positive"),
        ("That is very good.", 0.6, "positive"),
        ("It is not good at all.", -0.447, "negative"),
        ("The price is a problem.", -0.447, "negative"),
        ("The meeting is at noon.", 0.0, "neutral"),
    ],
)
def test_sentiment(text: str, score: float, suggested: str) -> None:
    analysis = analyse([Utterance(NATALIA, text, 0.0, 1.0)], Options(), "s")
    assert list(analysis.sentiments.values()) == [
        {"polarity": {"score": score}, "suggested": suggested}
    ]


def test_summary(call: Analysis) -> None:
    overview, actions, questions = call.summary
    assert (
        overview["text"] == "Natalia and Mike Jones discussed enterprise plan, user and contract."
    )
    assert actions["text"].startswith("Can you send me the contract by Friday? Sure, I will send")
    assert actions["text"].endswith("Please email the pricing plans to jo@acme.com.")
    assert len(actions["messageRefs"]) == 4
    assert questions["text"] == "How much does it cost? Can you send me the contract by Friday?"
    assert questions["messageRefs"] == [{"id": i} for q in call.questions for i in q["messageIds"]]
    assert analyse([], Options(), "empty").summary == []


# --- transcripts, streaming shapes, determinism --------------------------------------------


def test_markdown_transcript(call: Analysis) -> None:
    payload = formatted_transcript(
        call,
        "text/markdown",
        create_paragraphs=True,
        show_speaker_separation=True,
    )
    paragraphs = payload.split("<br/><br/>")
    assert len(paragraphs) == 6
    assert paragraphs[0] == "Natalia: Hi Mike, thanks for joining the call today."
    assert paragraphs[3] == "Mike Jones: That sounds great. Can you send me the contract by Friday?"
    plain = formatted_transcript(call, "text/markdown")
    assert "<br/>" not in plain and "Natalia:" not in plain and "<mark>" not in plain
    marked = formatted_transcript(call, "text/markdown", highlight_insight_phrases=True)
    assert "<mark>How much does it cost?</mark>" in marked
    assert "Can you <mark>send me the contract by Friday</mark>?" in marked
    assert marked.count("<mark>") == 5


def test_srt_transcript(call: Analysis) -> None:
    payload = formatted_transcript(call, "text/srt", show_speaker_separation=True)
    assert payload.startswith(
        "1\n00:00:00,000 --> 00:00:04,000\nNatalia: Hi Mike, thanks for joining the call today.\n\n"
        "2\n00:00:04,500 --> 00:00:05,330\nMike Jones: Thanks Natalia.\n\n"
    )
    last = "Mike Jones: Please email the pricing plans to jo@acme.com."
    assert payload.endswith(f"12\n00:00:34,750 --> 00:00:40,000\n{last}\n\n")
    with pytest.raises(ValueError, match="text/markdown or text/srt"):
        formatted_transcript(call, "text/html")


def test_streaming_shapes(call: Analysis) -> None:
    message = call.messages[1]
    streamed = stream_message_json(message, call.words[message["id"]])
    assert streamed["payload"] == {"content": "Thanks Natalia.", "contentType": "text/plain"}
    assert streamed["metadata"]["words"].startswith(
        '[{"word":"Thanks","startTime":"2021-06-03T10:00:04.500Z"'
    )
    assert streamed["duration"]["startTime"] == message["startTime"]
    (question, request) = classify(
        "Can you send me the contract by Friday?", MIKE, [NATALIA, MIKE], sales_options()
    )
    item = request.to_stream_json("i-1", "m-1")
    assert item["tags"] == [
        {
            "type": "daterange",
            "text": "by Friday",
            "beginOffset": 29,
            "value": {"value": {"datetime": "2021-06-04"}},
        }
    ]
    assert item["dueBy"] == {"value": "2021-06-04T07:00:00.000Z"}
    assert (item["messageReference"], item["payload"]["content"]) == ({"id": "m-1"}, request.text)
    assert question.to_stream_json("i-0", "m-1")["type"] == "question"
    topic = stream_topic_json(call.topics[0])
    assert (topic["phrases"], topic["rootWords"], topic["type"]) == (
        "enterprise plan",
        [{"text": "plan"}],
        "topic",
    )


def test_same_input_same_output_including_ids(call: Analysis) -> None:
    again = analyse(SALES_CALL, sales_options(), "conv-1")
    assert again == call
    other = analyse(SALES_CALL, sales_options(), "conv-2")
    assert other.messages[0]["id"] != call.messages[0]["id"]
    assert texts(other.messages) == texts(call.messages)


def test_id_factory() -> None:
    ids = IdFactory("seed")
    first, second = ids.numeric(), ids.numeric()
    assert re.fullmatch(r"[1-9]\d{15}", first) and first != second
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", ids.uuid()
    )
    assert IdFactory("seed").numeric() == first
    assert (
        ids.stable("topic:x")
        == IdFactory("seed").stable("topic:x")
        != IdFactory("s").stable("topic:x")
    )


def test_utterances_cannot_end_before_they_start() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Utterance(NATALIA, "Hi.", 2.0, 1.0)
