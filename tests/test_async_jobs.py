"""Async jobs with ``symbl.AsyncClient``: the asyncio twin of test_jobs.py, test_async_requests.py
and the job half of test_bad_input.py, against the emulator over loopback, plus what only the
asyncio client has to get right: cancellation at every waiting point, no thread, ever, and
background polls that ``close()`` stops."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import symbl
from symbl.emulator import Emulator
from symbl.emulator.media import write_mp3

from async_rest_helpers import make_client, run, until
from helpers import (
    MEETING,
    OPTIONS,
    OPTIONS_QUERY,
    PYTHON,
    assert_resumed_elsewhere,
    assert_text_body,
    make_mp4,
    make_wav,
)

SHORT = {"messages": [{"payload": {"content": "Can we meet on Friday?"}, "from": {"name": "Ann"}}]}


def job_polls(emu: Emulator) -> list[float]:
    return [entry.received_at for entry in emu.requests("/v1/job/")]


def only_request(emu: Emulator, path: str):
    (entry,) = emu.requests(path)
    return entry


def assert_authenticated(entry, emu: Emulator) -> None:
    token = entry.headers["x-api-key"]
    assert entry.headers["authorization"] == f"Bearer {token}"
    assert entry.app_id == emu.app_id
    assert token not in entry.query_string
    assert entry.headers["user-agent"].startswith(f"symbl-python/{symbl.__version__} ")
    assert "aiohttp" in entry.headers["user-agent"]


def recorder(kind: str, into: list[object]) -> Any:
    """A callback that appends what it is called with to ``into``: a plain function, or a
    coroutine function (which the client runs in a task of its own)."""
    if kind == "function":
        return into.append

    async def append(conversation: object) -> None:
        await asyncio.sleep(0)
        into.append(conversation)

    return append


# -- waiting and polling ----------------------------------------------------------------------


def test_wait_true_returns_completed_and_polls_adaptively(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=1.0)

    async def scenario() -> float:
        async with make_client(emu) as client:
            started = time.monotonic()
            conversation = await client.Text.process(payload=MEETING)
            elapsed = time.monotonic() - started
            assert isinstance(conversation, symbl.AsyncConversation)
            assert conversation.status == "completed"
            assert await conversation.get_job_status() == "completed"
            return elapsed

    elapsed = run(scenario)
    polls = job_polls(emu)
    submitted = emu.requests("/v1/process/text")[0].received_at
    assert polls[0] - submitted < 0.1, "the first poll goes out at once"
    gaps = [later - earlier for earlier, later in zip(polls, polls[1:])]
    assert gaps[0] == pytest.approx(0.25, abs=0.1)
    assert all(later >= earlier - 0.05 for earlier, later in zip(gaps, gaps[1:])), gaps
    assert 1.0 <= elapsed < 2.0


def test_instant_job_costs_one_poll(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.0)

    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=MEETING)
            assert await conversation.get_job_status() == "completed"

    run(scenario)
    assert len(job_polls(emu)) == 1


def test_polling_interval_is_capped(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.6)

    async def scenario() -> None:
        async with make_client(emu, poll_interval=0.05, max_poll_interval=0.1) as client:
            await client.Text.process(payload=SHORT)

    run(scenario)
    polls = job_polls(emu)
    gaps = [later - earlier for earlier, later in zip(polls, polls[1:])]
    assert max(gaps) < 0.2, gaps
    assert len(polls) >= 6


@pytest.mark.parametrize("kind", ["function", "coroutine function"])
def test_wait_false_returns_at_once_and_callbacks_fire_once(emu: Emulator, kind: str) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.5)
    completed: list[object] = []
    errors: list[object] = []
    late: list[object] = []

    async def scenario() -> None:
        async with make_client(emu) as client:
            started = time.monotonic()
            conversation = await client.Text.process(payload=MEETING, wait=False)
            assert time.monotonic() - started < 0.3
            assert conversation.status != "completed"
            chained = conversation.on_complete(recorder(kind, completed))
            assert chained.on_error(recorder(kind, errors)) is conversation
            assert chained is conversation
            assert await until(lambda: completed, timeout=5)
            conversation.on_complete(recorder(kind, late))  # after completion: fires at once
            conversation.on_error(recorder(kind, errors))  # never: the job did not fail
            await asyncio.sleep(0.3)
            assert completed == [conversation]
            assert late == [conversation]
            assert errors == []
            assert (await conversation.get_messages()).messages

    run(scenario)


def test_callbacks_run_on_the_loop_and_a_raising_one_is_logged(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.2)
    ran: list[str] = []

    def boom(_: object) -> None:
        ran.append(threading.current_thread().name)
        raise RuntimeError("callback bug")

    async def async_boom(_: object) -> None:
        ran.append("async")
        raise RuntimeError("coroutine callback bug")

    async def scenario() -> None:
        loop_thread = threading.current_thread().name
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=MEETING, wait=False)
            conversation.on_complete(boom).on_complete(async_boom)
            conversation.on_complete(lambda c: ran.append("last"))
            await conversation.wait(5)
            assert await until(lambda: len(ran) == 3)
            assert ran[0] == loop_thread, "a callback runs on the loop's thread"

    run(scenario)
    assert sorted(ran[1:]) == ["async", "last"]
    assert "callback bug" in caplog.text
    assert "coroutine callback bug" in caplog.text


def test_failed_job_raises_with_wait_true(emu: Emulator) -> None:
    emu.configure(fail_jobs=True, job_queue_seconds=0.0, job_processing_seconds=0.0)

    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.JobFailedError) as caught:
                await client.Text.process(payload=MEETING)
            error = caught.value
            assert error.status == "failed"
            assert error.job_id and error.conversation_id
            assert error.job_id in str(error)

    run(scenario)


@pytest.mark.parametrize("kind", ["function", "coroutine function"])
def test_failed_job_fires_on_error_once_even_when_registered_late(emu: Emulator, kind: str) -> None:
    emu.configure(fail_jobs=True, job_queue_seconds=0.0, job_processing_seconds=0.2)
    early: list[object] = []
    late: list[object] = []
    completed: list[object] = []

    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=MEETING, wait=False)
            conversation.on_error(recorder(kind, early)).on_complete(recorder(kind, completed))
            with pytest.raises(symbl.JobFailedError):
                await conversation.wait(5)
            conversation.on_error(recorder(kind, late))
            assert await until(lambda: early and late)
            await asyncio.sleep(0.05)
            assert early == [conversation]
            assert late == [conversation]
            assert completed == []
            assert isinstance(conversation.error, symbl.JobFailedError)
            assert await conversation.get_job_status() == "failed"

    run(scenario)


def test_undecodable_media_fails_the_job(emu: Emulator, tmp_path: Path) -> None:
    garbage = tmp_path / "notes.wav"
    garbage.write_bytes(b"%PDF-1.4 this is not audio" * 10)

    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.JobFailedError):
                await client.Audio.process_file(file_path=garbage)

    run(scenario)


def test_a_job_that_never_ends_times_out_clearly(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=30.0)

    async def scenario() -> None:
        async with make_client(emu, job_timeout=0.6) as client:
            started = time.monotonic()
            with pytest.raises(symbl.WaitTimeoutError) as caught:
                await client.Text.process(payload=MEETING)
            assert 0.5 < time.monotonic() - started < 1.5
            assert "in_progress" in str(caught.value)
            assert isinstance(caught.value, TimeoutError)

    run(scenario)


def test_wait_with_timeout_can_be_called_again(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.8)

    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=MEETING, wait=False)
            started = time.monotonic()
            with pytest.raises(symbl.WaitTimeoutError):
                await conversation.wait(timeout=0.1)
            assert time.monotonic() - started < 0.5
            assert await conversation.wait(timeout=5) is conversation
            assert await conversation.get_job_status() == "completed"

    run(scenario)


def test_background_poller_gives_up_at_job_timeout_and_reports_it(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=30.0)
    errors: list[object] = []

    async def scenario() -> None:
        async with make_client(emu, job_timeout=0.4) as client:
            conversation = await client.Text.process(payload=MEETING, wait=False)
            conversation.on_error(errors.append)
            assert await until(lambda: errors, timeout=3)
            assert isinstance(conversation.error, symbl.WaitTimeoutError)

    run(scenario)
    assert len(errors) == 1


def test_polling_survives_a_transient_failure(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.5)
    emu.add_fault(path="/v1/job/*", status=503, times=3)

    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=MEETING)
            assert await conversation.get_job_status() == "completed"

    run(scenario)
    assert [entry.status for entry in emu.requests("/v1/job/")][:3] == [503, 503, 503]


def test_polling_gives_up_when_the_service_is_gone(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=30.0)
    errors: list[object] = []

    async def scenario() -> None:
        settings = {"poll_interval": 0.02, "max_poll_interval": 0.05, "max_retries": 0}
        async with make_client(emu, **settings) as client:
            conversation = await client.Text.process(payload=MEETING, wait=False)
            conversation.on_error(errors.append)
            emu.add_fault(path="/v1/job/*", status=503)
            assert await until(lambda: errors, timeout=5)
            assert isinstance(conversation.error, symbl.InternalServerError)

    run(scenario)


def test_unknown_job_is_not_found(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = symbl.AsyncConversation(
                "5000000000000000", job_id="0f0f0f0f-0000-0000-0000-000000000000", client=client
            )
            with pytest.raises(symbl.NotFoundError):
                await conversation.wait(2)
            rebuilt = symbl.AsyncConversation(
                "5000000000000000", job_id="0f0f0f0f-0000-0000-0000-000000000000", client=client
            )
            with pytest.raises(symbl.NotFoundError):
                await rebuilt.on_error(lambda c: None).wait(2)

    run(scenario)


def test_callbacks_on_a_rebuilt_conversation_start_following_the_job(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.3)
    completed: list[object] = []

    async def scenario() -> None:
        async with make_client(emu) as client:
            original = await client.Text.process(payload=MEETING, wait=False)
        async with make_client(emu) as client:
            rebuilt = symbl.AsyncConversation(
                original.get_conversation_id(), job_id=original.get_job_id(), client=client
            )
            rebuilt.on_complete(completed.append)
            assert await until(lambda: completed, timeout=5), "fires without anyone waiting"
            assert completed == [rebuilt]

    run(scenario)


def test_a_job_submitted_by_the_sync_client_is_followed_in_another_process(
    emu: Emulator,
) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=1.0)
    with symbl.Client(emu.credentials, base_url=emu.base_url) as sync:
        conversation = sync.Text.process(payload=MEETING, wait=False)
        script = (
            "import asyncio, sys, symbl\n"
            "async def main():\n"
            "    async with symbl.AsyncClient() as client:\n"
            "        c = symbl.AsyncConversation(sys.argv[1], job_id=sys.argv[2], client=client)\n"
            "        await c.wait(10)\n"
            "        print(await c.get_job_status(), len((await c.get_messages()).messages))\n"
            "asyncio.run(main(), debug=True)\n"
        )
        assert_resumed_elsewhere(script, conversation, emu)


def test_callbacks_need_a_callable_and_a_job(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=MEETING)
            with pytest.raises(symbl.InvalidArgumentError, match="callable"):
                conversation.on_complete("not a function")  # type: ignore[arg-type]
            without_job = symbl.AsyncConversation(conversation.get_conversation_id(), client=client)
            assert without_job.get_job_id() is None
            assert await without_job.get_job_status() is None
            assert await without_job.wait() is without_job
            with pytest.raises(symbl.InvalidArgumentError, match="has none"):
                without_job.on_complete(print)

    run(scenario)


# -- files, URLs and text on the wire ---------------------------------------------------------


@pytest.mark.parametrize("media", ["Audio", "Video"])
def test_process_file_streams_the_file_with_options_in_the_query(
    emu: Emulator, tmp_path: Path, media: str
) -> None:
    path = make_wav(tmp_path / "call.wav") if media == "Audio" else make_mp4(tmp_path / "call.mp4")

    async def scenario() -> None:
        async with make_client(emu) as client:
            resource = getattr(client, media)
            conversation = await resource.process_file(file_path=str(path), parameters=OPTIONS)
            assert await conversation.get_job_status() == "completed"
            texts = [message.text for message in (await conversation.get_messages()).messages]
            assert texts == ["Can you send the report by Friday?", "Yes, I will send it tomorrow."]

    run(scenario)
    entry = only_request(emu, f"/v1/process/{media.lower()}")
    assert entry.method == "POST"
    assert entry.query_string == OPTIONS_QUERY
    assert entry.headers["content-type"] == ("audio/wav" if media == "Audio" else "video/mp4")
    assert int(entry.headers["content-length"]) == path.stat().st_size == entry.body_size
    assert "transfer-encoding" not in entry.headers
    assert entry.body == path.read_bytes()
    assert_authenticated(entry, emu)


def test_the_wire_is_the_sync_clients(emu: Emulator, tmp_path: Path) -> None:
    """Each submission sends exactly the bytes, query and headers symbl.Client sends."""
    wav = make_wav(tmp_path / "call.wav")
    url = "https://example.com/call.wav"
    emu.register_media(url=url, transcript=[{"text": "Hello there.", "start": 0, "end": 1}])
    calls = [
        ("Audio", "process_file", (), {"file_path": wav, "parameters": {"mode": "phone"}}),
        ("Video", "process_file", (), {"file_path": make_mp4(tmp_path / "v.mp4")}),
        (
            "Audio",
            "process_url",
            ({"url": url, "name": "Demo"},),
            {"parameters": {"detect_phrases": True, "enableSpeakerDiarization": True}},
        ),
        ("Text", "process", (), {"payload": MEETING, "parameters": {"detectEntities": "true"}}),
    ]

    def wire(skip: int) -> list[tuple]:
        return [
            (e.method, e.path, e.query_string, e.body, e.headers.get("content-type"))
            for e in emu.requests("/v1/process/")[skip:]
        ]

    with symbl.Client(emu.credentials, base_url=emu.base_url) as sync:
        for media, method, args, kwargs in calls:
            getattr(getattr(sync, media), method)(*args, **kwargs)
    sent_by_sync = wire(0)

    async def scenario() -> None:
        async with make_client(emu) as client:
            for media, method, args, kwargs in calls:
                await getattr(getattr(client, media), method)(*args, **kwargs)

    run(scenario)
    assert wire(len(sent_by_sync)) == sent_by_sync
    assert len(sent_by_sync) == len(calls)


def test_audio_content_type_is_detected_given_or_left_out(emu: Emulator, tmp_path: Path) -> None:
    mp3 = tmp_path / "voice.bin"
    write_mp3(mp3, 2.0)
    wav = make_wav(tmp_path / "call.wav")
    flac = tmp_path / "take.flac"
    flac.write_bytes(b"fLaC" + bytes(200))

    async def scenario() -> None:
        async with make_client(emu) as client:
            await client.Audio.process_file(file_path=mp3)
            await client.Audio.process_file(file_path=wav, content_type="audio/wave")
            with pytest.raises(symbl.JobFailedError):
                await client.Audio.process_file(file_path=flac)

    run(scenario)
    sent = [entry.headers.get("content-type") for entry in emu.requests("/v1/process/audio")]
    assert sent == ["audio/mpeg", "audio/wave", None]


def test_append_file_puts_to_the_conversation(emu: Emulator, tmp_path: Path) -> None:
    one, two = make_wav(tmp_path / "one.wav"), make_wav(tmp_path / "two.wav")

    async def scenario() -> str:
        async with make_client(emu) as client:
            first = await client.Audio.process_file(file_path=one)
            cid = first.get_conversation_id()
            second = await client.Audio.append_file(two, cid, parameters={"mode": "phone"})
            assert second.get_conversation_id() == cid
            assert second.get_job_id() != first.get_job_id()
            assert second.status == "completed"
            return cid

    cid = run(scenario)
    entry = only_request(emu, f"/v1/process/audio/{cid}")
    assert entry.method == "PUT"
    assert entry.query_string == "mode=phone"
    assert entry.body == two.read_bytes()


@pytest.mark.parametrize("media", ["audio", "video"])
def test_process_url_sends_payload_and_parameters_in_the_body(emu: Emulator, media: str) -> None:
    url = f"https://example.com/call.{'wav' if media == 'audio' else 'mp4'}"
    emu.register_media(url=url, transcript=[{"text": "Hello there.", "start": 0, "end": 1}])

    async def scenario() -> None:
        async with make_client(emu) as client:
            resource = client.Audio if media == "audio" else client.Video
            conversation = await resource.process_url(
                payload={"url": url, "name": "Demo"},
                parameters={
                    "detect_phrases": True,
                    "enableSpeakerDiarization": True,
                    "diarizationSpeakerCount": 2,
                },
            )
            messages = (await conversation.get_messages()).messages
            assert [message.text for message in messages] == ["Hello there."]

    run(scenario)
    entry = only_request(emu, f"/v1/process/{media}/url")
    assert entry.method == "POST"
    assert entry.query_string == "enableSpeakerDiarization=true&diarizationSpeakerCount=2"
    assert entry.headers["content-type"] == "application/json"
    assert entry.json == {"url": url, "name": "Demo", "detectPhrases": True}
    assert_authenticated(entry, emu)


def test_append_url(emu: Emulator) -> None:
    url = "https://example.com/more.wav"
    emu.register_media(url=url, transcript=[{"text": "More words.", "start": 0, "end": 1}])

    async def scenario() -> str:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=MEETING)
            cid = conversation.get_conversation_id()
            appended = await client.Video.append_url(url, cid, wait=False)
            assert await appended.wait(5) is appended
            texts = [message.text for message in (await appended.get_messages()).messages]
            assert texts[-1] == "More words."
            return cid

    cid = run(scenario)
    entry = only_request(emu, f"/v1/process/video/url/{cid}")
    assert entry.method == "PUT"
    assert entry.json == {"url": url}


def test_text_process_merges_parameters_into_the_body(emu: Emulator) -> None:
    trackers = [{"name": "Promotion", "vocabulary": ["special promotion"]}]

    async def scenario() -> None:
        async with make_client(emu) as client:
            await client.Text.process(
                payload=MEETING, parameters={"trackers": trackers, "detectEntities": "true"}
            )

    run(scenario)
    entry = only_request(emu, "/v1/process/text")
    assert_text_body(entry, trackers)
    assert_authenticated(entry, emu)


def test_text_append(emu: Emulator) -> None:
    more = {"messages": [{"payload": {"content": "One more thing."}, "from": {"name": "Mike"}}]}

    async def scenario() -> str:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=MEETING)
            cid = conversation.get_conversation_id()
            appended = await client.Text.append(more, cid)
            texts = [message.text for message in (await appended.get_messages()).messages]
            assert texts[-1] == "One more thing."
            return cid

    cid = run(scenario)
    entry = only_request(emu, f"/v1/process/text/{cid}")
    assert entry.method == "PUT"
    assert entry.json == more


def test_credentials_argument_uses_that_account(emu: Emulator) -> None:
    emu.add_app("other-app", "other-secret")
    other = {"app_id": "other-app", "app_secret": "other-secret"}

    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=MEETING, credentials=other)
            assert isinstance(conversation.client, symbl.AsyncClient)
            assert conversation.client is not client
            assert conversation.client.credentials.app_id == "other-app"
            with pytest.raises(symbl.NotFoundError):  # it belongs to the other account
                await client.Conversations.get_messages(conversation.get_conversation_id())
        # Leaving the block closed the client made for the other account too (run() checks
        # that no session was left unclosed).

    run(scenario)
    assert only_request(emu, "/v1/process/text").app_id == "other-app"


def test_a_conversation_keeps_its_client(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=MEETING)
            assert conversation.client is client
            details = await client.Conversations.get_conversation(
                conversation.get_conversation_id()
            )
            assert details.name == MEETING["name"]

    run(scenario)


def test_appends_are_never_resent_after_a_server_error(emu: Emulator) -> None:
    more = {"messages": [{"payload": {"content": "Once only."}}]}

    async def scenario() -> str:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=MEETING)
            cid = conversation.get_conversation_id()
            emu.add_fault(path=f"/v1/process/text/{cid}", method="PUT", status=502, times=1)
            with pytest.raises(symbl.InternalServerError):
                await client.Text.append(more, cid)
            return cid

    cid = run(scenario)
    assert len(emu.requests(f"/v1/process/text/{cid}")) == 1, "a PUT append creates a job"


def test_a_submission_refused_with_503_is_sent_again(emu: Emulator) -> None:
    emu.add_fault(path="/v1/process/text", status=503, times=1)

    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=SHORT)
            assert conversation.status == "completed"

    run(scenario)
    submissions = emu.requests("/v1/process/text")
    assert [entry.status for entry in submissions] == [503, 201]
    assert submissions[0].body == submissions[1].body


# -- streamed uploads -------------------------------------------------------------------------


def test_upload_reports_progress_as_it_streams(emu: Emulator, tmp_path: Path) -> None:
    path = make_wav(tmp_path / "long.wav", seconds=20)  # more than two upload blocks
    size = path.stat().st_size
    seen: list[tuple[int, int]] = []

    async def scenario() -> None:
        async with make_client(emu) as client:
            await client.Audio.process_file(file_path=path, progress=lambda *p: seen.append(p))

    run(scenario)
    assert len(seen) >= 3, seen
    assert {total for _, total in seen} == {size}
    sent = [done for done, _ in seen]
    assert sent == sorted(sent) and sent[-1] == size
    assert sent[0] < size, "progress is reported while uploading, not only at the end"
    assert only_request(emu, "/v1/process/audio").body_sha256 == _sha256(path)


def test_a_retried_upload_sends_the_whole_file_again(emu: Emulator, tmp_path: Path) -> None:
    path = make_wav(tmp_path / "long.wav", seconds=20)
    size = path.stat().st_size
    emu.add_fault(path="/v1/process/audio", status=429, headers={"Retry-After": "0"}, times=1)
    seen: list[int] = []

    async def scenario() -> None:
        async with make_client(emu) as client:
            await client.Audio.process_file(file_path=path, progress=lambda d, t: seen.append(d))

    run(scenario)
    uploads = emu.requests("/v1/process/audio")
    assert [entry.status for entry in uploads] == [429, 201]
    assert uploads[1].body_size == size
    assert uploads[1].body_sha256 == _sha256(path)
    assert seen[-1] == size


def test_a_progress_callback_that_raises_aborts_the_upload_with_its_error(
    emu: Emulator, tmp_path: Path
) -> None:
    path = make_wav(tmp_path / "long.wav", seconds=20)
    size = path.stat().st_size

    def stop(done: int, total: int) -> None:
        if done > total // 2:
            raise ValueError("stop the upload")

    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(ValueError, match="stop the upload"):
                await client.Audio.process_file(file_path=path, progress=stop)

    run(scenario)
    uploads = emu.requests("/v1/process/audio")  # cut short (maybe before the server saw it)
    assert len(uploads) <= 1, "an upload stopped by its caller was sent again"
    assert all(upload.body_size < size for upload in uploads)
    # As with the synchronous client: the caller's own error, not a network one.
    sync = symbl.Client(emu.credentials, base_url=emu.base_url)
    with sync, pytest.raises(ValueError, match="stop the upload"):
        sync.Audio.process_file(file_path=path, progress=stop)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- bad input: a clear error, and nothing sent -----------------------------------------------


def bad_calls(tmp_path: Path) -> list[tuple[str, Any, str]]:
    """(label, call(client) -> awaitable, match): every way to submit a job wrongly."""
    wav = make_wav(tmp_path / "ok.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    url = {"url": "https://x.example/a.wav"}
    calls: list[tuple[str, Any, str]] = [
        ("missing file", lambda c: c.Audio.process_file(tmp_path / "no.wav"), "does not exist"),
        ("a directory", lambda c: c.Audio.process_file(tmp_path), "not a regular file"),
        ("empty file", lambda c: c.Video.process_file(empty), "is empty"),
        ("no path", lambda c: c.Audio.process_file(None), "file_path"),
        (
            "audio type",
            lambda c: c.Audio.process_file(wav, content_type="audio/ogg"),
            "not accepted",
        ),
        (
            "video type",
            lambda c: c.Video.process_file(wav, content_type="audio/wav"),
            "not accepted",
        ),
        (
            "text type",
            lambda c: c.Text.process(MEETING, content_type="text/plain"),
            "application/json",
        ),
        ("progress", lambda c: c.Audio.process_file(wav, progress=3), "progress"),
        ("wait", lambda c: c.Text.process(payload=MEETING, wait="no"), "wait"),
        ("url wait", lambda c: c.Audio.process_url(url, wait=1), "wait"),
        ("no url", lambda c: c.Audio.process_url(payload={"link": "https://x"}), "'url'"),
        ("ftp", lambda c: c.Video.process_url(payload={"url": "ftp://x/a.mp4"}), "http"),
        (
            "url option",
            lambda c: c.Audio.process_url(
                {"url": "https://x.example/a", "conversationType": "support"}
            ),
            "sales, general",
        ),
        (
            "given twice",
            lambda c: c.Audio.process_url(
                {"url": "https://x.example/a", "name": "a"}, parameters={"name": "b"}
            ),
            "both payload and parameters",
        ),
        ("no messages", lambda c: c.Text.process(payload={"message": []}), "'messages'"),
        ("empty messages", lambda c: c.Text.process(payload={"messages": []}), "non-empty"),
        ("no content", lambda c: c.Text.process({"messages": [{"payload": {}}]}), "content"),
        (
            "text option",
            lambda c: c.Text.process(MEETING, parameters={"startTime": "yesterday"}),
            "startTime must be an ISO-8601 time",
        ),
        (
            "credentials",
            lambda c: c.Text.process(payload=MEETING, credentials={"app_id": "x"}),
            "app_secret",
        ),
    ]
    for parameters, match in [
        ({"colour": {"red"}}, "colour is not JSON"),
        ({"confidenceThreshold": 2}, "0.5 to 1.0"),
        ({"detectEntities": "yes"}, "True or False"),
        ({"languageCode": "xx-XX"}, "not a supported language"),
        ({"mode": "radio"}, "phone, default"),
        ({"customVocabulary": "Platform"}, "list of strings"),
        ({"trackers": [{"name": "x"}]}, "vocabulary"),
        ({"webhookUrl": "not a url"}, "http"),
        ({"detect_entities": True, "detectEntities": True}, "twice"),
        ("name=x", "must be a dict"),
    ]:
        calls.append(
            (
                f"file {parameters}",
                lambda c, p=parameters: c.Audio.process_file(wav, parameters=p),
                match,
            )
        )
        calls.append(
            (
                f"url {parameters}",
                lambda c, p=parameters: c.Audio.process_url(url, parameters=p),
                match,
            )
        )
    for bad in ("", "  ", "12/34", "12?x", None, 1.5, True):
        calls.append(
            (f"id {bad!r}", lambda c, b=bad: c.Audio.append_file(wav, b), "conversation_id")
        )
        calls.append((f"id {bad!r}", lambda c, b=bad: c.Text.append(MEETING, b), "conversation_id"))
        calls.append(
            (f"id {bad!r}", lambda c, b=bad: c.Video.append_url(url, b), "conversation_id")
        )
    return calls


def test_every_bad_submission_is_refused_before_any_request(emu: Emulator, tmp_path: Path) -> None:
    calls = bad_calls(tmp_path)

    async def scenario() -> None:
        async with make_client(emu) as client:
            for label, call, match in calls:
                with pytest.raises(symbl.InvalidArgumentError, match=match):
                    await call(client)
                assert emu.requests() == [], label

    run(scenario)
    assert len(calls) > 40


def test_an_async_conversation_needs_an_async_client_and_good_ids(emu: Emulator) -> None:
    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(symbl.InvalidArgumentError, match="job_id"):
                symbl.AsyncConversation("123", job_id="a/b", client=client)
            with pytest.raises(symbl.InvalidArgumentError, match="conversation_id"):
                symbl.AsyncConversation("1 2", client=client)
            sync = symbl.Client(emu.credentials, base_url=emu.base_url)
            with sync, pytest.raises(symbl.InvalidArgumentError, match="AsyncClient"):
                symbl.AsyncConversation("123", client=sync)  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                symbl.AsyncConversation("123")  # type: ignore[call-arg]

    run(scenario)
    assert emu.requests() == []


# -- cancellation at every waiting point ------------------------------------------------------


def test_cancelling_a_task_waiting_for_its_job_stops_the_polling(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=30.0)

    async def scenario() -> None:
        async with make_client(emu, poll_interval=0.03, max_poll_interval=0.03) as client:
            task = asyncio.ensure_future(client.Text.process(payload=SHORT, wait=True))
            assert await until(lambda: len(job_polls(emu)) >= 3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert task.cancelled()
            await asyncio.sleep(0.05)  # a poll already on the wire may still land
            after_cancel = len(job_polls(emu))
            await asyncio.sleep(0.3)  # ten poll intervals
            assert len(job_polls(emu)) == after_cancel, "polls went on after cancellation"

    run(scenario)


def test_cancelling_wait_stops_the_polling_it_does(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=30.0)

    async def scenario() -> None:
        async with make_client(emu, poll_interval=0.03, max_poll_interval=0.03) as client:
            # Submitted by hand, so that nothing follows the job in the background.
            answer = await client.request("POST", "/v1/process/text", json=SHORT)
            rebuilt = symbl.AsyncConversation(
                answer["conversationId"], job_id=answer["jobId"], client=client
            )
            waiter = asyncio.ensure_future(rebuilt.wait())
            assert await until(lambda: len(job_polls(emu)) >= 3)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            await asyncio.sleep(0.05)  # a poll already on the wire may still land
            after_cancel = len(job_polls(emu))
            await asyncio.sleep(0.3)
            assert len(job_polls(emu)) == after_cancel, "the cancelled wait() still polls"
            with pytest.raises(symbl.WaitTimeoutError):  # waiting again polls again
                await rebuilt.wait(0.1)
            assert len(job_polls(emu)) > after_cancel

    run(scenario)


def test_cancelling_a_wait_leaves_the_background_poll_running(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.4)
    completed: list[object] = []

    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=SHORT, wait=False)
            conversation.on_complete(completed.append)
            waiter = asyncio.ensure_future(conversation.wait())
            await asyncio.sleep(0.05)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            assert completed == []
            assert await until(lambda: completed, timeout=5)
            assert conversation.status == "completed"
            assert await conversation.wait() is conversation

    run(scenario)


def test_wait_for_around_a_wait_true_submission(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=30.0)

    async def scenario() -> None:
        async with make_client(emu, poll_interval=0.03, max_poll_interval=0.03) as client:
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.Text.process(payload=SHORT), 0.3)
            assert time.monotonic() - started < 0.6
            await asyncio.sleep(0.05)  # a poll already on the wire may still land
            polls = len(job_polls(emu))
            assert polls >= 3
            await asyncio.sleep(0.2)
            assert len(job_polls(emu)) == polls

    run(scenario)


def test_cancelling_during_a_retry_wait_sends_no_retry(emu: Emulator) -> None:
    emu.add_fault(path="/v1/process/text", status=429, headers={"Retry-After": "5"}, times=1)

    async def scenario() -> None:
        async with make_client(emu) as client:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.Text.process(payload=SHORT, wait=False), 0.3)
            await asyncio.sleep(0.2)

    run(scenario)
    assert [entry.status for entry in emu.requests("/v1/process/text")] == [429]


def test_cancelling_an_upload_stops_it(emu: Emulator, tmp_path: Path) -> None:
    path = make_wav(tmp_path / "long.wav", seconds=20)
    emu.add_fault(path="/v1/process/audio", delay=5.0, times=1)

    async def scenario() -> None:
        async with make_client(emu) as client:
            await client.access_token()
            started = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(client.Audio.process_file(file_path=path), 0.2)
            assert time.monotonic() - started < 1.0
            # The client is still usable, and its file is closed.
            conversation = await client.Audio.process_file(file_path=path)
            assert conversation.status == "completed"

    run(scenario)
    assert len(emu.requests("/v1/process/audio")) == 2


def test_close_cancels_background_polls(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=30.0)
    fired: list[object] = []

    async def scenario() -> None:
        client = make_client(emu, poll_interval=0.03, max_poll_interval=0.03)
        conversations = await asyncio.gather(
            *(client.Text.process(payload=SHORT, wait=False) for _ in range(20))
        )
        for conversation in conversations:
            conversation.on_complete(fired.append).on_error(fired.append)
        assert await until(lambda: len(job_polls(emu)) >= 60)
        assert len(asyncio.all_tasks()) >= 21, "each job is followed by a task"
        await client.close()
        assert len(asyncio.all_tasks()) == 1
        await asyncio.sleep(0.05)  # a poll already on the wire may still land
        after_close = len(job_polls(emu))
        await asyncio.sleep(0.3)
        assert len(job_polls(emu)) == after_close, "a background poll outlived close()"

    run(scenario)
    assert fired == []


def test_close_does_not_cancel_a_task_waiting_for_a_background_poll(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=30.0)

    async def scenario() -> None:
        client = make_client(emu)
        conversation = await client.Text.process(payload=SHORT, wait=False)
        waiter = asyncio.ensure_future(conversation.wait())
        await asyncio.sleep(0.05)
        await client.close()
        with pytest.raises(symbl.SymblError, match="client was closed") as caught:
            await waiter
        assert not waiter.cancelled(), "close() cancelled a task it does not own"
        assert type(caught.value) is symbl.SymblError

    run(scenario)


def test_close_cancels_a_running_coroutine_callback(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=0.0)
    states: list[str] = []

    async def slow(conversation: object) -> None:
        states.append("started")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            states.append("cancelled")
            raise

    async def scenario() -> None:
        async with make_client(emu) as client:
            conversation = await client.Text.process(payload=SHORT)
            conversation.on_complete(slow)  # already complete: starts now, in a task
            assert await until(lambda: states)
        assert states == ["started", "cancelled"]

    run(scenario)


# -- scale without threads --------------------------------------------------------------------


def test_a_thousand_background_jobs_on_one_loop_and_no_thread(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=1.0)
    completed: list[object] = []
    most_tasks = 0

    async def scenario() -> None:
        nonlocal most_tasks
        threads = set(threading.enumerate())
        async with make_client(emu) as client:
            conversations = await asyncio.gather(
                *(client.Text.process(payload=SHORT, wait=False) for _ in range(1000))
            )
            most_tasks = len(asyncio.all_tasks())
            for conversation in conversations:
                conversation.on_complete(completed.append)
            assert await until(lambda: len(completed) == 1000, timeout=30)
            assert set(threading.enumerate()) == threads
            assert all(conversation.status == "completed" for conversation in conversations)
            assert len({c.get_conversation_id() for c in conversations}) == 1000

    run(scenario)
    assert most_tasks > 100, "each job is followed by a task of the loop"
    assert len({id(conversation) for conversation in completed}) == 1000


# -- without aiohttp --------------------------------------------------------------------------

WITHOUT_AIOHTTP = """
import json, sys

