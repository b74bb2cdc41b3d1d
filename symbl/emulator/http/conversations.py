"""The Conversation API (PROTOCOL.md §4) over HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from symbl._protocol import conversations as wire
from symbl._protocol import listing
from symbl._protocol.options import boolean, is_boolean
from symbl.emulator.engine import insights, reports
from symbl.emulator.engine.callscore import call_score
from symbl.emulator.stores.conversations import ConversationNotFoundError, StoredConversation
from symbl.emulator.stores.live import summary_url

from .common import (
    ApiError,
    app_id_of,
    json_response,
    parse_json,
    protocol_errors_as_400,
    read_json,
    state_of,
)
from .jobs import CONVERSATION_NOT_FOUND

routes = web.RouteTableDef()

# Where each Summary UI lives: the Trackers and Analytics UI (audio-summary) has its own host.
SUMMARY_UI_HOST = "//meetinginsights.symbl.ai/"
AUDIO_SUMMARY_UI_HOST = "//meetinginsights-experience.symbl.ai/"

BASE = wire.CONVERSATIONS_PATH
ONE = wire.CONVERSATION_PATH
_MEMBER_UPDATED = (
    "Member with id: {member} for conversationId: {conversation} updated successfully! The update "
    "should be reflected in all messages and insights along with this conversation"
)
_SPEAKERS_UPDATED = (
    "Speaker events associated for conversationId: {conversation} successfully! The update should "
    "be reflected in all messages and insights along with this conversation"
)


def _conversation(request: web.Request) -> StoredConversation:
    try:
        return state_of(request).conversations.get(
            app_id_of(request), request.match_info["conversation_id"]
        )
    except ConversationNotFoundError:
        raise ApiError(404, CONVERSATION_NOT_FOUND) from None


def _flags(request: web.Request, reading: str) -> dict[str, bool]:
    """The documented boolean query flags of a reading (PROTOCOL.md §4.1): a value that is not
    boolean is a 400. Other flags, and ``customTopicVocabulary``'s undocumented values, are
    accepted as they come (the service adds options over time)."""
    given = {
        name: request.query[name] for name in wire.FLAGS.get(reading, ()) if name in request.query
    }
    with protocol_errors_as_400():
        return {
            name: boolean(name, value)
            for name, value in given.items()
            if name != wire.TOPIC_VOCABULARY or is_boolean(value)
        }


@routes.get(BASE)
async def list_conversations(request: web.Request) -> web.Response:
    """One page of the app's conversations (PROTOCOL.md §11.1)."""
    now = datetime.now(timezone.utc)
    with protocol_errors_as_400():
        query = listing.parse_list_query(request.query, now)
    found = state_of(request).conversations.listing(app_id_of(request), query, now)
    return json_response({"conversations": [item.to_json() for item in found]})


@routes.get(ONE)
async def get_conversation(request: web.Request) -> web.Response:
    """The conversation resource."""
    return json_response(_conversation(request).to_json())


@routes.put(ONE)
async def update_conversation(request: web.Request) -> web.Response:
    """Replace the conversation's metadata and/or set its name (PROTOCOL.md §11.2)."""
    conversation = _conversation(request)
    with protocol_errors_as_400():
        update = wire.check_conversation_update(await read_json(request))
    answer: dict[str, Any] = {"id": conversation.id}
    if "metadata" in update:
        conversation.metadata = update["metadata"]
    if "name" in update:
        conversation.name = answer["name"] = update["name"]
    answer["metadata"] = conversation.metadata
    return json_response(answer)


@routes.delete(ONE)
async def delete_conversation(request: web.Request) -> web.Response:
    """Delete the conversation for good."""
    conversation = _conversation(request)
    state_of(request).conversations.delete(app_id_of(request), conversation.id)
    return json_response({"message": "successfully deleted the conversation"})


@routes.get(ONE + "/messages")
async def get_messages(request: web.Request) -> web.Response:
    """Messages, with word timings (verbose) and sentiment on request."""
    flags = _flags(request, "messages")
    analysis = await _conversation(request).analysed()
    messages = []
    for message in analysis.messages:
        item = dict(message)
        if flags.get("verbose"):
            item["words"] = analysis.words.get(message["id"], [])
        if flags.get("sentiment"):
            item["sentiment"] = analysis.sentiments[message["id"]]
        messages.append(item)
    return json_response({"messages": messages})


