"""Properties of every public function of both clients, for arbitrary arguments.

Each test draws arguments for one function: up to two of them anything at all (None, booleans,
NaN and infinities, huge ints, text with digits of other scripts, ``.``/``..``/``a/b``, bytes,
callables, nested lists and dicts), the others valid values, so that a call gets past the
arguments it is not being tried with. Then:

- the call raises nothing but the library's typed errors (:class:`symbl.SymblError`);
- a call refused with :class:`symbl.InvalidArgumentError` sent nothing: the emulator's request
  log stays empty, and a live stream received no audio, stop or modify.

The synchronous client is called directly; ``symbl.AsyncClient`` through ``asyncio.run``, one
client per example. Calls that succeed are cleaned up (jobs waited for, calls and streams
stopped), so the next example starts from a quiet emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbl
from symbl._resources.conversations import API_METHODS
from symbl.emulator import Emulator

from helpers import MEETING, make_mp4, make_wav

PHONE = "+14155550100"
SIP_URI = "sip:8002@sip.example.com"
MEDIA_URL = "https://example.com/properties.wav"
USER = {"userId": "ann@example.com", "name": "Ann"}
SPEAKER_EVENTS = {
    "speakerEvents": [
        {"type": "started_speaking", "user": {"name": "Ann"}, "offset": {"seconds": 1, "nanos": 0}}
    ]
}

# --- arbitrary values -----------------------------------------------------------------------------

TRICKY_TEXT = [
    "",
    " ",
    ".",
    "..",
    "a/b",
    "../x",
    "a?b",
    "#",
    "%2e%2e",
    "\x00",
    "\u200b",
    "line\n",
    "\u0661\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0660\u0660",  # Arabic-Indic digits
    "+\u0661\u0664\u0661\u0665\u0665\u0665\u0665\u0660\u0661\u0660\u0660",
    "\uff11\uff14\uff11\uff15\uff15\uff15\uff15\uff10\uff11\uff10\uff10",  # fullwidth digits
    "\u00b2",
    "\u0663",
    "NaN",
    "-inf",
    "1e400",
    "true",
    "question",
    "en-US",
    "LINEAR16",
    PHONE,
    SIP_URI,
    MEDIA_URL,
    "2020-07-21T16:02:19.01Z",
    "\u0662\u0660\u0662\u0660-07-21T16:02:19Z",
    "America/New_York",
    "../../etc/passwd",
    "app_secret",
]
# Ints too long to print (past sys.get_int_max_str_digits()) or beyond a float; built by a
# strategy, as a strategy's repr shows its constants.
HUGE_INTS = st.sampled_from([5000, -5000, 400, -400]).map(
    lambda digits: (digits > 0 or -1) * 10 ** abs(digits)
)
CALLABLES: list[Any] = [print, lambda *args, **kwargs: None, object()]

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE_INTS,
    st.integers(min_value=2**63, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, 1e300]),
    st.text(max_size=10),
    st.sampled_from(TRICKY_TEXT),
    st.binary(max_size=8),
    st.sampled_from(CALLABLES),
)
KEYS = st.one_of(
    st.sampled_from(
        ["name", "url", "messages", "session", "speechRecognition", "languageCode", "app_id"]
    ),
    st.text(max_size=8),
    st.integers(),
    HUGE_INTS,
    st.none(),
)
ANYTHING = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(KEYS, inner, max_size=3)
    ),
    max_leaves=6,
)

# --- the world the calls run in -------------------------------------------------------------------


@dataclass
class World:
    """What valid arguments refer to: the emulator, media files, a processed conversation."""

    emu: Emulator
    wav: Path
    mp4: Path
    conversation_id: str = ""
    job_id: str = ""

    def clear_log(self) -> None:
        """Forget the requests received so far (the next check looks at what comes after)."""
        self.emu.state.requests.clear()

    def sent(self) -> list[str]:
        """What the emulator received since :meth:`clear_log`."""
        return [f"{entry.method} {entry.path}" for entry in self.emu.requests()]


def small_payload() -> dict[str, Any]:
    return {"messages": MEETING["messages"][:2]}


#: Valid values by parameter name: what a call needs to get past that argument.
VALID: dict[str, Callable[[World], st.SearchStrategy[Any]]] = {
    "file_path": lambda w: st.sampled_from([w.wav, str(w.wav), w.mp4]),
    "path": lambda w: st.sampled_from([w.wav, str(w.wav)]),
    "conversation_id": lambda w: st.sampled_from([w.conversation_id, "5678"]),
    "job_id": lambda w: st.sampled_from([w.job_id, None]),
    "members_id": lambda w: st.just("member-1"),
    "credentials": lambda w: st.sampled_from([None, w.emu.credentials]),
    "content_type": lambda w: st.none(),
    "wait": lambda w: st.booleans(),
    "parameters": lambda w: st.just({}),
    "progress": lambda w: st.sampled_from([None, lambda sent, total: None]),
    "phone_number": lambda w: st.sampled_from([PHONE, "+1 (415) 555-0100"]),
    "dtmf": lambda w: st.sampled_from([None, ",,12#"]),
    "uri": lambda w: st.just(SIP_URI),
    "audio_config": lambda w: st.sampled_from([None, {"sampleRate": 16000, "sampleSize": "16"}]),
    "actions": lambda w: st.none(),
    "data": lambda w: st.sampled_from([None, {"session": {"name": "Sync"}}]),
    "languages": lambda w: st.sampled_from([None, ["en-US"]]),
    "timezone": lambda w: st.sampled_from([None, "Europe/Paris"]),
    "handle_signals": lambda w: st.just(False),
    "reconnect": lambda w: st.booleans(),
    "connection_id": lambda w: st.just("no-such-call"),
    "speaker": lambda w: st.sampled_from([None, {"name": "Ann", "email": "ann@example.com"}]),
    "insight_types": lambda w: st.sampled_from([None, ["question"]]),
    "config": lambda w: st.sampled_from([None, {"meetingTitle": "Standup"}]),
    "timeout": lambda w: st.sampled_from([None, 2.0, math.inf]),
    "event_type": lambda w: st.just("started_speaking"),
    "user": lambda w: st.just(USER),
    "timestamp": lambda w: st.sampled_from([None, "2020-07-21T16:02:19.01Z"]),
    "realtime": lambda w: st.just(False),
    "speed": lambda w: st.just(4.0),
    "sample_rate": lambda w: st.sampled_from([None, 16000]),
    "encoding": lambda w: st.sampled_from([None, "LINEAR16"]),
    "callback": lambda w: st.just(lambda conversation: None),
    "method": lambda w: st.sampled_from(["GET", "get"]),
    "base_url": lambda w: st.just(w.emu.base_url),
}
#: Valid values that differ by function (``payload`` of a text job is not that of a URL job),
#: by method name or owner.
VALID_FOR: dict[str, dict[str, Callable[[World], st.SearchStrategy[Any]]]] = {
    "put_members": {"parameters": lambda w: st.just({"name": "Ann"})},
    "put_speakers_events": {"parameters": lambda w: st.just(SPEAKER_EVENTS)},
    "Text": {"payload": lambda w: st.builds(small_payload)},
    "Audio": {"payload": lambda w: st.sampled_from([MEDIA_URL, {"url": MEDIA_URL}])},
    "Video": {"payload": lambda w: st.just({"url": MEDIA_URL})},
    "Connection": {"events": lambda w: st.just({"transcript_response": lambda event: None})},
    "StreamingConnection": {
        "events": lambda w: st.just({"message_response": lambda event: None}),
        "data": lambda w: st.just(b"\x00\x01" * 160),
    },
    "request": {
        "path": lambda w: st.sampled_from(["/v1/conversations", "/v1/job/nothing"]),
        "timeout": lambda w: st.sampled_from([None, 5.0]),
    },
    "Client": {
        "credentials": lambda w: st.just(w.emu.credentials),
        "timeout": lambda w: st.just(60.0),
    },
}


def valid_strategy(
    world: World, owner: str, name: str, parameter: inspect.Parameter
) -> st.SearchStrategy[Any]:
    """A valid value for ``parameter`` (its default when nothing else is known)."""
    for table in (VALID_FOR.get(name, {}), VALID_FOR.get(owner, {}), VALID):
        if parameter.name in table:
            return table[parameter.name](world)
    if parameter.default is not inspect.Parameter.empty:
        return st.just(parameter.default)
    return ANYTHING


def draw_arguments(
    data: st.DataObject, world: World, owner: str, name: str, function: Callable[..., Any]
) -> dict[str, Any]:
    """Keyword arguments for ``function``: up to two of its parameters get anything at all,
    the others valid values; a ``**params`` parameter, when fuzzed, gets a few of the fields
    it passes on."""
    parameters = [
        parameter
        for parameter in inspect.signature(function).parameters.values()
        if parameter.name != "self" and parameter.kind is not inspect.Parameter.VAR_POSITIONAL
    ]
    names = [parameter.name for parameter in parameters]
    choices = st.sets(st.sampled_from(names), max_size=2) if names else st.just(set())
    fuzzed = data.draw(choices, label="fuzzed")
    arguments: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            if parameter.name in fuzzed:
                extra = st.dictionaries(st.sampled_from(["actions", "data", "reason"]), ANYTHING)
                arguments.update(data.draw(extra, label="**" + parameter.name))
            continue
        strategy = (
            ANYTHING if parameter.name in fuzzed else valid_strategy(world, owner, name, parameter)
        )
        arguments[parameter.name] = data.draw(strategy, label=parameter.name)
    return arguments


# --- the functions --------------------------------------------------------------------------------

RESOURCES = {
    "Audio": ("process_file", "append_file", "process_url", "append_url"),
    "Video": ("process_file", "append_file", "process_url", "append_url"),
    "Text": ("process", "append"),
    "Conversations": API_METHODS,
    "Telephony": ("start_pstn", "start_sip", "stop"),
    "Streaming": ("start_connection",),
}
LIVE_OBJECTS = {
    "Conversation": (
        *(name for name in API_METHODS if hasattr(symbl.Conversation, name)),
        "wait",
        "on_complete",
        "on_error",
        "get_job_status",
    ),
    "Connection": ("subscribe", "stop", "wait", "push_speaker_event"),
    "StreamingConnection": ("subscribe", "send_audio", "send_audio_from_file", "modify", "stop"),
}
CONSTRUCTORS = ("Client", "Conversation()", "request")

TARGETS = [
    *((owner, name) for owner, names in RESOURCES.items() for name in names),
    *((owner, name) for owner, names in LIVE_OBJECTS.items() for name in names),
    *((name, "") for name in CONSTRUCTORS),
]
# Fewer examples where each one starts a live call or stream.
EXAMPLES = {"Connection": 8, "StreamingConnection": 8, "Telephony": 10, "Streaming": 12}
DEFAULT_EXAMPLES = 15
# SYMBL_PROPERTY_SCALE=N runs N times as many examples: a longer hunt than CI's.
SCALE = int(os.environ.get("SYMBL_PROPERTY_SCALE", "1"))


def sync_function(owner: str, name: str) -> Callable[..., Any]:
    """The synchronous function a target stands for (its signature is drawn from)."""
    classes = {
        "Conversation": symbl.Conversation,
        "Connection": symbl.Connection,
        "StreamingConnection": symbl.StreamingConnection,
        "Client": symbl.Client,
        "Conversation()": symbl.Conversation,
        "request": symbl.Client.request,
    }
    if owner in RESOURCES:
        return getattr(getattr(symbl, owner), name)  # type: ignore[no-any-return]
    if owner in LIVE_OBJECTS:
        return getattr(classes[owner], name)  # type: ignore[no-any-return]
    return classes[owner]  # type: ignore[return-value]


# --- running one example --------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one call did: its result, or the typed error it raised."""

    result: Any = None
    error: symbl.SymblError | None = None