if sys.argv[1] == "hook":
    class NoAiohttp:
        def find_spec(self, name, path=None, target=None):
            if name == "aiohttp" or name.startswith("aiohttp."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoAiohttp())
else:
    sys.modules["aiohttp"] = None

import symbl

report = {"imported": "aiohttp" in sys.modules and sys.modules["aiohttp"] is not None}
try:
    symbl.AsyncClient()  # no credentials anywhere either: the missing extra is named first
except symbl.MissingDependencyError as exc:
    report.update(
        error=str(exc),
        symbl_error=isinstance(exc, symbl.SymblError),
        import_error=isinstance(exc, ImportError),
    )
symbl.Client({"app_id": "a", "app_secret": "b"}, base_url="http://127.0.0.1:9").close()
print(json.dumps(report))
"""


@pytest.mark.parametrize("blocked_by", ["hook", "sys.modules"])
def test_without_aiohttp_import_works_and_async_client_says_how_to_install(
    tmp_path: Path, blocked_by: str
) -> None:
    result = subprocess.run(
        [PYTHON, "-c", WITHOUT_AIOHTTP, blocked_by],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["imported"] is False
    assert "pip install 'symbl[asyncio]'" in report["error"]
    assert report["symbl_error"] is True
    assert report["import_error"] is True


def test_no_debug_log_leaks_the_token(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> str:
        async with make_client(emu) as client:
            with caplog.at_level(logging.DEBUG):
                await client.Text.process(payload=SHORT)
            return await client.access_token()

    token = run(scenario)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name == "symbl")
    assert f"POST {emu.base_url}/v1/process/text -> 201 in " in ours
    assert "GET " in ours and "/v1/job/" in ours
    everything = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (token, emu.app_secret):
        assert secret not in everything