@routes.get(ONE + "/topics")
async def get_topics(request: web.Request) -> web.Response:
    """Topics; sentiment and parent references on request."""
    flags = _flags(request, "topics")
    # Not true or false: the undocumented list form, a list of words to find as topics.
    vocabulary = (
        None if wire.TOPIC_VOCABULARY in flags else request.query.get(wire.TOPIC_VOCABULARY)
    )
    conversation = _conversation(request)
    topics = []
    analysis = await conversation.analysed()
    for topic in analysis.topics:
        item = dict(topic)
        if not flags.get("sentiment"):
            item.pop("sentiment", None)
        if not flags.get("parentRefs"):
            item["parentRefs"] = []
        topics.append(item)
    if vocabulary is not None:
        topics.extend(_custom_topics(conversation.id, analysis.messages, vocabulary, topics))
    return json_response({"topics": topics})


@routes.get(ONE + "/questions")
async def get_questions(request: web.Request) -> web.Response:
    """Questions."""
    return json_response({"questions": (await _conversation(request).analysed()).questions})


@routes.get(ONE + "/action-items")
async def get_action_items(request: web.Request) -> web.Response:
    """Action items."""
    return json_response({"actionItems": (await _conversation(request).analysed()).action_items})


@routes.get(ONE + "/follow-ups")
async def get_follow_ups(request: web.Request) -> web.Response:
    """Follow-ups."""
    return json_response({"followUps": (await _conversation(request).analysed()).follow_ups})


@routes.get(ONE + "/insights")
async def get_insights(request: web.Request) -> web.Response:
    """Questions, action items and follow-ups together (legacy)."""
    analysis = await _conversation(request).analysed()
    return json_response(
        {"insights": analysis.questions + analysis.action_items + analysis.follow_ups}
    )


@routes.get(ONE + "/intents")
async def get_intents(request: web.Request) -> web.Response:
    """Intents (swagger only); the emulator detects none."""
    _conversation(request)
    return json_response({"intents": []})


@routes.get(ONE + "/members")
async def get_members(request: web.Request) -> web.Response:
    """Members."""
    members = _conversation(request).members.values()
    return json_response({"members": [member.to_json() for member in members]})


@routes.put(ONE + wire.MEMBER_SUFFIX)
async def put_member(request: web.Request) -> web.Response:
    """Rename a member (and give it an email)."""
    conversation = _conversation(request)
    member_id = request.match_info["member_id"]
    with protocol_errors_as_400():
        body = wire.check_member_update(await read_json(request), member_id)
    if member_id not in conversation.members:
        raise ApiError(404, f"Member {member_id} does not exist in this conversation.")
    conversation.rename_member(member_id, body["name"], str(body.get("email", "")))
    message = _MEMBER_UPDATED.format(member=member_id, conversation=conversation.id)
    return json_response({"message": message})


@routes.put(ONE + "/speakers")
async def put_speakers(request: web.Request) -> web.Response:
    """Speaker events: who spoke from when to when."""
    conversation = _conversation(request)
    with protocol_errors_as_400():
        events = wire.check_speaker_events(await read_json(request))["speakerEvents"]
    started: dict[str, float] = {}
    for event in events:
        user, offset = event["user"], event["offset"]
        when = float(offset.get("seconds", 0)) + float(offset.get("nanos", 0)) / 1e9
        member = conversation.member(
            str(user.get("name", "")),
            str(user.get("userId", user.get("id", ""))),
            str(user.get("email", "")),
        )
        if event["type"] == "started_speaking":
            started[member.id] = when
        else:
            conversation.attribute(member.id, started.pop(member.id, 0.0), when)
    for member_id, begin in started.items():
        conversation.attribute(member_id, begin, float("inf"))
    return json_response({"message": _SPEAKERS_UPDATED.format(conversation=conversation.id)})


@routes.get(ONE + "/entities")
async def get_entities(request: web.Request) -> web.Response:
    """Entities."""
    return json_response({"entities": (await _conversation(request).analysed()).entities})


@routes.get(ONE + "/analytics")
async def get_analytics(request: web.Request) -> web.Response:
    """Analytics: metrics and members."""
    return json_response((await _conversation(request).analysed()).analytics)


