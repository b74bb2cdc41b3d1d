"""The Conversation API (PROTOCOL.md §4) over HTTP."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from symbl._protocol import conversations as wire
from symbl.emulator.engine import insights, reports
from symbl.emulator.engine.callscore import call_score
from symbl.emulator.stores.conversations import ConversationNotFoundError, StoredConversation
from symbl.emulator.stores.live import summary_url

from .common import ApiError, app_id_of, json_response, protocol_errors_as_400, read_json, state_of
from .jobs import CONVERSATION_NOT_FOUND

routes = web.RouteTableDef()

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
    """The boolean query flags of a reading (PROTOCOL.md §4.1); anything else is a 400."""
    query = {
        name: value
        for name, value in request.query.items()
        if not (reading == "topics" and name == wire.TOPIC_VOCABULARY)
    }
    with protocol_errors_as_400():
        return {name: wire.check_flag(reading, name, value) for name, value in query.items()}


@routes.get(BASE)
async def list_conversations(request: web.Request) -> web.Response:
    """The app's conversations, newest first by default."""
    query = request.query
    try:
        limit = int(query.get("limit", "20"))
        offset = int(query.get("offset", "0"))
    except ValueError:
        raise ApiError(400, '"limit" and "offset" must be whole numbers') from None
    if not 0 <= limit <= 65536 or offset < 0:
        raise ApiError(400, '"limit" must be 0 to 65536 and "offset" at least 0')
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise ApiError(400, '"order" must be asc or desc')
    found = sorted(
        state_of(request).conversations.of_app(app_id_of(request)),
        key=lambda item: item.start_time,
        reverse=order == "desc",
    )
    return json_response({"conversations": [c.to_json() for c in found[offset : offset + limit]]})


@routes.get(ONE)
async def get_conversation(request: web.Request) -> web.Response:
    """The conversation resource."""
    return json_response(_conversation(request).to_json())


@routes.put(ONE)
async def update_conversation(request: web.Request) -> web.Response:
    """Replace the conversation's metadata (the only mutable field)."""
    conversation = _conversation(request)
    body = await read_json(request)
    if (
        not isinstance(body, dict)
        or set(body) != {"metadata"}
        or not isinstance(body["metadata"], dict)
    ):
        raise ApiError(400, 'The body must be {"metadata": {...}}; only metadata can be changed.')
    conversation.metadata = body["metadata"]
    return json_response({"id": conversation.id, "metadata": conversation.metadata})


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
    analysis = _conversation(request).analysis()
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
    vocabulary = request.query.get(wire.TOPIC_VOCABULARY)
    flags = _flags(request, "topics")
    conversation = _conversation(request)
    topics = []
    for topic in conversation.analysis().topics:
        item = dict(topic)
        if not flags.get("sentiment"):
            item.pop("sentiment", None)
        if not flags.get("parentRefs"):
            item["parentRefs"] = []
        topics.append(item)
    if vocabulary is not None:
        topics.extend(_custom_topics(conversation, vocabulary, topics))
    return json_response({"topics": topics})


@routes.get(ONE + "/questions")
async def get_questions(request: web.Request) -> web.Response:
    """Questions."""
    return json_response({"questions": _conversation(request).analysis().questions})


@routes.get(ONE + "/action-items")
async def get_action_items(request: web.Request) -> web.Response:
    """Action items."""
    return json_response({"actionItems": _conversation(request).analysis().action_items})


@routes.get(ONE + "/follow-ups")
async def get_follow_ups(request: web.Request) -> web.Response:
    """Follow-ups."""
    return json_response({"followUps": _conversation(request).analysis().follow_ups})


@routes.get(ONE + "/insights")
async def get_insights(request: web.Request) -> web.Response:
    """Questions, action items and follow-ups together (legacy)."""
    analysis = _conversation(request).analysis()
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
    return json_response({"entities": _conversation(request).analysis().entities})


@routes.get(ONE + "/analytics")
async def get_analytics(request: web.Request) -> web.Response:
    """Analytics: metrics and members."""
    return json_response(_conversation(request).analysis().analytics)


@routes.get(ONE + "/trackers-detected")
@routes.get(ONE + "/trackers")
async def get_trackers(request: web.Request) -> web.Response:
    """Tracker matches, as a bare list (current and legacy path)."""
    return json_response(_conversation(request).analysis().trackers)


@routes.post(ONE + "/transcript")
async def post_transcript(request: web.Request) -> web.Response:
    """The transcript as Markdown or SRT."""
    conversation = _conversation(request)
    with protocol_errors_as_400():
        body = wire.check_transcript_request(await read_json(request))
    phrases = body.get("phrases") or {}
    payload = reports.formatted_transcript(
        conversation.analysis(),
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
    return json_response({"summary": conversation.analysis().summary})


@routes.post(ONE + "/experiences")
async def post_experience(request: web.Request) -> web.Response:
    """A Summary UI link."""
    conversation = _conversation(request)
    body = await read_json(request)
    name = body.get("name") if isinstance(body, dict) else None
    if name not in ("verbose-text-summary", "video-summary"):
        raise ApiError(400, '"name" must be verbose-text-summary or video-summary')
    if name == "video-summary" and not isinstance(body.get("videoUrl"), str):
        raise ApiError(400, '"videoUrl" is required for video-summary')
    suffix = "?showVideoSummary=true" if name == "video-summary" else ""
    return json_response({"name": name, "url": summary_url(conversation.id) + suffix}, status=201)


@routes.get(wire.INSIGHTS_UI_PATH)
async def get_insights_ui(request: web.Request) -> web.Response:
    """The insights UI link."""
    conversation = _conversation(request)
    return json_response({"url": summary_url(conversation.id)})


@routes.get(ONE + "/callscore")
async def get_call_score(request: web.Request) -> web.Response:
    """The call score, when it was requested at submission."""
    conversation = _call_scored(request)
    return json_response(call_score(conversation.analysis()))


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
    conversation: StoredConversation, vocabulary: str, existing: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Topics for custom vocabulary words that occur but were not found on their own."""
    with protocol_errors_as_400():
        words = wire.check_topic_vocabulary(vocabulary, lenient=True)
    known = {topic["text"].lower() for topic in existing}
    messages = conversation.analysis().messages
    extra = []
    for word in words:
        if not isinstance(word, str) or word.lower() in known:
            continue
        ids = [message["id"] for message in messages if word.lower() in message["text"].lower()]
        if ids:
            topic_id = insights.IdFactory(f"{conversation.id}:topic:{word}").numeric()
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