def stream_fingerprint(world: World) -> list[tuple[Any, ...]]:
    """What the emulator's streams received: audio, stops and format changes."""
    return [
        (s["audio_bytes"], len(s["stop_requests"]), len(s["modify_requests"]))
        for s in world.emu.streams()
    ]


def check(world: World, outcome: Outcome, streams_before: list[tuple[Any, ...]]) -> None:
    """A refusal sent nothing."""
    if isinstance(outcome.error, symbl.InvalidArgumentError):
        assert world.sent() == [], f"refused ({outcome.error}) but sent {world.sent()}"
        assert stream_fingerprint(world) == streams_before, str(outcome.error)


def sync_owner(world: World, client: symbl.Client, owner: str) -> Any:
    """The object whose method is called (a live call or stream is started for it)."""
    if owner in RESOURCES:
        return getattr(client, owner)
    if owner == "Conversation":
        return symbl.Conversation(world.conversation_id, job_id=world.job_id, client=client)
    if owner == "Connection":
        return client.Telephony.start_pstn(PHONE, handle_signals=False)
    if owner == "StreamingConnection":
        return client.Streaming.start_connection(handle_signals=False)
    return None


def sync_call(client: symbl.Client, target: Any, owner: str, name: str, arguments: Any) -> Any:
    """Call the function a target stands for, with ``arguments``."""
    if owner == "Client":
        with symbl.Client(**arguments) as made:
            return made
    if owner == "Conversation()":
        return symbl.Conversation(**{**arguments, "client": arguments["client"] or client})
    method = client.request if owner == "request" else getattr(target, name)
    return method(**arguments)


