"""The drift guard: the SDK and the emulator agree on the wire (DESIGN.md §3, §7).

The protocol is stated once in ``symbl._protocol``; the SDK checks what it builds with
``lenient=False`` and the emulator checks what it receives with ``lenient=True``. One corpus,
five tables, each extended by adding a row:

- ``SDK_CALLS``: valid calls through the public SDK. Each succeeds against the emulator over
  loopback, every request it made was accepted, and every body it sent passes both checkers.
- ``INVALID``: wire bodies the emulator refuses (400, or an error frame on a websocket). Both
  checkers refuse each one naming the same field, and the emulator's message names it too.
- ``SDK_REFUSALS``: invalid arguments to the public SDK: refused before anything is sent.
- ``LENIENT``: the old official client's forms. The emulator accepts each; the row says whether
  the strict side refuses it, and with which field.
- ``NOT_JSON``: values JSON cannot carry (NaN, infinities, integers past 2**64). Both checkers
  refuse each, naming the field; the emulator refuses the body Python writes for it.

Over ``INVALID`` and ``LENIENT`` together: strict accepts => lenient accepts, and lenient
rejects => strict rejects with the same field. Give each row one fault: with several, the sides
may name different ones first. Options neither side knows are accepted by both (PROTOCOL.md
§11.8): rows of them are in ``LENIENT``, with no strict field.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple

import pytest
import requests
import websocket
from websocket import WebSocket, create_connection

import symbl
from symbl._protocol import frames, streaming, telephony
from symbl._protocol.errors import ProtocolError
from symbl._protocol.jobs import check_messages
from symbl._protocol.options import (
    MEDIA_OPTIONS,
    TEXT_OPTIONS,
    URL_OPTIONS,
    URL_QUERY_OPTIONS,
    check_url,
    normalize,
    to_query,
)
from symbl.emulator import Emulator, RecordedRequest

from helpers import MEETING, OLD_CLIENT_PSTN, OLD_CLIENT_SIP, OLD_CLIENT_START, make_mp4, make_wav

CONNECT = telephony.CONNECT_PATH
PHONE = "+14155550100"
MEDIA_URL = "https://example.com/drift-guard.wav"
WEBHOOK = "http://127.0.0.1:9/job-status"  # the discard port: delivery fails at once, quietly
PSTN = {"type": "pstn", "phoneNumber": PHONE}
SIP = {"type": "sip", "uri": "sip:8002@sip.example.com"}
EMAIL_ACTION = {
    "invokeOn": "stop",
    "name": "sendSummaryEmail",
    "parameters": {"emails": ["john@example.com"]},
}
USER = {"userId": "ann@example.com", "name": "Ann"}
SPEAKER_EVENT = {
    "topic": "speaker",
    "type": "started_speaking",
    "user": USER,
    "timestamp": "2020-07-21T16:02:19.01Z",
}
START_REQUEST = {
    "type": "start_request",
    "insightTypes": ["question"],
    "config": {
        "confidenceThreshold": 0.5,
        "languageCode": "en-US",
        "speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 16000},
    },
}
MESSAGE = {
    "payload": {"content": "Can we meet on Friday?"},
    "from": {"name": "Ann", "userId": "ann@example.com"},
    "duration": {"startTime": "2020-07-21T16:02:19.01Z", "endTime": "2020-07-21T16:02:21.01Z"},
}
TRACKERS = [{"name": "Pricing", "vocabulary": ["price", "discount"]}]
ENTITIES = [{"customType": "Product", "text": "Platform"}]
CHANNELS = [
    {"channel": 1, "speaker": {"name": "Ann", "userId": "ann@example.com"}},
    {"channel": 2, "speaker": {"name": "Bob", "userId": "bob@example.com"}},
]
#: Stands for a live call's id in stop bodies; the sender swaps in a call it started.
LIVE = "a-live-connection"

# --- building rows --------------------------------------------------------------------------------


def call_start(endpoint: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A telephony start body (PSTN unless ``endpoint`` is given)."""
    return {"operation": "start", "endpoint": dict(endpoint or PSTN), **fields}


def pstn(**endpoint: Any) -> dict[str, Any]:
    return call_start({**PSTN, **endpoint})


def sip(**endpoint: Any) -> dict[str, Any]:
    return call_start({**SIP, **endpoint})


def audio_config(**config: Any) -> dict[str, Any]:
    return sip(audioConfig=config)


def call_stop(**fields: Any) -> dict[str, Any]:
    return {"operation": "stop", "connectionId": LIVE, **fields}


def action(**changes: Any) -> list[dict[str, Any]]:
    return [{**EMAIL_ACTION, **changes}]


def emails(*addresses: Any) -> list[dict[str, Any]]:
    return action(parameters={"emails": list(addresses)})


def speaker_event(**changes: Any) -> dict[str, Any]:
    return {**SPEAKER_EVENT, **changes}


def stream_start(**fields: Any) -> dict[str, Any]:
    return {**START_REQUEST, **fields}


def stream_config(**config: Any) -> dict[str, Any]:
    return stream_start(config={**START_REQUEST["config"], **config})


def recognition(**values: Any) -> dict[str, Any]:
    return stream_config(speechRecognition=values)


def modify(**values: Any) -> dict[str, Any]:
    return {"type": "modify_request", "speechRecognition": values}


def text(*messages: Any, **options: Any) -> dict[str, Any]:
    return {"messages": list(messages) if messages else [MESSAGE], **options}


def message(**changes: Any) -> dict[str, Any]:
    return {**MESSAGE, **changes}


def url_body(**options: Any) -> dict[str, Any]:
    return {"url": MEDIA_URL, **options}


RECOGNITION = "config.speechRecognition"
FULLWIDTH_PHONE = "+\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff10\uff10"
ARABIC_TIME = "٢٠٢٠-07-21T16:02:19Z"
HTML = {"content": "<p>Hi</p>", "contentType": "text/html"}
YESTERDAY = {"startTime": "yesterday"}
BACKWARDS = {"startTime": "2020-07-21T16:02:19.01Z", "endTime": "2020-07-21T16:00:00Z"}
SEPARATE_CHANNELS = {"enableSeparateRecognitionPerChannel": True}
CHANNEL_ZERO = {**SEPARATE_CHANNELS, "channelMetadata": [{"channel": 0, "speaker": {"name": "A"}}]}
DIARIZATION = {"enableSpeakerDiarization": True, "diarizationSpeakerCount": 2}
URL_BODY_OPTIONS = {
    "name": "Call",
    "customVocabulary": ["Platform"],
    "confidenceThreshold": 0.6,
    "detectPhrases": True,
    "languageCode": "en-GB",
    "mode": "phone",
    **SEPARATE_CHANNELS,
    "channelMetadata": CHANNELS,
    "conversationType": "sales",
    "timezoneOffset": 0,
    "startTime": "2023-04-20T17:26:12",
}
REDACTION = {"identifyContent": True, "redactContent": True, "redactionString": "[redacted]"}


