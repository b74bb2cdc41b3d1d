"""Helpers for tests that start child processes or wait for threads."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import requests

import symbl
from symbl.emulator import Emulator, fingerprint
from symbl.emulator.media import probe, write_mp4, write_wav

PYTHON = sys.executable
DATA = Path(symbl.__file__).parent / "data"
#: The sample meeting shipped with the package, as a Text API payload.
MEETING = json.loads((DATA / "meeting.json").read_text(encoding="utf-8"))
#: A short transcript for generated recordings.
TRANSCRIPT = {
    "transcript": [
        {
            "speaker": {"name": "Ann", "userId": "ann@example.com"},
            "text": "Can you send the report by Friday?",
            "start": 0.2,
            "end": 1.2,
        },
        {
            "speaker": {"name": "Bob", "userId": "bob@example.com"},
            "text": "Yes, I will send it tomorrow.",
            "start": 1.5,
            "end": 2.6,
        },
    ]
}


#: A short call for the live APIs: a request (a question and an action item), then an answer.
LIVE_SCRIPT = [
    {
        "speaker": {"name": "Ann", "userId": "ann@example.com"},
        "text": "Can you send me the quote by Friday?",
        "start": 0.0,
        "end": 2.0,
    },
    {
        "speaker": {"name": "Bob", "userId": "bob@example.com"},
        "text": "Yes, I will send it tomorrow.",
        "start": 2.5,
        "end": 4.0,
    },
]


def sample_transcript() -> list[dict]:
    """The words of the bundled sample recording, with their real timings."""
    with (DATA / "meeting.wav").open("rb") as handle:
        return [line.to_json() for line in probe(handle).transcript or ()]


def make_wav(
    path: Path, seconds: float = 3.0, transcript: dict | None = TRANSCRIPT, rate: int = 16000
) -> Path:
    """A WAV file with tone bursts where the transcript says people speak."""
    samples = np.zeros(int(seconds * rate), dtype=np.float32)
    for line in (transcript or {}).get("transcript", []):
        start, end = int(line["start"] * rate), int(min(line["end"], seconds) * rate)
        times = np.arange(end - start) / rate
        samples[start:end] = 0.3 * np.sin(2 * np.pi * 220 * times)
    write_wav(path, samples, rate, transcript)
    return path


def make_mp4(path: Path, seconds: float = 3.0, transcript: dict | None = TRANSCRIPT) -> Path:
    """A minimal MP4 file carrying a transcript."""
    write_mp4(path, seconds, transcript)
    return path


def subprocess_env(emu: Emulator, **extra: str) -> dict[str, str]:
    """Environment for a child Python process talking to ``emu`` (and nothing else)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SYMBL_")}
    env.update(emu.environ())
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def admin_http(emu: Emulator) -> requests.Session:
    """An HTTP session that sends ``emu``'s admin token, for its admin API."""
    session = requests.Session()
    session.headers.update(emu.admin_headers)
    return session


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval)


def sdk_threads() -> list[threading.Thread]:
    """Live threads other than the main thread and the session emulator's."""
    return [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not thread.name.startswith("symbl-emulator")
    ]