def sync_cleanup(things: list[Any]) -> None:
    """Wait for jobs and stop calls and streams a call started; their errors do not matter."""
    for thing in things:
        with contextlib.suppress(symbl.SymblError):
            if isinstance(thing, symbl.Conversation):
                thing.wait(10)
            elif isinstance(thing, (symbl.Connection, symbl.StreamingConnection)):
                thing.stop()


def run_sync_example(world: World, client: symbl.Client, owner: str, name: str, data: Any) -> None:
    arguments = draw_arguments(data, world, owner, name, sync_function(owner, name))
    target = sync_owner(world, client, owner)
    world.clear_log()
    streams_before = stream_fingerprint(world)
    outcome = Outcome()
    try:
        outcome.result = sync_call(client, target, owner, name, arguments)
    except symbl.SymblError as error:
        outcome.error = error
    check(world, outcome, streams_before)
    sync_cleanup([outcome.result, target])


async def async_owner(world: World, client: symbl.AsyncClient, owner: str) -> Any:
    if owner in RESOURCES:
        return getattr(client, owner)
    if owner == "Conversation":
        return symbl.AsyncConversation(world.conversation_id, job_id=world.job_id, client=client)
    if owner == "Connection":
        return await client.Telephony.start_pstn(PHONE, handle_signals=False)
    if owner == "StreamingConnection":
        return await client.Streaming.start_connection(handle_signals=False)
    return None