def rows(area: str, *cases: tuple[str, Any, str | None]) -> list[Any]:
    """Table rows of one area from ``(name, body, field)``: ``field`` is the path of the field
    at fault, or None where the body is accepted."""
    return [
        pytest.param(area, body, expected, id=f"{area}:{name}") for name, body, expected in cases
    ]


# --- INVALID: wire bodies the emulator refuses ----------------------------------------------------

INVALID = [
    *rows(
        "telephony.start",  # PROTOCOL.md §5.1; DTMF: 0-9, *, #, A-D and ',' only
        ("dtmf-w", pstn(dtmf="1w2"), "endpoint.dtmf"),
        ("dtmf-W", pstn(dtmf="1W2"), "endpoint.dtmf"),
        ("dtmf-lowercase-abcd", pstn(dtmf="1abcd"), "endpoint.dtmf"),
        ("dtmf-lowercase-d", pstn(dtmf="#d"), "endpoint.dtmf"),
        ("dtmf-number", pstn(dtmf=123), "endpoint.dtmf"),
        ("phone-too-short", pstn(phoneNumber="+1234"), "endpoint.phoneNumber"),
        ("phone-words", pstn(phoneNumber="call me"), "endpoint.phoneNumber"),
        ("phone-arabic-digits", pstn(phoneNumber="+١٤١٥٥٥٥٠١٠٠"), "endpoint.phoneNumber"),
        ("phone-fullwidth-digits", pstn(phoneNumber=FULLWIDTH_PHONE), "endpoint.phoneNumber"),
        ("pstn-uri", pstn(uri="sip:1@example.com"), "endpoint.uri"),
        ("endpoint-type", call_start({"type": "webrtc"}), "endpoint"),
        ("endpoint-missing", {"operation": "start"}, "endpoint"),
        ("endpoint-type-list", call_start({"type": ["pstn"]}), "endpoint"),
        ("unknown-field", call_start(callMe=True), "callMe"),
        ("actions-object", call_start(actions={"a": 1}), "actions"),
        ("actions-string", call_start(actions="email"), "actions"),
        ("action-string", call_start(actions=["email"]), "actions[0]"),
        ("invoke-on", call_start(actions=action(invokeOn="later")), "actions[0].invokeOn"),
        ("action-name", call_start(actions=action(name="sendSMS")), "actions[0].name"),
        ("action-unknown", call_start(actions=action(when="now")), "actions[0].when"),
        ("email", call_start(actions=emails("nobody")), "actions[0].parameters.emails"),
        ("no-emails", call_start(actions=emails()), "actions[0].parameters.emails"),
        ("data-string", call_start(data="session"), "data"),
        ("data-session", call_start(data={"session": "x"}), "data.session"),
        ("session-name", call_start(data={"session": {"name": 5}}), "data.session.name"),
        ("languages-string", call_start(languages="en-US"), "languages"),
        ("language-unknown", call_start(languages=["xx-XX"]), "languages[0]"),
        ("language-list", call_start(languages=[["en-US"]]), "languages[0]"),
        ("timezone-empty", call_start(timezone=""), "timezone"),
        ("push-speaker-events", call_start(pushSpeakerEvents="yes"), "pushSpeakerEvents"),
        ("sip-uri-http", sip(uri="http://example.com"), "endpoint.uri"),
        ("sip-uri-tel", sip(uri="tel:8002"), "endpoint.uri"),
        ("sip-provider", sip(providerName=5), "endpoint.providerName"),
        ("sip-dtmf", sip(dtmf="1"), "endpoint.dtmf"),
        ("audio-config-string", sip(audioConfig="OPUS"), "endpoint.audioConfig"),
        ("sample-rate", audio_config(sampleRate=0), "endpoint.audioConfig.sampleRate"),
        ("sample-size", audio_config(sampleSize="16 bit"), "endpoint.audioConfig.sampleSize"),
        ("encoding", audio_config(encoding=5), "endpoint.audioConfig.encoding"),
        ("audio-config-unknown", audio_config(channels=2), "endpoint.audioConfig.channels"),
    ),
    *rows(
        "telephony.stop",  # §5.2: checked before the connection is looked up
        ("no-connection-id", {"operation": "stop"}, "connectionId"),
        ("empty-connection-id", call_stop(connectionId=""), "connectionId"),
        # The rule of every id in a path (§5.4 puts it in the sockets' paths).
        ("connection-id-dots", call_stop(connectionId=".."), "connectionId"),
        ("connection-id-slash", call_stop(connectionId="a/b"), "connectionId"),
        ("connection-id-space", call_stop(connectionId="a b"), "connectionId"),
        ("connection-id-number", call_stop(connectionId=5), "connectionId"),
        ("unknown-field", call_stop(reason="done"), "reason"),
        ("actions-string", call_stop(actions="email"), "actions"),
        ("email", call_stop(actions=emails("x")), "actions[0].parameters.emails"),
        ("data-session", call_stop(data={"session": []}), "data.session"),
    ),
    *rows(
        "telephony.event_url",  # §5.3, posted to the eventUrl
        ("topic", speaker_event(topic="spkr"), "topic"),
        ("type", speaker_event(type="sneezed"), "type"),
        ("js-end-marker", {"topic": "speaker", "type": "stopped"}, "type"),
        ("no-user", speaker_event(user=None), "user"),
        ("user-without-name", speaker_event(user={"userId": "a"}), "user"),
        ("timestamp-words", speaker_event(timestamp="yesterday"), "timestamp"),
        ("timestamp-no-zone", speaker_event(timestamp="2020-07-21T16:02:19"), "timestamp"),
        ("timestamp-arabic-digits", speaker_event(timestamp=ARABIC_TIME), "timestamp"),
        ("timestamp-newline", speaker_event(timestamp="2020-07-21T16:02:19Z\n"), "timestamp"),
        ("unknown-field", speaker_event(room="A"), "room"),
    ),
    *rows(
        "telephony.event_socket",  # §5.3, sent on the resultWebSocketUrl
        ("type", speaker_event(type="sneezed"), "type"),
        ("no-user", {"topic": "speaker", "type": "joined"}, "user"),
        ("timestamp-number", speaker_event(timestamp=5), "timestamp"),
    ),
    *rows(
        "streaming.start",  # §6.2: an error frame, then close 1008
        ("insight-type", stream_start(insightTypes=["summary"]), "insightTypes"),
        ("insight-types-string", stream_start(insightTypes="question"), "insightTypes"),
        ("config-string", stream_start(config="en-US"), "config"),
        ("confidence", stream_config(confidenceThreshold=1.5), "config.confidenceThreshold"),
        ("confidence-bool", stream_config(confidenceThreshold=True), "config.confidenceThreshold"),
        ("language-number", stream_config(languageCode=5), "config.languageCode"),
        ("meeting-title", stream_config(meetingTitle=5), "config.meetingTitle"),
        ("sentiment", stream_config(sentiment="yes"), "config.sentiment"),
        ("timezone-offset", stream_config(timezoneOffset="UTC"), "config.timezoneOffset"),
        ("timezone-offset-east", stream_config(timezoneOffset=841), "config.timezoneOffset"),
        ("timezone-offset-fraction", stream_config(timezoneOffset=1.5), "config.timezoneOffset"),
        ("detect-entities", stream_config(detectEntities="yes"), "config.detectEntities"),
        ("redaction-bool", stream_config(redaction=True), "config.redaction"),
        (
            "redaction-flag",
            stream_config(redaction={"redactContent": "yes"}),
            "config.redaction.redactContent",
        ),
        (
            "redaction-string",
            stream_config(redaction={"redactionString": 5}),
            "config.redaction.redactionString",
        ),
        (
            "config-trackers",
            stream_config(trackers={"interimResults": "true"}),
            "config.trackers.interimResults",
        ),
        ("all-trackers", stream_start(enableAllTrackers="yes"), "enableAllTrackers"),
        ("recognition", stream_config(speechRecognition="LINEAR16"), "config.speechRecognition"),
        ("encoding", recognition(encoding="MP3"), "config.speechRecognition.encoding"),
        ("rate-string", recognition(sampleRateHertz="16000"), f"{RECOGNITION}.sampleRateHertz"),
        ("rate-float", recognition(sampleRateHertz=16000.0), f"{RECOGNITION}.sampleRateHertz"),
        ("rate-too-high", recognition(sampleRateHertz=96000), f"{RECOGNITION}.sampleRateHertz"),
        ("speaker-string", stream_start(speaker="Jane"), "speaker"),
        ("speaker-user-id", stream_start(speaker={"userId": 5}), "speaker.userId"),
        ("trackers-object", stream_start(trackers=TRACKERS[0]), "trackers"),
        ("tracker-vocabulary", stream_start(trackers=[{"name": "x"}]), "trackers[0]"),
        ("custom-vocabulary", stream_start(customVocabulary="Platform"), "customVocabulary"),
        ("disconnect", stream_start(disconnectOnStopRequest="no"), "disconnectOnStopRequest"),
        ("no-connection-timeout", stream_start(noConnectionTimeout=3600), "noConnectionTimeout"),
    ),
    *rows(
        "streaming.modify",  # §6.2: an error frame; the socket stays open
        ("no-recognition", {"type": "modify_request"}, "speechRecognition"),
        ("encoding", modify(encoding="MP3"), "speechRecognition.encoding"),
        ("rate", modify(sampleRateHertz=4000), "speechRecognition.sampleRateHertz"),
    ),
    *rows(
        "streaming.stop",  # the stop_request text frame
        ("not-json", "stop", ""),
        ("no-type", '{"kind": "stop_request"}', "type"),
        ("not-an-object", '["stop_request"]', "type"),
    ),
    *rows(
        "jobs.text",  # §2.4: messages, then options, in the body
        ("no-messages", {"name": "Chat"}, "messages"),
        ("messages-empty", {"messages": []}, "messages"),
        ("message-string", text("hi"), "messages[0]"),
        ("message-unknown", text(message(to="Bob")), "messages[0]"),
        ("content-blank", text(message(payload={"content": " "})), "messages[0].payload"),
        ("content-type", text(message(payload=HTML)), "messages[0].payload.contentType"),
        ("from", text(message(**{"from": {"name": 5}})), "messages[0].from"),
        ("start-time", text(message(duration=YESTERDAY)), "messages[0].duration.startTime"),
        ("ends-before-start", text(message(duration=BACKWARDS)), "messages[0].duration"),
        ("conversation-type", text(conversationType="support"), "conversationType"),
        ("timezone-offset", text(timezoneOffset=-721), "timezoneOffset"),
        ("start-time", text(startTime="20 April"), "startTime"),
        ("sales-stage", text(metadata={"salesStage": "Demo"}), "metadata.salesStage"),
        ("confidence", text(confidenceThreshold=0.2), "confidenceThreshold"),
        ("detect-phrases", text(detectPhrases="yes"), "detectPhrases"),
        ("tracker", text(trackers=[{"name": "x"}]), "trackers[0]"),
        ("vocabulary", text(trackers=[{"name": "x", "vocabulary": []}]), "trackers[0].vocabulary"),
        ("entity", text(entities=[{"customType": "x"}]), "entities[0]"),
        ("features", text(features={"featureList": []}), "features.featureList"),
        ("webhook", text(webhookUrl="ftp://example.com"), "webhookUrl"),
        ("metadata", text(metadata="x"), "metadata"),
    ),
    *rows(
        "jobs.url",  # §2.2: the url and options in the body
        ("no-url", {"name": "Call"}, "url"),
        ("url-not-http", url_body(url="file:///etc/passwd"), "url"),
        ("mode", url_body(mode="radio"), "mode"),
        ("language", url_body(languageCode="xx-XX"), "languageCode"),
        ("language-list", url_body(languageCode=["en-US"]), "languageCode"),
        ("custom-vocabulary", url_body(customVocabulary="Platform"), "customVocabulary"),
        ("channels-alone", url_body(channelMetadata=CHANNELS), "channelMetadata"),
        ("channel-zero", url_body(**CHANNEL_ZERO), "channelMetadata[0].channel"),
        ("speaker-count", url_body(diarizationSpeakerCount=0), "diarizationSpeakerCount"),
        ("start-time-month", url_body(startTime="2023-13-20T17:26:12"), "startTime"),
    ),
    *rows(
        "jobs.url_query",  # the two URL options that travel in the query string
        ("diarization", {"enableSpeakerDiarization": "maybe"}, "enableSpeakerDiarization"),
        ("speaker-count", {"diarizationSpeakerCount": 0}, "diarizationSpeakerCount"),
    ),
    *rows(
        "jobs.file_query",  # a file upload's options, in the query string
        ("confidence", {"confidenceThreshold": 2}, "confidenceThreshold"),
        ("mode", {"mode": "radio"}, "mode"),
        ("summary", {"enableSummary": "maybe"}, "enableSummary"),
        ("tracker", {"trackers": [{"name": "x"}]}, "trackers[0]"),
        ("timezone-offset", {"timezoneOffset": "+900"}, "timezoneOffset"),
        ("conversation-type", {"conversationType": "Sales"}, "conversationType"),
        # Whole numbers in ASCII digits only (int("٣") is 3, int("²") an error).
        ("speaker-count-arabic-digit", {"diarizationSpeakerCount": "٣"}, "diarizationSpeakerCount"),
        ("speaker-count-superscript", {"diarizationSpeakerCount": "²"}, "diarizationSpeakerCount"),
    ),
]

