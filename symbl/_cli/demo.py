"""``symbl demo``: the main job end to end, offline on the embedded emulator by default.

It submits the bundled sample meeting as text and as a recording, shows progress while the
jobs run, prints the transcript and insights as tables, then streams the recording through
the Streaming API printing the live transcript. ``--live`` does the same against the real
service with your credentials.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from symbl._client import Client
from symbl._resources.conversations import Conversation
from symbl.errors import ConfigurationError

from . import views as _views
from .terminal import Spinner, UploadBar

DATA = Path(__file__).parents[1] / "data"
MEETING_TEXT = DATA / "meeting.json"
MEETING_AUDIO = DATA / "meeting.wav"
#: Offline the sample streams four times faster than real time, so the demo stays short.
EMULATOR_STREAM_SPEED = 4.0
SECTIONS = (
    ("Transcript of the recording", "recording", "messages"),
    ("Questions", "text", "questions"),
    ("Action items", "text", "action-items"),
    ("Follow-ups", "text", "follow-ups"),
    ("Topics", "text", "topics"),
    ("Analytics of the recording", "recording", "analytics"),
)


def run(live: bool, as_json: bool) -> int:
    """Run the demo; returns the exit code."""
    if live:
        return _tour(Client(), 1.0, as_json)
    try:
        from symbl.emulator import Emulator
        from symbl.emulator.media import probe
    except ImportError as exc:
        raise ConfigurationError(
            f"the offline demo needs the emulator: pip install 'symbl[emulator]' ({exc})"
        ) from exc
    with Emulator(job_queue_seconds=0.3, job_processing_seconds=1.2) as emulator:
        with MEETING_AUDIO.open("rb") as recording:
            lines = probe(recording).transcript or ()
        emulator.set_live_transcript([line.to_json() for line in lines])
        _say(
            f"Symbl emulator running at {emulator.base_url} (no account, no network needed)",
            as_json,
        )
        client = Client(emulator.credentials, base_url=emulator.base_url, poll_interval=0.2)
        return _tour(client, EMULATOR_STREAM_SPEED, as_json)


def _tour(client: Client, stream_speed: float, as_json: bool) -> int:
    payload = json.loads(MEETING_TEXT.read_text(encoding="utf-8"))
    _say("\n1. Submitting the sample meeting as text", as_json)
    text = client.Text.process(payload=payload, wait=False, parameters={"detectEntities": True})
    _wait(text, "text job")
    _say("\n2. Uploading the sample recording", as_json)
    recording = client.Audio.process_file(MEETING_AUDIO, wait=False, progress=UploadBar("upload"))
    _wait(recording, "audio job")
    conversations = {"text": text, "recording": recording}
    results: dict[str, Any] = {}
    for title, which, view in SECTIONS:
        answer = _views.fetch(conversations[which], view)
        results[f"{which} {view}"] = answer
        _say(f"\n== {title}\n{_views.render(view, answer)}", as_json)
    _say("\n3. Streaming the recording live", as_json)
    printer = _views.LivePrinter(as_json=False, stream=sys.stderr if as_json else sys.stdout)
    with client.Streaming.start_connection(insight_types=["question", "action_item"]) as stream:
        stream.subscribe(printer.streaming_callbacks())
        stream.send_audio_from_file(MEETING_AUDIO, realtime=True, speed=stream_speed)
    streamed = stream.conversation
    assert streamed is not None  # set when the connection opened
    results["stream messages"] = streamed.get_messages()
    _say(
        f"\nThe streamed conversation {streamed.get_conversation_id()} has "
        f"{len(results['stream messages'].messages)} messages; summary: {stream.summary_url}",
        as_json,
    )
    if as_json:
        print(json.dumps(results, indent=2))
    return 0


def _wait(conversation: Conversation, label: str) -> None:
    with Spinner(
        lambda: f"{label} {conversation.get_job_id()}: {conversation.status or 'submitted'}"
    ):
        conversation.wait()
    print(f"{label} {conversation.get_job_id()}: {conversation.status}", file=sys.stderr)


def _say(text: str, as_json: bool) -> None:
    print(text, file=sys.stderr if as_json else sys.stdout, flush=True)