async def async_call(
    client: symbl.AsyncClient, target: Any, owner: str, name: str, arguments: Any
) -> Any:
    if owner == "Client":
        async with symbl.AsyncClient(**arguments) as made:
            return made
    if owner == "Conversation()":
        return symbl.AsyncConversation(**{**arguments, "client": client})
    method = client.request if owner == "request" else getattr(target, name)
    result = method(**arguments)
    return await result if inspect.isawaitable(result) else result


async def async_cleanup(things: list[Any]) -> None:
    for thing in things:
        with contextlib.suppress(symbl.SymblError):
            if isinstance(thing, symbl.AsyncConversation):
                await thing.wait(10)
            elif isinstance(thing, (symbl.AsyncConnection, symbl.AsyncStreamingConnection)):
                await thing.stop()


def run_async_example(world: World, owner: str, name: str, data: Any) -> None:
    arguments = draw_arguments(data, world, owner, name, sync_function(owner, name))
    if owner == "Conversation()":
        arguments.pop("credentials", None)  # the asyncio conversation takes its client only

    async def scenario() -> None:
        async with symbl.AsyncClient(
            world.emu.credentials, base_url=world.emu.base_url, retry_backoff=0.01
        ) as client:
            target = await async_owner(world, client, owner)
            world.clear_log()
            streams_before = stream_fingerprint(world)
            outcome = Outcome()
            try:
                outcome.result = await async_call(client, target, owner, name, arguments)
            except symbl.SymblError as error:
                outcome.error = error
            check(world, outcome, streams_before)
            await async_cleanup([outcome.result, target])

    asyncio.run(scenario())


# --- the tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("media")
    return make_wav(folder / "call.wav", 1.0), make_mp4(folder / "call.mp4", 1.0)


@pytest.fixture
def world(emu: Emulator, media: tuple[Path, Path]) -> World:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.0)
    emu.register_media(url=MEDIA_URL, transcript=[{"text": "Hello there.", "start": 0, "end": 1}])
    made = World(emu, *media)
    with symbl.Client(emu.credentials, base_url=emu.base_url) as client:
        conversation = client.Text.process(payload=small_payload())
    made.conversation_id = conversation.get_conversation_id()
    made.job_id = str(conversation.get_job_id())
    return made


def example_settings(owner: str) -> settings:
    return settings(
        max_examples=EXAMPLES.get(owner, DEFAULT_EXAMPLES) * SCALE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


IDS = [f"{owner}.{name}" if name else owner for owner, name in TARGETS]


@pytest.mark.parametrize(("owner", "name"), TARGETS, ids=IDS)
def test_sync_client_raises_only_typed_errors_and_refusals_send_nothing(
    world: World, owner: str, name: str
) -> None:
    with symbl.Client(
        world.emu.credentials, base_url=world.emu.base_url, retry_backoff=0.01
    ) as client:

        @example_settings(owner)
        @given(data=st.data())
        def examples(data: st.DataObject) -> None:
            run_sync_example(world, client, owner, name, data)

        examples()


@pytest.mark.parametrize(("owner", "name"), TARGETS, ids=IDS)
def test_async_client_raises_only_typed_errors_and_refusals_send_nothing(
    world: World, owner: str, name: str
) -> None:
    @example_settings(owner)
    @given(data=st.data())
    def examples(data: st.DataObject) -> None:
        run_async_example(world, owner, name, data)

    examples()