# --- LENIENT: what the old client sends, and forms both sides take --------------------------------

EVERY_START_FIELD = stream_start(
    speaker=USER,
    trackers=TRACKERS,
    customVocabulary=["Platform"],
    disconnectOnStopRequest=False,
    disconnectOnStopRequestTimeout=60,
    noConnectionTimeout=30,
    enableAllTrackers=True,
)

# The field is the one the strict side refuses; None where it accepts the form too.
LENIENT = [
    *rows(
        "telephony.start",
        ("old-client-pstn", OLD_CLIENT_PSTN, "endpoint.dtmf"),
        ("old-client-sip", OLD_CLIENT_SIP, "actions"),
        ("actions-empty-object", call_start(actions={}), "actions"),
        ("dtmf-null", pstn(dtmf=None), "endpoint.dtmf"),
        ("languages-empty", call_start(languages=[]), "languages"),
        ("language-objects", call_start(languages=[{"code": "en-US"}]), "languages[0]"),
        ("actions-null", call_start(actions=None), None),
        ("data-empty", call_start(data={}), None),
        ("sample-size-string", audio_config(sampleSize="16"), None),
        ("dtmf-every-symbol", pstn(dtmf=",,0123456789*#ABCD"), None),
    ),
    *rows(
        "telephony.stop",
        ("actions-empty-object", call_stop(actions={}, data={}), "actions"),
        ("bare", call_stop(), None),
    ),
    *rows(
        "telephony.event_socket",
        ("js-end-marker", {"topic": "speaker", "type": "stopped"}, "type"),
        ("no-timestamp", speaker_event(timestamp=None), None),
    ),
    *rows("telephony.event_url", ("no-timestamp", speaker_event(timestamp=None), None)),
    *rows(
        "streaming.start",
        ("old-client", OLD_CLIENT_START, "speaker"),
        ("speaker-null", stream_start(speaker=None), "speaker"),
        ("trackers-null", stream_start(trackers=None), "trackers"),
        ("insight-types-null", stream_start(insightTypes=None), "insightTypes"),
        ("config-null", stream_start(config=None), "config"),
        ("encoding-lower-case", recognition(encoding="linear16"), f"{RECOGNITION}.encoding"),
        ("encoding-upper-case", recognition(encoding="OPUS"), f"{RECOGNITION}.encoding"),
        ("recognition-unknown", recognition(channels=1), None),
        ("config-unknown", stream_config(profanityFilter=True), None),
        ("unknown-field", stream_start(futureField={"level": 2}), None),
        ("snake-case-field", stream_start(insight_types=["question"]), None),
        ("redaction", stream_config(redaction={**REDACTION, "entities": ["EMAIL"]}), None),
        ("config-trackers", stream_config(trackers={"enableAllTrackers": False}), None),
        ("language-unchecked", stream_config(languageCode="xx-XX"), "config.languageCode"),
        ("speaker-email", stream_start(speaker={**USER, "email": USER["userId"]}), None),
        ("every-field", EVERY_START_FIELD, None),
    ),
    *rows(
        "streaming.modify",
        ("encoding-lower-case", modify(encoding="flac"), "speechRecognition.encoding"),
        ("documented", modify(encoding="FLAC", sampleRateHertz=44100), None),
    ),
    *rows(
        "streaming.stop",
        ("python-repr", "{'type': 'stop_request'}", ""),
        ("json", json.dumps(streaming.stop_request()), None),
    ),
    *rows(
        "jobs.text",
        ("strings", text(detectPhrases="true", confidenceThreshold="0.7"), None),
        ("unknown-option", text(colour="red"), None),
        ("snake-case-option", text(detect_phrases="maybe"), "detectPhrases"),
        ("media-option", text(languageCode="en-US"), None),
        ("call-score", text(conversationType="general", metadata={"salesStage": "demo"}), None),
    ),
    *rows("jobs.url", ("every-body-option", url_body(**URL_BODY_OPTIONS), None)),
    *rows(
        "jobs.url_query",
        ("diarization", DIARIZATION, None),
        ("body-option", {"name": "Call"}, None),
    ),
    *rows(
        "jobs.file_query",
        ("channels", {**SEPARATE_CHANNELS, "channelMetadata": CHANNELS}, None),
        ("unknown", {"colour": "red", "future_option": [1]}, None),
        ("timezone-offset", {"timezoneOffset": "-720"}, None),
    ),
]

