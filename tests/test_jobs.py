"""Async jobs: adaptive polling, waiting, callbacks exactly once, failures, timeouts, resuming."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

import symbl
from symbl.emulator import Emulator

from helpers import (
    DATA,
    MEETING,
    PYTHON,
    assert_resumed_elsewhere,
    make_wav,
    sdk_threads,
    subprocess_env,
    wait_until,
)


def job_polls(emu: Emulator) -> list[float]:
    return [entry.received_at for entry in emu.requests("/v1/job/")]


def test_wait_true_returns_completed_and_polls_adaptively(emu_env: Emulator) -> None:
    emu_env.configure(job_queue_seconds=0.0, job_processing_seconds=1.5)
    started = time.time()
    conversation = symbl.Text.process(payload=MEETING)
    elapsed = time.time() - started
    assert conversation.get_job_status() == "completed"
    polls = job_polls(emu_env)
    submitted = emu_env.requests("/v1/process/text")[0].received_at
    assert polls[0] - submitted < 0.1, "the first poll goes out at once"
    gaps = [later - earlier for earlier, later in zip(polls, polls[1:])]
    assert gaps[0] == pytest.approx(0.25, abs=0.1)
    assert all(later >= earlier - 0.05 for earlier, later in zip(gaps, gaps[1:])), gaps
    assert 1.5 <= elapsed < 2.5


def test_instant_job_costs_one_poll(emu_env: Emulator) -> None:
    emu_env.configure(job_queue_seconds=0.0, job_processing_seconds=0.0)
    conversation = symbl.Text.process(payload=MEETING)
    assert conversation.get_job_status() == "completed"
    assert len(job_polls(emu_env)) == 1


def test_polling_interval_is_capped(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=1.0)
    client = symbl.Client(
        emu.credentials, base_url=emu.base_url, poll_interval=0.05, max_poll_interval=0.1
    )
    client.Text.process(payload=MEETING)
    polls = job_polls(emu)
    gaps = [later - earlier for earlier, later in zip(polls, polls[1:])]
    assert max(gaps) < 0.2
    assert len(polls) >= 8


def test_wait_false_returns_at_once_and_callbacks_fire_once(emu_env: Emulator) -> None:
    emu_env.configure(job_queue_seconds=0.0, job_processing_seconds=0.5)
    completed: list[symbl.Conversation] = []
    errors: list[symbl.Conversation] = []
    started = time.monotonic()
    conversation = symbl.Text.process(payload=MEETING, wait=False)
    assert time.monotonic() - started < 0.3
    assert conversation.on_complete(completed.append).on_error(errors.append) is conversation
    assert wait_until(lambda: completed, timeout=5)
    late: list[symbl.Conversation] = []
    conversation.on_complete(late.append)  # registered after completion: fires at once
    conversation.on_error(errors.append)  # never fires: the job did not fail
    time.sleep(0.3)
    assert completed == [conversation]
    assert late == [conversation]
    assert errors == []
    assert conversation.get_messages().messages
    assert wait_until(lambda: not sdk_threads(), timeout=2), sdk_threads()


def test_callback_runs_on_the_poller_thread_and_a_raising_one_is_logged(
    emu_env: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu_env.configure(job_queue_seconds=0.0, job_processing_seconds=0.2)
    threads: list[str] = []
    conversation = symbl.Text.process(payload=MEETING, wait=False)

    def boom(_: object) -> None:
        threads.append(threading.current_thread().name)
        raise RuntimeError("callback bug")

    conversation.on_complete(boom).on_complete(lambda c: threads.append("second"))
    conversation.wait(5)
    assert wait_until(lambda: len(threads) == 2)
    assert threads[0].startswith("symbl-job-")
    assert "callback bug" in caplog.text


def test_failed_job_raises_with_wait_true(emu_env: Emulator) -> None:
    emu_env.configure(fail_jobs=True, job_queue_seconds=0.0, job_processing_seconds=0.0)
    with pytest.raises(symbl.JobFailedError) as caught:
        symbl.Text.process(payload=MEETING)
    error = caught.value
    assert error.status == "failed"
    assert error.job_id and error.conversation_id
    assert error.job_id in str(error)


def test_failed_job_fires_on_error_once_even_when_registered_late(emu_env: Emulator) -> None:
    emu_env.configure(fail_jobs=True, job_queue_seconds=0.0, job_processing_seconds=0.2)
    early: list[object] = []
    late: list[object] = []
    completed: list[object] = []
    conversation = symbl.Text.process(payload=MEETING, wait=False).on_error(early.append)
    conversation.on_complete(completed.append)
    with pytest.raises(symbl.JobFailedError):
        conversation.wait(5)
    conversation.on_error(late.append)
    assert wait_until(lambda: early)
    assert early == [conversation]
    assert late == [conversation]
    assert completed == []
    assert isinstance(conversation.error, symbl.JobFailedError)
    assert conversation.get_job_status() == "failed"


def test_undecodable_media_fails_the_job(emu_env: Emulator, tmp_path: Path) -> None:
    garbage = tmp_path / "notes.wav"
    garbage.write_bytes(b"%PDF-1.4 this is not audio" * 10)
    with pytest.raises(symbl.JobFailedError):
        symbl.Audio.process_file(file_path=garbage)


def test_a_job_that_never_ends_times_out_clearly(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=30.0)
    client = symbl.Client(emu.credentials, base_url=emu.base_url, job_timeout=0.6)
    started = time.monotonic()
    with pytest.raises(symbl.WaitTimeoutError) as caught:
        client.Text.process(payload=MEETING)
    assert 0.5 < time.monotonic() - started < 1.5
    assert "in_progress" in str(caught.value)
    assert isinstance(caught.value, TimeoutError)


def test_wait_with_timeout_can_be_called_again(emu_env: Emulator) -> None:
    emu_env.configure(job_queue_seconds=0.0, job_processing_seconds=0.8)
    conversation = symbl.Text.process(payload=MEETING, wait=False)
    with pytest.raises(symbl.WaitTimeoutError):
        conversation.wait(timeout=0.1)
    assert conversation.wait(timeout=5) is conversation
    assert conversation.get_job_status() == "completed"


def test_background_poller_gives_up_at_job_timeout_and_reports_it(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=30.0)
    client = symbl.Client(emu.credentials, base_url=emu.base_url, job_timeout=0.4)
    errors: list[symbl.Conversation] = []
    conversation = client.Text.process(payload=MEETING, wait=False).on_error(errors.append)
    assert wait_until(lambda: errors, timeout=3)
    assert isinstance(conversation.error, symbl.WaitTimeoutError)


def test_polling_survives_a_transient_failure(emu_env: Emulator) -> None:
    emu_env.configure(job_queue_seconds=0.0, job_processing_seconds=0.5)
    emu_env.add_fault(path="/v1/job/*", status=503, times=3)
    conversation = symbl.Text.process(payload=MEETING)
    assert conversation.get_job_status() == "completed"


def test_unknown_job_is_not_found(emu_env: Emulator) -> None:
    conversation = symbl.Conversation(
        "5000000000000000", job_id="0f0f0f0f-0000-0000-0000-000000000000"
    )
    with pytest.raises(symbl.NotFoundError):
        conversation.wait(2)
    with pytest.raises(symbl.NotFoundError):
        conversation.on_error(lambda c: None).wait(2)


def test_conversation_is_rebuilt_from_ids_in_another_process(emu_env: Emulator) -> None:
    emu_env.configure(job_queue_seconds=0.0, job_processing_seconds=1.0)
    conversation = symbl.Text.process(payload=MEETING, wait=False)
    script = (
        "import symbl, sys\n"
        "c = symbl.Conversation(sys.argv[1], job_id=sys.argv[2])\n"
        "c.wait(10)\n"
        "print(c.get_job_status(), len(c.get_messages().messages))\n"
    )
    assert_resumed_elsewhere(script, conversation, emu_env)


def test_a_script_that_ends_right_after_wait_false_still_gets_its_callback(
    emu_env: Emulator,
) -> None:
    emu_env.configure(job_queue_seconds=0.0, job_processing_seconds=0.5)
    script = (
        "import json, sys, symbl\n"
        "payload = json.load(open(sys.argv[1]))\n"
        "symbl.Text.process(payload=payload, wait=False).on_complete(\n"
        "    lambda c: print('done', c.get_job_status()))\n"
    )
    result = subprocess.run(
        [PYTHON, "-c", script, str(DATA / "meeting.json")],
        env=subprocess_env(emu_env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done completed"


def test_callbacks_need_a_callable_and_a_job(emu_env: Emulator) -> None:
    conversation = symbl.Text.process(payload=MEETING)
    with pytest.raises(symbl.InvalidArgumentError, match="callable"):
        conversation.on_complete("not a function")  # type: ignore[arg-type]
    without_job = symbl.Conversation(conversation.get_conversation_id())
    assert without_job.get_job_id() is None
    assert without_job.get_job_status() is None
    assert without_job.wait() is without_job
    with pytest.raises(symbl.InvalidArgumentError, match="has none"):
        without_job.on_complete(print)


def test_wav_upload_completes_with_the_embedded_transcript(
    emu_env: Emulator, tmp_path: Path
) -> None:
    conversation = symbl.Audio.process_file(file_path=make_wav(tmp_path / "a.wav"))
    texts = [message.text for message in conversation.get_messages().messages]
    assert texts == ["Can you send the report by Friday?", "Yes, I will send it tomorrow."]


def test_polling_gives_up_when_the_service_is_gone(emu: Emulator) -> None:
    emu.configure(job_queue_seconds=0.0, job_processing_seconds=30.0)
    client = symbl.Client(
        emu.credentials,
        base_url=emu.base_url,
        poll_interval=0.02,
        max_poll_interval=0.05,
        max_retries=0,
    )
    errors: list[symbl.Conversation] = []
    conversation = client.Text.process(payload=MEETING, wait=False).on_error(errors.append)
    emu.add_fault(path="/v1/job/*", status=503)
    assert wait_until(lambda: errors, timeout=5)
    assert isinstance(conversation.error, symbl.InternalServerError)
    assert wait_until(lambda: not sdk_threads(), timeout=3)


def test_callbacks_on_a_rebuilt_conversation_start_following_the_job(emu_env: Emulator) -> None:
    emu_env.configure(job_queue_seconds=0.0, job_processing_seconds=0.3)
    original = symbl.Text.process(payload=MEETING, wait=False)
    completed: list[symbl.Conversation] = []
    rebuilt = symbl.Conversation(original.get_conversation_id(), job_id=original.get_job_id())
    rebuilt.on_complete(completed.append)
    assert wait_until(lambda: completed, timeout=5), "fires without anyone calling wait()"
    assert completed == [rebuilt]
