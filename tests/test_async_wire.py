"""``symbl.Client`` and ``symbl.AsyncClient`` put the same bytes on the wire: one scenario run
through each, against the emulator, gives the same request log."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import symbl
from symbl._transport.http import reset_shared_clients
from symbl.emulator import Emulator

from helpers import MEETING, make_mp4, make_wav

OPTIONS = {
    "name": "Weekly sync",
    "confidenceThreshold": 0.6,
    "detect_entities": True,
    "customVocabulary": ["Platform"],
}
URL = "https://media.example.com/call.wav"
# What must be equal; the user agent names the HTTP library and legitimately differs.
HEADERS = ("content-type", "content-length", "transfer-encoding", "accept", "x-api-key")
# Ids the service makes up: equal in shape, not in value.
_IDS = re.compile(r"\b\d{16}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
GETTERS = (
    "get_conversation",
    "get_messages",
    "get_topics",
    "get_questions",
    "get_action_items",
    "get_follow_ups",
    "get_insights",
    "get_members",
    "get_entities",
    "get_trackers",
    "get_analytics",
    "get_summary",
    "get_formatted_transcript",
)


def sync_scenario(client: symbl.Client, wav: Path, mp4: Path) -> None:
    text = client.Text.process(payload={"messages": MEETING["messages"][:4], "name": "Chat"})
    client.Text.append(
        payload={"messages": MEETING["messages"][4:6]}, conversation_id=text.get_conversation_id()
    )
    audio = client.Audio.process_file(file_path=str(wav), parameters=OPTIONS)
    client.Audio.append_file(str(wav), audio.get_conversation_id(), wait=True)
    client.Video.process_file(file_path=str(mp4), content_type="video/mp4")
    client.Audio.process_url(
        payload={"url": URL, "name": "call"},
        parameters={"enableSpeakerDiarization": True, "diarizationSpeakerCount": 2},
    )
    conversation_id = text.get_conversation_id()
    for getter in GETTERS:
        getattr(client.Conversations, getter)(conversation_id)
    client.Conversations.get_messages(
        conversation_id, parameters={"verbose": True, "sentiment": True}
    )
    client.Conversations.get_topics(conversation_id, parameters={"parentRefs": True})
    members = client.Conversations.get_members(conversation_id)["members"]
    client.Conversations.put_members(
        conversation_id, members[0]["id"], parameters={"name": "Ann", "email": "ann@example.com"}
    )
    text.get_messages({"sentiment": True})
    client.Conversations.delete_conversation(audio.get_conversation_id())


async def async_scenario(client: symbl.AsyncClient, wav: Path, mp4: Path) -> None:
    text = await client.Text.process(payload={"messages": MEETING["messages"][:4], "name": "Chat"})
    await client.Text.append(
        payload={"messages": MEETING["messages"][4:6]}, conversation_id=text.get_conversation_id()
    )
    audio = await client.Audio.process_file(file_path=str(wav), parameters=OPTIONS)
    await client.Audio.append_file(str(wav), audio.get_conversation_id(), wait=True)
    await client.Video.process_file(file_path=str(mp4), content_type="video/mp4")
    await client.Audio.process_url(
        payload={"url": URL, "name": "call"},
        parameters={"enableSpeakerDiarization": True, "diarizationSpeakerCount": 2},
    )
    conversation_id = text.get_conversation_id()
    for getter in GETTERS:
        await getattr(client.Conversations, getter)(conversation_id)
    await client.Conversations.get_messages(
        conversation_id, parameters={"verbose": True, "sentiment": True}
    )
    await client.Conversations.get_topics(conversation_id, parameters={"parentRefs": True})
    members = (await client.Conversations.get_members(conversation_id))["members"]
    await client.Conversations.put_members(
        conversation_id, members[0]["id"], parameters={"name": "Ann", "email": "ann@example.com"}
    )
    await text.get_messages({"sentiment": True})
    await client.Conversations.delete_conversation(audio.get_conversation_id())


def wire_log(emu: Emulator) -> list[dict[str, Any]]:
    """The request log without job polls (their number depends on timing), ids replaced by
    the order they first appeared in."""
    seen: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        return seen.setdefault(match.group(0), f"<id{len(seen)}>")

    log = []
    for entry in emu.requests():
        if entry.path.startswith("/v1/job/"):
            continue
        log.append(
            {
                "method": entry.method,
                "path": _IDS.sub(placeholder, entry.path),
                "query": entry.query_string,
                "headers": {name: entry.headers.get(name) for name in HEADERS},
                "body": _IDS.sub(placeholder, entry.body.decode("latin-1")),
            }
        )
    return log


def test_the_async_client_sends_what_the_sync_client_sends(emu: Emulator, tmp_path: Path) -> None:
    wav = make_wav(tmp_path / "call.wav")
    mp4 = make_mp4(tmp_path / "call.mp4")
    reset_shared_clients()
    emu.register_media(url=URL, transcript=[{"text": "Hello there.", "start": 0, "end": 1}])
    with symbl.Client(emu.credentials, base_url=emu.base_url) as client:
        sync_scenario(client, wav, mp4)
    sync_log = wire_log(emu)
    polls = len(emu.requests("/v1/job/"))

    emu.reset()
    reset_shared_clients()  # the emulator forgot the token: so does the SDK
    emu.register_media(url=URL, transcript=[{"text": "Hello there.", "start": 0, "end": 1}])

    async def run() -> None:
        async with symbl.AsyncClient(emu.credentials, base_url=emu.base_url) as client:
            await async_scenario(client, wav, mp4)

    asyncio.run(run())
    async_log = wire_log(emu)

    assert polls and emu.requests("/v1/job/"), "both clients poll their jobs"
    assert len(sync_log) > 25
    for index, (sent_sync, sent_async) in enumerate(zip(sync_log, async_log)):
        # Tokens are equal in shape: each run generated its own after the reset.
        for sent in (sent_sync, sent_async):
            sent["headers"]["x-api-key"] = bool(sent["headers"]["x-api-key"])
        assert sent_async == sent_sync, f"request {index} differs"
    assert len(async_log) == len(sync_log)