# --- talking to the emulator over loopback --------------------------------------------------------


class Answer(NamedTuple):
    """What the emulator did with a body: accepted it, or refused it with this message."""

    accepted: bool
    message: str


@dataclass
class Wire:
    """Raw requests and websockets to the emulator: no SDK code on this side."""

    emu: Emulator
    token: str
    wav: Path
    sockets: list[WebSocket] = field(default_factory=list)

    def post(self, path: str, body: Any = None, **options: Any) -> Answer:
        answer = requests.post(
            self.emu.base_url + path,
            headers={"x-api-key": self.token, **options.pop("headers", {})},
            json=body,
            timeout=5,
            **options,
        )
        # 500 is the emulator crashing, 404 a test that aimed wrong: neither is a verdict.
        assert answer.status_code in (200, 201, 400), (answer.status_code, answer.text)
        return Answer(answer.ok, answer.json().get("message", ""))

    def socket(self, path: str) -> WebSocket:
        url = self.emu.base_url.replace("http://", "ws://") + path
        ws = create_connection(url, header={"x-api-key": self.token}, timeout=5)
        self.sockets.append(ws)
        return ws

    def start_call(self) -> str:
        """A live call's connection id."""
        answer = requests.post(
            self.emu.base_url + CONNECT,
            json=call_start(),
            headers={"x-api-key": self.token},
            timeout=5,
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["connectionId"])

    def listening_stream(self) -> WebSocket:
        """A streaming socket whose session has started (its three lifecycle messages read)."""
        ws = self.socket(f"/v1/streaming/{uuid.uuid4()}")
        ws.send(json.dumps(START_REQUEST))
        kinds = [kind(json.loads(ws.recv())) for _ in range(3)]
        assert kinds[0] == "message/conversation_created", kinds
        return ws


def kind(frame: Mapping[str, Any]) -> str:
    """``message/<type>`` for wrapped platform messages, else the top-level type."""
    if frame.get("type") == "message":
        return "message/" + str(frame["message"]["type"])
    return str(frame.get("type"))