class Child:
    """A script running as a child process, its output collected as it comes."""

    def __init__(self, script: Path, env: dict[str, str]) -> None:
        self.script = script
        self.process = subprocess.Popen(
            [PYTHON, str(script)],
            cwd=script.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        self.stderr = ""

    def _read(self, stream: Any) -> None:
        for line in stream:
            self._lines.put(line)

    def wait_for_line(self, text: str, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.05)
            except queue.Empty:
                if self.process.poll() is not None and self._lines.empty():
                    return False
                continue
            self.stdout.append(line)
            if text in line:
                return True
        return False

    def signal(self, signum: int) -> float:
        """Send ``signum``; return the seconds the process took to exit."""
        started = time.monotonic()
        os.kill(self.process.pid, signum)
        try:
            self.process.wait(10)
        finally:
            elapsed = time.monotonic() - started
            self.kill()
        return elapsed

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if self.process.stderr is not None and not self.process.stderr.closed:
            self.stderr = self.process.stderr.read()
            self.process.stderr.close()
        time.sleep(0.05)  # the reader thread drains what is left of stdout
        while not self._lines.empty():
            self.stdout.append(self._lines.get())


# What the old official client sends to start a call (PROTOCOL.md §10.4): "actions" as an empty
# object, "dtmf" null, "pushSpeakerEvents" always true, "sampleSize" as a string.
OLD_CLIENT_PSTN = {
    "operation": "start",
    "endpoint": {"type": "pstn", "phoneNumber": "+11234567890", "dtmf": None},
    "actions": {},
    "data": {},
    "pushSpeakerEvents": True,
}
OLD_CLIENT_SIP = {
    "operation": "start",
    "endpoint": {
        "type": "sip",
        "uri": "sip:8002@sip.example.com",
        "audioConfig": {"sampleRate": 16000, "sampleSize": "16"},
    },
    "actions": {},
    "data": {},
}
# ... and to start a stream (PROTOCOL.md §10.5): null speaker and trackers, 44.1 kHz.
OLD_CLIENT_START = {
    "type": "start_request",
    "insightTypes": [],
    "speaker": None,
    "trackers": None,
    "config": {
        "confidenceThreshold": 0.5,
        "languageCode": "en-US",
        "speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 44100},
    },
}


#: Each refusal status and the exception both clients raise for it.
STATUS_ERRORS = [
    (400, symbl.BadRequestError),
    (401, symbl.AuthenticationError),
    (403, symbl.PermissionDeniedError),
    (404, symbl.NotFoundError),
    (409, symbl.APIStatusError),
    (429, symbl.RateLimitError),
    (500, symbl.InternalServerError),
    (502, symbl.InternalServerError),
    (503, symbl.InternalServerError),
]


#: Options of every kind, and the query string they make (PROTOCOL.md §2).
OPTIONS = {
    "name": "Business Meeting",
    "confidenceThreshold": 0.6,
    "detect_entities": True,
    "languageCode": "en-US",
    "customVocabulary": ["Platform", "Discussion"],
    "trackers": [{"name": "Pricing", "vocabulary": ["price", "discount"]}],
}
OPTIONS_QUERY = (
    "name=Business%20Meeting&confidenceThreshold=0.6&detectEntities=true&languageCode=en-US"
    "&customVocabulary=%5B%22Platform%22%2C%22Discussion%22%5D"
    "&trackers=%5B%7B%22name%22%3A%22Pricing%22%2C%22vocabulary%22%3A%5B%22price%22%2C%22discount%22%5D%7D%5D"
)


def assert_log_redacted(records: list[Any], emu: Any, path: str, token: str) -> None:
    """The DEBUG log of a GET of ``path`` (with ``access_token=leaky``) that got a 503, then a
    404: the attempts are there, a secret-looking query value is hidden, and no secret of the
    SDK's own is anywhere, not even in urllib3's or aiohttp's records (it never goes in a URL).
    """
    ours = "\n".join(record.getMessage() for record in records if record.name == "symbl")
    everything = "\n".join(record.getMessage() for record in records)
    assert f"GET {emu.base_url}{path}?access_token=***&verbose=true -> 404 in " in ours
    assert "-> 503" in ours
    assert "retry 1" in ours
    assert "leaky" not in ours
    for secret in (emu.app_secret, token):
        assert secret not in everything


# -- assertions both clients' tests share --------------------------------------------------------


def assert_token_request(emu: Emulator) -> Any:
    """The one token request the emulator got is exactly as documented; returns it."""
    (generate,) = emu.requests("/oauth2/token:generate")
    assert generate.method == "POST"
    assert generate.json == {
        "type": "application",
        "appId": emu.app_id,
        "appSecret": fingerprint(emu.app_secret),  # the request log keeps no secret
    }
    assert generate.headers["content-type"] == "application/json"
    assert generate.headers["accept"] == "application/json"
    assert "x-api-key" not in generate.headers
    assert "authorization" not in generate.headers
    assert generate.query_string == ""
    return generate


def assert_text_body(entry: Any, trackers: list[dict[str, Any]]) -> None:
    """A text job whose parameters were merged into its JSON body, as §2.4 says."""
    assert entry.method == "POST"
    assert entry.query_string == ""
    assert entry.headers["content-type"] == "application/json"
    expected = {
        "name": MEETING["name"],
        "trackers": trackers,
        "detectEntities": True,
        "messages": MEETING["messages"],
    }
    assert entry.json == expected
    assert entry.body == json.dumps(expected).encode()


#: The formatted-transcript options both clients' tests send, as the caller writes them.
TRANSCRIPT_OPTIONS = {
    "createParagraphs": "true",
    "showSpeakerSeparation": True,
    "phrases": {"highlightOnlyInsightKeyPhrases": True},
}


def assert_markdown_transcript(entry: Any, markdown: Any) -> None:
    """The request for :data:`TRANSCRIPT_OPTIONS` and its Markdown answer."""
    assert (entry.method, entry.path[-11:]) == ("POST", "/transcript")
    assert entry.json == {
        "createParagraphs": True,
        "showSpeakerSeparation": True,
        "phrases": {"highlightOnlyInsightKeyPhrases": True},
        "contentType": "text/markdown",
    }
    assert markdown.transcript.content_type == "text/markdown"
    assert "Natalia:" in markdown.transcript.payload


def assert_no_secret(client: Any, caught: BaseException, emu: Emulator, token: str) -> None:
    """Neither the app secret nor the token shows in what a client and its errors print."""
    exposed = [
        repr(client),
        str(client),
        repr(client.credentials),
        str(caught),
        repr(caught),
        repr(client._tokens),
    ]
    for text in exposed:
        assert emu.app_secret not in text
        assert token not in text


def assert_resumed_elsewhere(script: str, conversation: Any, emu: Emulator) -> None:
    """``script``, run in a child process with a conversation's ids as arguments, follows its
    job to the end and prints the status and the number of messages the conversation has."""
    result = subprocess.run(
        [PYTHON, "-c", script, conversation.get_conversation_id(), conversation.get_job_id()],
        env=subprocess_env(emu),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    count = len(conversation.wait(5).get_messages().messages)
    assert count >= len(MEETING["messages"])
    assert result.stdout.split() == ["completed", str(count)]