@routes.get(ONE + "/trackers-detected")
@routes.get(ONE + "/trackers")
async def get_trackers(request: web.Request) -> web.Response:
    """Tracker matches, as a bare list (current and legacy path)."""
    return json_response((await _conversation(request).analysed()).trackers)


@routes.post(ONE + "/transcript")
async def post_transcript(request: web.Request) -> web.Response:
    """The transcript as Markdown or SRT."""
    conversation = _conversation(request)
    with protocol_errors_as_400():
        body = wire.check_transcript_request(await read_json(request))
    phrases = body.get("phrases") or {}
    payload = reports.formatted_transcript(
        await conversation.analysed(),
        body["contentType"],
        create_paragraphs=body.get("createParagraphs", False),
        show_speaker_separation=body.get("showSpeakerSeparation", False),
        highlight_insight_phrases=phrases.get("highlightOnlyInsightKeyPhrases", False),
        highlight_all_phrases=phrases.get("highlightAllKeyPhrases", False),
    )
    return json_response({"transcript": {"payload": payload, "contentType": body["contentType"]}})


@routes.get(ONE + "/summary")
async def get_summary(request: web.Request) -> web.Response:
    """The summary; 404 while a job of the conversation is still running."""
    _flags(request, "summary")
    conversation = _conversation(request)
    if state_of(request).jobs.busy(conversation.id):
        raise ApiError(404, "The summary is not ready: the conversation is still being processed.")
    return json_response({"summary": (await conversation.analysed()).summary})


@routes.post(ONE + "/experiences")
async def post_experience(request: web.Request) -> web.Response:
    """A Summary UI link (PROTOCOL.md §11.3)."""
    conversation = _conversation(request)
    with protocol_errors_as_400():
        name = wire.check_summary_ui(await read_json(request))["name"]
    url = summary_url(conversation.id)
    if name == "video-summary":
        url += "?showVideoSummary=true"
    elif name == "audio-summary":
        url = url.replace(SUMMARY_UI_HOST, AUDIO_SUMMARY_UI_HOST, 1)
    return json_response({"name": name, "url": url}, status=201)


@routes.get(wire.INSIGHTS_UI_PATH)
async def get_insights_ui(request: web.Request) -> web.Response:
    """The insights UI link."""
    conversation = _conversation(request)
    return json_response({"url": summary_url(conversation.id)})


@routes.get(ONE + "/callscore")
async def get_call_score(request: web.Request) -> web.Response:
    """The call score, when it was requested at submission."""
    conversation = _call_scored(request)
    return json_response(call_score(await conversation.analysed()))


@routes.get(ONE + "/callscore/status")
async def get_call_score_status(request: web.Request) -> web.Response:
    """Whether the call score is ready."""
    conversation = _call_scored(request)
    jobs = [job for job in state_of(request).jobs.all() if job.conversation_id == conversation.id]
    status = "in_progress" if state_of(request).jobs.busy(conversation.id) else "completed"
    return json_response({"jobId": jobs[-1].id if jobs else "", "status": status})


def _call_scored(request: web.Request) -> StoredConversation:
    conversation = _conversation(request)
    if "callScore" not in conversation.features:
        raise ApiError(
            404,
            "Call score was not requested for this conversation; submit it with "
            'features: {"featureList": ["insights", "callScore"]}.',
        )
    return conversation


def _custom_topics(
    conversation_id: str,
    messages: Sequence[dict[str, Any]],
    vocabulary: str,
    existing: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Topics for custom vocabulary words (JSON or comma-separated text) that occur but were
    not found on their own."""
    try:
        words = parse_json(vocabulary)
    except ValueError:
        words = vocabulary.split(",")
    if not isinstance(words, list):
        return []
    known = {topic["text"].lower() for topic in existing}
    extra = []
    for word in words:
        if not isinstance(word, str) or not word.strip() or word.lower() in known:
            continue
        ids = [message["id"] for message in messages if word.lower() in message["text"].lower()]
        if ids:
            topic_id = insights.IdFactory(f"{conversation_id}:topic:{word}").numeric()
            extra.append(
                {
                    "id": topic_id,
                    "text": word,
                    "type": "topic",
                    "score": 0.5,
                    "messageIds": ids,
                    "parentRefs": [],
                }
            )
    return extra