def error_details(frame: Mapping[str, Any]) -> str | None:
    """The details of an error frame; None for any other frame."""
    if kind(frame) != "message/error":
        return None
    return str(frame["message"].get("details", ""))


def until_pong(ws: WebSocket) -> list[dict[str, Any]]:
    """Every frame the emulator sent before answering a ping sent now (it answers in order)."""
    ws.send("__PING__")
    received = []
    while (data := ws.recv()) != "__PONG__":
        received.append(json.loads(data))
    return received


def until_close(ws: WebSocket) -> tuple[list[dict[str, Any]], int]:
    """Frames up to the server's close frame, and its close code."""
    received = []
    while True:
        opcode, data = ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return received, int.from_bytes(data[:2], "big")
        received.append(json.loads(data))


# --- areas: how each side checks a body, and how it goes to the emulator --------------------------


def send_start(wire: Wire, body: Any) -> Answer:
    return wire.post(CONNECT, body)


def send_stop(wire: Wire, body: Any) -> Answer:
    if isinstance(body, dict) and body.get("connectionId") == LIVE:
        body = {**body, "connectionId": wire.start_call()}
    return wire.post(CONNECT, body)


def post_speaker_event(wire: Wire, body: Any) -> Answer:
    return wire.post(telephony.event_path(wire.start_call()), body)


def socket_speaker_event(wire: Wire, body: Any) -> Answer:
    ws = wire.socket(f"/events/{wire.start_call()}")
    ws.send(json.dumps(body))
    refusals = [d for d in map(error_details, until_pong(ws)) if d is not None]
    if refusals:
        return Answer(False, refusals[0])
    recorded = wire.emu.calls()[0]["speaker_events"]
    return Answer(len(recorded) == 1, f"recorded {recorded}")


def send_start_request(wire: Wire, body: Any) -> Answer:
    ws = wire.socket(f"/v1/streaming/{uuid.uuid4()}")
    ws.send(json.dumps(body))
    first = json.loads(ws.recv())
    if kind(first) == "message/conversation_created":
        state = wire.emu.streams()[-1]["state"]
        return Answer(state == "listening", f"conversation created, session {state}")
    details = error_details(first)
    assert details is not None, first
    _, code = until_close(ws)
    assert code == frames.CLOSE_POLICY_VIOLATION, code
    return Answer(False, details)


def send_modify(wire: Wire, body: Any) -> Answer:
    ws = wire.listening_stream()
    ws.send(json.dumps(body))
    answer = json.loads(ws.recv())
    details = error_details(answer)
    if details is not None:
        return Answer(False, details)
    return Answer(kind(answer) == "message/session_modified", json.dumps(answer))


def send_stop_frame(wire: Wire, body: Any) -> Answer:
    ws = wire.listening_stream()
    ws.send(body)
    while True:
        opcode, data = ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code, state = int.from_bytes(data[:2], "big"), wire.emu.streams()[-1]["state"]
            return Answer(code == frames.CLOSE_NORMAL and state == "completed", f"{code} {state}")
        details = error_details(json.loads(data))
        if details is not None:
            return Answer(False, details)


def post_text(wire: Wire, body: Any) -> Answer:
    return wire.post("/v1/process/text", body)


def post_url(wire: Wire, body: Any) -> Answer:
    return wire.post("/v1/process/audio/url", body)


def post_url_query(wire: Wire, body: Any) -> Answer:
    return wire.post("/v1/process/audio/url", url_body(), params=to_query(body))


def post_file_query(wire: Wire, body: Any) -> Answer:
    return wire.post(
        "/v1/process/audio",
        params=to_query(body),
        data=wire.wav.read_bytes(),
        headers={"Content-Type": "audio/wav"},
    )


def check_text(body: Any, lenient: bool) -> None:
    # Leniently, options are read as the service receives them: wire names only.
    options = {name: value for name, value in body.items() if name != "messages"}
    check_messages(body.get("messages"))
    normalize(options, TEXT_OPTIONS, "the request", received=lenient)


def check_url_body(body: Any, lenient: bool) -> None:
    check_url("url", body.get("url"))
    options = {name: value for name, value in body.items() if name != "url"}
    normalize(options, URL_OPTIONS, "the request", received=lenient)


@dataclass(frozen=True)
class Area:
    """One place bodies go: ``check(body, lenient)`` raises ProtocolError; ``send`` posts the raw
    body to the emulator. ``emulator_lenient``: whether the emulator checks it leniently."""

    check: Callable[[Any, bool], object]
    send: Callable[[Wire, Any], Answer]
    emulator_lenient: bool = True


AREAS = {
    "telephony.start": Area(
        lambda b, lenient: telephony.check_start(b, lenient=lenient), send_start
    ),
    "telephony.stop": Area(lambda b, lenient: telephony.check_stop(b, lenient=lenient), send_stop),
    # Speaker events posted to the eventUrl are checked strictly; the events socket is lenient.
    "telephony.event_url": Area(
        lambda b, lenient: telephony.check_speaker_event(b, lenient=lenient),
        post_speaker_event,
        emulator_lenient=False,
    ),
    "telephony.event_socket": Area(
        lambda b, lenient: telephony.check_speaker_event(b, lenient=lenient),
        socket_speaker_event,
    ),
    "streaming.start": Area(
        lambda b, lenient: streaming.check_start_request(b, lenient=lenient), send_start_request
    ),
    "streaming.modify": Area(
        lambda b, lenient: streaming.check_speech_recognition(
            b.get("speechRecognition"), "speechRecognition", lenient=lenient
        ),
        send_modify,
    ),
    "streaming.stop": Area(
        lambda b, lenient: frames.parse_client_message(b, lenient=lenient), send_stop_frame
    ),
    "jobs.text": Area(check_text, post_text),
    "jobs.url": Area(check_url_body, post_url),
    "jobs.url_query": Area(
        lambda b, lenient: normalize(b, URL_QUERY_OPTIONS, "the query", received=lenient),
        post_url_query,
    ),
    "jobs.file_query": Area(
        lambda b, lenient: normalize(b, MEDIA_OPTIONS, "the query", received=lenient),
        post_file_query,
    ),
}


def refusal(area: str, body: Any, *, lenient: bool) -> ProtocolError | None:
    """The ProtocolError the area's checker raises for ``body``, or None if it accepts it.
    ``lenient=True`` means the check exactly as the emulator runs it."""
    spec = AREAS[area]
    try:
        spec.check(body, spec.emulator_lenient if lenient else False)
    except ProtocolError as error:
        return error
    return None


def names_field(message: str, path: str) -> bool:
    """A message names the field at ``path``: the whole path, or its last member."""
    return path in message or path.rsplit(".", 1)[-1] in message


# --- the wire tests: INVALID, LENIENT, and the property over both ---------------------------------


@pytest.fixture
def wire(emu: Emulator, tmp_path: Path) -> Iterator[Wire]:
    """Raw loopback access to a freshly reset emulator, with a token made by a plain request."""
    answer = requests.post(
        emu.base_url + "/oauth2/token:generate",
        json={"type": "application", "appId": emu.app_id, "appSecret": emu.app_secret},
        timeout=5,
    )
    emu.register_media(url=MEDIA_URL, transcript=[{"text": "Hello there.", "start": 0, "end": 1}])
    made = Wire(emu, str(answer.json()["accessToken"]), make_wav(tmp_path / "a.wav", 0.5))
    yield made
    for ws in made.sockets:
        ws.close(timeout=0.5)
        ws.shutdown()  # close() leaves the socket open when the server closed first


@pytest.mark.parametrize(("area", "body", "expected"), INVALID)
def test_what_the_emulator_rejects_the_sdk_rejects_first(
    wire: Wire, area: str, body: Any, expected: str
) -> None:
    emulator_side = refusal(area, body, lenient=True)
    sdk_side = refusal(area, body, lenient=False)
    assert emulator_side is not None, "the emulator's check accepts it"
    assert sdk_side is not None, "the SDK's check accepts it"
    assert (sdk_side.field, emulator_side.field) == (expected, expected)
    answer = AREAS[area].send(wire, body)
    assert not answer.accepted, answer
    if expected:
        assert names_field(answer.message, expected), answer.message
    else:
        assert str(emulator_side) in answer.message


@pytest.mark.parametrize(("area", "body", "strict_field"), LENIENT)
def test_leniency_goes_one_way(wire: Wire, area: str, body: Any, strict_field: str | None) -> None:
    assert refusal(area, body, lenient=True) is None
    strict = refusal(area, body, lenient=False)
    if strict_field is None:
        assert strict is None, f"the strict side refuses it too: {strict}"
    else:
        assert strict is not None, "the strict side accepts it"
        assert strict.field == strict_field, str(strict)
    answer = AREAS[area].send(wire, body)
    assert answer.accepted, answer


def _corpus() -> list[Any]:
    return [
        pytest.param(area, body, id=case.id, marks=case.marks)
        for case in INVALID + LENIENT
        for area, body, _ in [case.values]
    ]


@pytest.mark.parametrize(("area", "body"), _corpus())
def test_strict_is_never_looser_and_names_the_same_field(area: str, body: Any) -> None:
    strict = refusal(area, body, lenient=False)
    lenient = refusal(area, body, lenient=True)
    if strict is None:
        assert lenient is None, f"only the emulator refuses it: {lenient}"
    if lenient is not None:
        assert strict is not None
        assert strict.field == lenient.field, (str(strict), str(lenient))


# --- NOT_JSON: values JSON cannot carry ---------------------------------------------------------

TOO_LARGE = 2**70  # past the 2**64 either way that JSON parsers read
NOT_JSON = [
    *rows(
        "telephony.start",
        ("data-nan", call_start(data={"budget": math.nan}), "data.budget"),
        ("data-integer", call_start(data={"n": TOO_LARGE}), "data.n"),
        ("sip-rate-inf", audio_config(sampleRate=math.inf), "endpoint.audioConfig.sampleRate"),
    ),
    *rows(
        "telephony.event_url", ("user-nan", speaker_event(user={**USER, "x": math.nan}), "user.x")
    ),
    *rows(
        "jobs.text",
        ("metadata-inf", text(metadata={"x": -math.inf}), "metadata.x"),
        ("unknown-option-nan", text(colour=math.nan), "colour"),
        (
            "payload-nan",
            text(message(payload={"content": "Hi", "score": math.nan})),
            "messages[0].payload.score",
        ),
    ),
    *rows("jobs.url", ("metadata-integer", url_body(metadata={"x": -TOO_LARGE}), "metadata.x")),
]
PATHS = {
    "telephony.start": lambda wire: CONNECT,
    "telephony.event_url": lambda wire: telephony.event_path(wire.start_call()),
    "jobs.text": lambda wire: "/v1/process/text",
    "jobs.url": lambda wire: "/v1/process/audio/url",
}


@pytest.mark.parametrize(("area", "body", "expected"), NOT_JSON)
def test_numbers_json_cannot_carry_are_refused_on_both_sides(
    wire: Wire, area: str, body: Any, expected: str
) -> None:
    for lenient in (False, True):
        error = refusal(area, body, lenient=lenient)
        assert error is not None and error.field == expected, (lenient, error)
    # Python writes such a body (NaN, a 71-bit integer) as text; the emulator refuses it.
    answer = requests.post(
        wire.emu.base_url + PATHS[area](wire),
        data=json.dumps(body),
        headers={"x-api-key": wire.token, "Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 400, answer.text


# --- SDK_CALLS: valid calls through the public SDK ------------------------------------------------


@dataclass
class Sdk:
    """What the SDK-call rows use: the emulator (default clients point at it) and media."""

    emu: Emulator
    wav: Path
    mp4: Path
    connections: list[symbl.StreamingConnection] = field(default_factory=list)

    def stream(self, **arguments: Any) -> None:
        """Start a streaming connection, check the emulator created its conversation, stop."""
        connection = symbl.Streaming.start_connection(**arguments)
        self.connections.append(connection)
        assert connection.conversation is not None
        stream = self.emu.streams()[-1]
        assert stream["connectionId"] == connection.connectionId
        assert stream["state"] == "listening"
        assert stream["conversationId"] == connection.conversation.get_conversation_id()
        connection.stop(timeout=2)
        assert self.emu.streams()[-1]["state"] == "completed"


def pstn_then_stop(**stop: Any) -> None:
    connection = symbl.Telephony.start_pstn(PHONE)
    assert connection.stop(**stop).summaryInfo is not None


def speak(**event: Any) -> None:
    symbl.Telephony.start_pstn(PHONE).push_speaker_event(user=USER, **event)


TEXT_OPTIONS_GIVEN = {
    "name": "Chat",
    "webhookUrl": WEBHOOK,
    "confidenceThreshold": 0.6,
    "detectPhrases": True,
    "entities": ENTITIES,
    "detectEntities": True,
    "trackers": TRACKERS,
    "enableAllTrackers": True,
    "enableSummary": True,
    "features": {"featureList": ["insights", "callScore"]},
    "metadata": {"team": "sales", "salesStage": "negotiation"},
    "conversationType": "sales",
    "timezoneOffset": 330,
    "startTime": "2023-04-20T17:26:12Z",
}
MEDIA_PARAMETERS = {
    "name": "Call",
    "customVocabulary": ["Platform"],
    "confidence_threshold": 0.7,
    "detectPhrases": True,
    "entities": ENTITIES,
    "detectEntities": True,
    "languageCode": "en-US",
    "mode": "phone",
    "enableSeparateRecognitionPerChannel": True,
    "channelMetadata": CHANNELS,
    "trackers": TRACKERS,
    "enableAllTrackers": True,
    "enableSummary": True,
    "features": {"featureList": ["insights"]},
    "metadata": {"team": "sales"},
    "conversationType": "general",
    "timezone_offset": -480,
}

SDK_CALLS = [
    pytest.param(lambda sdk: symbl.Telephony.start_pstn(PHONE), CONNECT, id="pstn-minimal"),
    pytest.param(
        lambda sdk: symbl.Telephony.start_pstn("+1 (415) 555-0100", dtmf=",,0123456789*#ABCD"),
        CONNECT,
        id="pstn-dtmf-every-symbol",
    ),
    pytest.param(
        lambda sdk: symbl.Telephony.start_pstn(
            phone_number=PHONE,
            dtmf=",,8931167232#,,447891#",
            actions=[{**EMAIL_ACTION, "invokeOn": "start"}, EMAIL_ACTION],
            data={"session": {"name": "Weekly sync"}},
            languages=["en-US"],
            timezone="America/New_York",
        ),
        CONNECT,
        id="pstn-every-option",
    ),
    pytest.param(
        lambda sdk: symbl.Telephony.start_sip("sip:8002@sip.example.com"), CONNECT, id="sip-minimal"
    ),
    pytest.param(
        lambda sdk: symbl.Telephony.start_sip(
            uri="sip:8002@sip.example.com",
            audio_config={
                "encoding": "OPUS",
                "sampleRate": 48000,
                "sampleSize": 16,
                "payloadType": 111,
            },
            actions=[EMAIL_ACTION],
            data={"session": {"name": "Weekly sync"}},
            languages=["en-GB"],
            timezone="Europe/London",
        ),
        CONNECT,
        id="sip-every-option",
    ),
    pytest.param(
        lambda sdk: symbl.Telephony.start_sip(
            "sip:8002@sip.example.com", audio_config={"sampleRate": 16000, "sampleSize": "16"}
        ),
        CONNECT,
        id="sip-sample-size-string",
    ),
    pytest.param(lambda sdk: pstn_then_stop(), CONNECT, id="stop"),
    pytest.param(
        lambda sdk: pstn_then_stop(actions=[EMAIL_ACTION], data={"session": {"name": "Sync"}}),
        CONNECT,
        id="stop-with-actions-and-data",
    ),
    pytest.param(
        lambda sdk: symbl.Telephony.stop(symbl.Telephony.start_pstn(PHONE).connectionId),
        CONNECT,
        id="stop-by-connection-id",
    ),
    pytest.param(
        lambda sdk: speak(event_type="started_speaking"), "/v1/event/", id="speaker-event"
    ),
    pytest.param(
        lambda sdk: speak(event_type="left", timestamp="2020-07-21T16:02:19.01Z"),
        "/v1/event/",
        id="speaker-event-timestamp",
    ),
    pytest.param(lambda sdk: sdk.stream(), "/v1/streaming/", id="stream-minimal"),
    pytest.param(
        lambda sdk: sdk.stream(
            speaker={"name": "Jane", "email": "jane@example.com"},
            insight_types=list(streaming.INSIGHT_TYPES),
            config={
                "meetingTitle": "Standup",
                "confidenceThreshold": 0.7,
                "sentiment": True,
                "detectEntities": True,
                "redaction": REDACTION,
                "trackers": {"enableAllTrackers": True, "interimResults": True},
                "speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": 8000},
            },
            languages=["en-GB"],
            timezone="Europe/Paris",
            trackers=TRACKERS,
        ),
        "/v1/streaming/",
        id="stream-every-option",
    ),
    pytest.param(
        lambda sdk: sdk.stream(
            speaker={"userId": "ann@example.com", "name": "Ann"},
            config={
                "languageCode": "de-DE",
                "speechRecognition": {"encoding": "Opus", "sampleRateHertz": 48000},
            },
        ),
        "/v1/streaming/",
        id="stream-opus",
    ),
    pytest.param(
        lambda sdk: sdk.stream(
            config={"speechRecognition": {"encoding": "MULAW", "sampleRateHertz": 8000}}
        ),
        "/v1/streaming/",
        id="stream-mulaw",
    ),
    pytest.param(
        lambda sdk: sdk.stream(
            config={"speechRecognition": {"encoding": "FLAC", "sampleRateHertz": 44100}}
        ),
        "/v1/streaming/",
        id="stream-flac",
    ),
    pytest.param(lambda sdk: symbl.Text.process(payload=MEETING), "/v1/process/text", id="text"),
    pytest.param(
        lambda sdk: symbl.Text.process(
            payload={"messages": [MESSAGE], **TEXT_OPTIONS_GIVEN},
            parameters={"detect_phrases": True, "name": "Chat"},
        ),
        "/v1/process/text",
        id="text-every-option",
    ),
    pytest.param(
        lambda sdk: symbl.Text.append(
            payload={"messages": [MESSAGE]},
            conversation_id=symbl.Text.process(payload=MEETING).get_conversation_id(),
        ),
        "/v1/process/text/",
        id="text-append",
    ),
    pytest.param(
        lambda sdk: symbl.Audio.process_url(payload={"url": MEDIA_URL}),
        "/v1/process/audio/url",
        id="audio-url",
    ),
    pytest.param(
        lambda sdk: symbl.Audio.process_url(
            payload={"url": MEDIA_URL, "name": "Call", "confidenceThreshold": 0.6},
            parameters={
                **{
                    k: v
                    for k, v in MEDIA_PARAMETERS.items()
                    if k not in ("name", "confidence_threshold")
                },
                "enableSpeakerDiarization": True,
                "diarizationSpeakerCount": 2,
                "webhookUrl": WEBHOOK,
            },
        ),
        "/v1/process/audio/url",
        id="audio-url-every-option",
    ),
    pytest.param(
        lambda sdk: symbl.Audio.process_file(file_path=sdk.wav),
        "/v1/process/audio",
        id="audio-file",
    ),
    pytest.param(
        lambda sdk: symbl.Audio.process_file(
            file_path=str(sdk.wav),
            parameters={
                **MEDIA_PARAMETERS,
                "enable_speaker_diarization": True,
                "diarizationSpeakerCount": 2,
            },
        ),
        "/v1/process/audio",
        id="audio-file-every-option",
    ),
    pytest.param(
        lambda sdk: symbl.Video.process_file(file_path=sdk.mp4, parameters={"name": "Demo"}),
        "/v1/process/video",
        id="video-file",
    ),
]


@pytest.fixture
def sdk(emu_env: Emulator, tmp_path: Path) -> Iterator[Sdk]:
    emu_env.configure(job_queue_seconds=0.0, job_processing_seconds=0.0)
    emu_env.register_media(
        url=MEDIA_URL, transcript=[{"text": "Hello there.", "start": 0, "end": 1}]
    )
    made = Sdk(emu_env, make_wav(tmp_path / "call.wav", 1.0), make_mp4(tmp_path / "call.mp4", 1.0))
    yield made
    for connection in made.connections:
        connection.stop(timeout=2)


def wire_bodies(entry: RecordedRequest) -> list[tuple[str, Any]]:
    """The checked bodies a logged request carried, by area."""
    path, query = entry.path, {name: decoded(value) for name, value in entry.query}
    if path == CONNECT:
        return [(f"telephony.{entry.json['operation']}", entry.json)]
    if path.startswith("/v1/event/"):
        return [("telephony.event_url", entry.json)]
    if path.startswith("/v1/process/text"):
        return [("jobs.text", entry.json)]
    if path.startswith(("/v1/process/audio/url", "/v1/process/video/url")):
        return [("jobs.url", entry.json), ("jobs.url_query", query)]
    if path.startswith("/v1/process/"):
        return [("jobs.file_query", query)]
    return []


def decoded(value: str) -> Any:
    """A query value as the emulator reads it: JSON text for lists and objects."""
    return json.loads(value) if value[:1] in ("[", "{") else value


@pytest.mark.parametrize(("call", "path"), SDK_CALLS)
def test_everything_the_sdk_sends_the_emulator_accepts(
    sdk: Sdk, call: Callable[[Sdk], object], path: str
) -> None:
    call(sdk)
    entries = sdk.emu.requests()
    assert any(entry.path.startswith(path) for entry in entries), [e.path for e in entries]
    sent = [("streaming.start", stream["start_request"]) for stream in sdk.emu.streams()]
    for entry in entries:
        assert entry.status == 101 or 200 <= (entry.status or 0) < 300, (entry.path, entry.status)
        sent += wire_bodies(entry)
    for area, body in sent:
        assert refusal(area, body, lenient=False) is None, (area, body)
        assert refusal(area, body, lenient=True) is None, (area, body)


# --- SDK_REFUSALS: the SDK refuses first, with nothing sent ---------------------------------------

SDK_REFUSALS = [
    pytest.param(lambda: symbl.Telephony.start_pstn(PHONE, dtmf="1w2"), "dtmf", id="dtmf-w"),
    pytest.param(lambda: symbl.Telephony.start_pstn(PHONE, dtmf="1W2"), "dtmf", id="dtmf-W"),
    pytest.param(lambda: symbl.Telephony.start_pstn(PHONE, dtmf="12ab"), "dtmf", id="dtmf-ab"),
    pytest.param(lambda: symbl.Telephony.start_pstn(PHONE, dtmf="#cd"), "dtmf", id="dtmf-cd"),
    pytest.param(lambda: symbl.Telephony.start_pstn("+1234"), "phone_number", id="phone"),
    pytest.param(
        lambda: symbl.Telephony.start_pstn(PHONE, actions=emails("nobody")), "emails", id="email"
    ),
    pytest.param(
        lambda: symbl.Telephony.start_pstn(PHONE, languages=[{"code": "en-US"}]),
        "languages",
        id="languages-as-code-objects",
    ),
    pytest.param(
        lambda: symbl.Telephony.start_sip(SIP["uri"], audio_config={"sampleRate": 0}),
        "sampleRate",
        id="sip-rate",
    ),
    pytest.param(lambda: symbl.Telephony.stop("abc", actions={}), "actions", id="stop-actions-{}"),
    pytest.param(
        lambda: symbl.Streaming.start_connection(insight_types=["summary"]),
        "insight_types",
        id="insight-type",
    ),
    pytest.param(
        lambda: symbl.Streaming.start_connection(
            config={"speechRecognition": {"encoding": "linear16"}}
        ),
        "encoding",
        id="encoding-lower-case",
    ),
    pytest.param(
        lambda: symbl.Streaming.start_connection(config={"languageCode": "xx-XX"}),
        "languageCode",
        id="language",
    ),
    pytest.param(
        lambda: symbl.Text.process(payload=text(message(payload={"content": ""}))),
        "payload",
        id="text-empty",
    ),
    pytest.param(
        lambda: symbl.Text.process(payload=text(), parameters={"confidenceThreshold": 2}),
        "confidenceThreshold",
        id="text-confidence",
    ),
    pytest.param(
        lambda: symbl.Audio.process_url(payload=url_body(mode="radio")), "mode", id="url-mode"
    ),
    pytest.param(
        lambda: symbl.Audio.process_url(payload=url_body(languageCode=["en-US"])),
        "languageCode",
        id="url-language-list",
    ),
    pytest.param(
        lambda: symbl.Telephony.start_pstn("+١٤١٥٥٥٥٠١٠٠"), "phone_number", id="phone-arabic"
    ),
    pytest.param(lambda: symbl.Telephony.stop(".."), "connection_id", id="stop-dots"),
    pytest.param(
        lambda: symbl.Conversations.get_messages(".."), "conversation_id", id="messages-dots"
    ),
    pytest.param(
        lambda: symbl.Conversations.delete_conversation(""), "conversation_id", id="delete-empty"
    ),
    pytest.param(
        lambda: symbl.Telephony.start_pstn(PHONE, data={"budget": float("nan")}),
        r"data\.budget",
        id="data-nan",
    ),
    pytest.param(
        lambda: symbl.Telephony.start_sip(SIP["uri"], audio_config={"sampleRate": float("inf")}),
        r"audio_config\.sampleRate",
        id="sip-rate-inf",
    ),
    pytest.param(
        lambda: symbl.Streaming.start_connection(config={"timezoneOffset": float("nan")}),
        "timezoneOffset",
        id="stream-offset-nan",
    ),
    pytest.param(
        lambda: symbl.Text.process(payload=text(), parameters={"timezoneOffset": 841}),
        "timezoneOffset",
        id="text-timezone-offset",
    ),
    pytest.param(
        lambda: symbl.Streaming.start_connection(config={"redaction": {"redactContent": 1}}),
        r"config\.redaction\.redactContent",
        id="stream-redaction",
    ),
    pytest.param(
        lambda: symbl.Text.process(payload=text(metadata={"budget": 2**70})),
        r"metadata\.budget",
        id="text-integer-too-large",
    ),
]


@pytest.mark.parametrize(("call", "match"), SDK_REFUSALS)
def test_the_sdk_refuses_before_sending(
    emu_env: Emulator, call: Callable[[], object], match: str
) -> None:
    with pytest.raises(symbl.InvalidArgumentError, match=match):
        call()
    assert emu_env.requests() == [], [entry.path for entry in emu_env.requests()]
