"""symbl.Batch against the emulator with the account's limit on: the limit holds, every input
gets a result, and nothing is submitted twice (not after a ``kill -9`` either). Dask runs are in
test_batch_dask.py."""

from __future__ import annotations

import collections
import csv
import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import symbl
from symbl._resources import batch_local
from symbl.emulator import Emulator

from helpers import MEETING, PYTHON, make_wav, subprocess_env

LINES = MEETING["messages"][:3]


def text(name: str) -> dict[str, Any]:
    return {"name": name, "messages": LINES}


def fast_client(emu: Emulator) -> symbl.Client:
    """Polls often, so that a batch of short jobs is quick."""
    return symbl.Client(
        emu.credentials,
        base_url=emu.base_url,
        retry_backoff=0.01,
        poll_interval=0.02,
        max_poll_interval=0.05,
    )


def accepted_names(emu: Emulator) -> collections.Counter[str]:
    """How many times the emulator accepted (201) a text job of each name."""
    return collections.Counter(
        json.loads(entry.body)["name"]
        for entry in emu.requests("/v1/process/text", "POST")
        if entry.status == 201
    )


def test_max_concurrency_holds_when_the_account_allows_more(emu: Emulator) -> None:
    emu.configure(max_jobs_in_progress=0, job_processing_seconds=0.03)
    names = [f"call {number}" for number in range(30)]
    seen: list[symbl.BatchProgress] = []
    with symbl.Batch(max_concurrency=3, client=fast_client(emu)) as batch:
        for name in names:
            batch.add_text(text(name))
        results = list(batch.run(progress=seen.append))
    assert {result.status for result in results} == {"completed"}
    assert emu.jobs_in_progress()[1] <= 3  # the batch's own limit, never the emulator's
    assert {entry.status for entry in emu.requests("/v1/process/text")} == {201}
    assert accepted_names(emu) == collections.Counter(names)
    assert {progress.concurrency for progress in seen} == {3}
    assert len({result.id for result in results}) == 30


def test_a_few_hundred_inputs_stay_within_the_account_limit(emu: Emulator) -> None:
    emu.configure(max_jobs_in_progress=5, job_processing_seconds=0.02)
    names = [f"call {number}" for number in range(240)]
    seen: list[symbl.BatchProgress] = []
    with symbl.Batch(max_concurrency=8, client=fast_client(emu)) as batch:
        for name in names:
            batch.add_text(text(name))
        results = list(batch.run(progress=seen.append))
    assert sorted(result.input for result in results) == sorted(names)
    assert {result.status for result in results} == {"completed"}  # none failed for the limit
    assert all(result.conversation_id and result.error is None for result in results)
    now, most = emu.jobs_in_progress()
    assert (now, most) == (0, 5)
    statuses = collections.Counter(entry.status for entry in emu.requests("/v1/process/text"))
    assert statuses[201] == 240 and set(statuses) <= {201, 429}
    assert accepted_names(emu) == collections.Counter(names)  # each exactly once
    assert min(progress.concurrency for progress in seen) < 8  # it learned the limit
    assert seen[-1].completed == 240 and seen[-1].total == 240


def test_every_input_gets_a_result_and_a_second_run_sends_nothing(
    emu: Emulator, tmp_path: Path
) -> None:
    recording = make_wav(tmp_path / "call.wav", seconds=3.0)
    journal = tmp_path / "archive.db"
    with symbl.Batch(journal, max_concurrency=3, client=fast_client(emu)) as batch:
        assert batch.add_file(recording, parameters={"name": "a recording"}) == str(recording)
        batch.add_text(text("notes"))
        batch.add_text(text("notes"))  # the same payload again: one input
        batch.add_url("https://media.example.com/call.mp4", media="video")
        first = {result.input: result for result in batch.run()}
    assert set(first) == {str(recording), "notes", "https://media.example.com/call.mp4"}
    assert first[str(recording)].status == "completed"
    assert first["notes"].status == "completed"
    # The emulator may not download from that host: the job fails, its result says why.
    failed = first["https://media.example.com/call.mp4"]
    assert failed.status == "failed" and isinstance(failed.error, symbl.JobFailedError)
    assert failed.conversation_id and failed.job_id

    sent = len(emu.requests("/v1/"))
    with symbl.Batch(journal, max_concurrency=3, client=fast_client(emu)) as again:
        again.add_file(recording, parameters={"name": "a recording"})
        second = {result.input: result for result in again.run()}
    assert len(emu.requests("/v1/")) == sent  # done before: nothing submitted nor polled
    assert {name: result.status for name, result in second.items()} == {
        name: result.status for name, result in first.items()
    }
    assert isinstance(second[failed.input].error, symbl.JobFailedError)


def test_bad_inputs_are_refused_when_added_and_nothing_is_sent(
    emu: Emulator, tmp_path: Path
) -> None:
    with symbl.Batch(client=fast_client(emu)) as batch:
        with pytest.raises(symbl.InvalidArgumentError, match=r"missing\.wav"):
            batch.add_file(tmp_path / "missing.wav")
        with pytest.raises(symbl.InvalidArgumentError, match="confidenceThreshold"):
            batch.add_text(text("x"), parameters={"confidenceThreshold": 7})
        with pytest.raises(symbl.InvalidArgumentError, match="url"):
            batch.add_url("ftp://example.com/a.wav")
        with pytest.raises(symbl.InvalidArgumentError, match="media"):
            batch.add_url("https://example.com/a.wav", media="podcast")
        with pytest.raises(symbl.InvalidArgumentError, match="progress"):
            batch.run(progress="not a function")  # type: ignore[arg-type]
        assert list(batch.run()) == []
    assert emu.requests("/v1/") == []
    with pytest.raises(symbl.InvalidArgumentError, match="max_concurrency"):
        symbl.Batch(max_concurrency=0, client=fast_client(emu))


def test_results_export_as_json_lines_and_csv(emu: Emulator, tmp_path: Path) -> None:
    with symbl.Batch(client=fast_client(emu)) as batch:
        batch.add_text(text("one"))
        batch.add_text(text("two"))
        batch.add_url("https://media.example.com/call.mp4")  # a host the emulator refuses
        results = list(batch.run())
        assert batch.export("jsonl", tmp_path / "results.jsonl") == 3
        assert batch.export("csv", tmp_path / "results.csv") == 3
        with pytest.raises(symbl.InvalidArgumentError, match="jsonl"):
            batch.export("xml", tmp_path / "results.xml")
    lines = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [line["input"] for line in lines] == ["one", "two", "https://media.example.com/call.mp4"]
    assert [line["status"] for line in lines] == ["completed", "completed", "failed"]
    assert lines[2]["error_type"] == "JobFailedError" and "failed" in lines[2]["error"]
    ids = {result.input: result.conversation_id for result in results}
    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert {row["input"]: row["conversation_id"] for row in rows} == ids


def test_a_journal_runs_in_one_process_at_a_time(emu: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "archive.db"
    with symbl.Batch(journal, client=fast_client(emu)) as first:
        first.add_text(text("one"))
        running = first.run()
        next(running)  # the run holds the journal now
        with (
            symbl.Batch(journal, client=fast_client(emu)) as second,
            pytest.raises(symbl.ConfigurationError, match="another process"),
        ):
            list(second.run())
        running.close()
        assert not Path(f"{journal}.lock").exists()  # removed when the run let go
        with symbl.Batch(journal, client=fast_client(emu)) as third:
            assert [result.input for result in third.run()] == ["one"]


def test_a_second_run_of_one_batch_is_refused_while_the_first_goes_on(emu: Emulator) -> None:
    with symbl.Batch(max_concurrency=1, client=fast_client(emu)) as batch:
        batch.add_text(text("one"))
        batch.add_text(text("two"))
        running = batch.run()
        first = next(running)
        with pytest.raises(symbl.ConfigurationError, match="being run already"):
            next(batch.run())
        rest = list(running)  # the first run is unharmed, and ends
        assert sorted([first.input, *(result.input for result in rest)]) == ["one", "two"]
        assert [result.input for result in batch.run()] == ["one", "two"]  # from the journal
    assert accepted_names(emu) == collections.Counter(["one", "two"])


def test_an_input_that_fails_here_does_not_stop_the_run(emu: Emulator, tmp_path: Path) -> None:
    kept, gone, changed = (
        make_wav(tmp_path / f"{name}.wav") for name in ("kept", "gone", "changed")
    )
    with symbl.Batch(max_concurrency=2, client=fast_client(emu)) as batch:
        for path in (kept, gone, changed):
            batch.add_file(path)
        batch.add_text(text("notes"))
        gone.unlink()
        make_wav(changed, seconds=2.0)
        results = {Path(result.input).stem: result for result in batch.run()}
    statuses = {name: result.status for name, result in results.items()}
    assert statuses == {
        "kept": "completed",
        "gone": "failed",
        "changed": "failed",
        "notes": "completed",
    }
    assert isinstance(results["gone"].error, symbl.InvalidArgumentError)
    assert "no longer there" in str(results["gone"].error)
    assert isinstance(results["changed"].error, symbl.InvalidArgumentError)
    assert "changed since it was added" in str(results["changed"].error)
    assert len(emu.requests("/v1/process/audio", "POST")) == 1  # neither was sent


@pytest.mark.timeout(30)
def test_an_input_another_run_took_is_not_waited_for(emu: Emulator, tmp_path: Path) -> None:
    emu.configure(job_processing_seconds=0.2)
    journal = tmp_path / "archive.db"

    def take_the_last(progress: symbl.BatchProgress) -> None:
        db = sqlite3.connect(journal, timeout=5)
        with db:
            db.execute("UPDATE inputs SET status = 'failed' WHERE label = 'call 2'")
        db.close()

    with symbl.Batch(journal, max_concurrency=1, client=fast_client(emu)) as batch:
        for number in range(3):
            batch.add_text(text(f"call {number}"))
        results = list(batch.run(progress=take_the_last))
    assert sorted(result.input for result in results) == ["call 0", "call 1"]
    assert accepted_names(emu) == collections.Counter(["call 0", "call 1"])


def test_a_503_waits_without_lowering_the_limit(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(batch_local, "_FIRST_BACKOFF", 0.02)
    emu.add_fault(path="/v1/process/text", method="POST", status=503, times=2)
    with symbl.Batch(max_concurrency=4, client=fast_client(emu)) as batch, caplog.at_level("INFO"):
        for number in range(4):
            batch.add_text(text(f"call {number}"))
        results = list(batch.run())
    assert {result.status for result in results} == {"completed"}
    statuses = collections.Counter(entry.status for entry in emu.requests("/v1/process/text"))
    assert statuses == collections.Counter({201: 4, 503: 2})  # each 503 sent once, by the batch
    assert "at its limit" not in caplog.text


def test_a_429_lowers_the_limit_and_its_retry_after_is_honoured(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Retry-After": "0.3"}
    emu.add_fault(path="/v1/process/text", method="POST", status=429, headers=headers, times=1)
    with symbl.Batch(max_concurrency=4, client=fast_client(emu)) as batch, caplog.at_level("INFO"):
        for number in range(4):
            batch.add_text(text(f"call {number}"))
        results = list(batch.run())
    assert {result.status for result in results} == {"completed"}
    posts = emu.requests("/v1/process/text", "POST")
    (refused,) = [entry for entry in posts if entry.status == 429]  # not resent by the client
    name = json.loads(refused.body)["name"]
    (again,) = [
        entry for entry in posts if entry.status == 201 and json.loads(entry.body)["name"] == name
    ]
    assert again.received_at - refused.received_at >= 0.3
    assert "the account is at its limit of jobs" in caplog.text  # the batch saw the 429


def test_a_job_still_running_after_job_timeout_stays_in_progress(emu: Emulator) -> None:
    emu.configure(job_processing_seconds=5.0)
    client = symbl.Client(
        emu.credentials,
        base_url=emu.base_url,
        poll_interval=0.02,
        max_poll_interval=0.05,
        job_timeout=0.3,
    )
    with symbl.Batch(client=client) as batch:
        batch.add_text(text("long"))
        (result,) = batch.run()
        assert result.status == "in_progress" and result.job_id
        assert isinstance(result.error, symbl.WaitTimeoutError)
        assert [waiting.job_id for waiting in batch.in_progress()] == [result.job_id]


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE notes (body TEXT)")
    with pytest.raises(symbl.ConfigurationError, match=r"other\.db.*another program"):
        symbl.Batch(foreign, credentials={"app_id": "a", "app_secret": "s"})
    with sqlite3.connect(foreign) as db:  # left as it was
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]
    (tmp_path / "notes.txt").write_text("not a database at all " * 100)
    with pytest.raises(symbl.ConfigurationError, match=r"notes\.txt"):
        symbl.Batch(tmp_path / "notes.txt", credentials={"app_id": "a", "app_secret": "s"})
    newer = tmp_path / "newer.db"
    symbl.Batch(newer, credentials={"app_id": "a", "app_secret": "s"}).close()
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(symbl.ConfigurationError, match=r"newer\.db.*format 99"):
        symbl.Batch(newer, credentials={"app_id": "a", "app_secret": "s"})


_CHILD = """
import sys
import symbl

batch = symbl.Batch(sys.argv[1], max_concurrency=4, client=symbl.Client(
    poll_interval=0.02, max_poll_interval=0.05, retry_backoff=0.01))
for number in range(40):
    batch.add_text({"name": f"call {number}", "messages": %r})
for result in batch.run():
    pass
"""


def test_a_batch_killed_with_sigkill_resumes_without_submitting_twice(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.configure(max_jobs_in_progress=4, job_processing_seconds=0.3)
    journal = tmp_path / "archive.db"
    child = subprocess.Popen(
        [PYTHON, "-c", _CHILD % (LINES,), str(journal)], env=subprocess_env(emu)
    )
    try:
        deadline = time.monotonic() + 30
        while _count(journal, "job_id IS NOT NULL") < 10:
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        # From now on submissions hang, and are then cut unanswered: the child is killed
        # while one is in flight, which the service never acted on.
        hung_since = time.time()
        emu.add_fault(path="/v1/process/text", method="POST", delay=3, drop=True)
        while not _count(journal, f"status = 'submitting' AND updated_at > {hung_since}"):
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    emu.clear_faults()
    before = accepted_names(emu)
    assert 10 <= sum(before.values()) < 40
    with symbl.Batch(journal, max_concurrency=4, client=fast_client(emu)) as batch:
        results = {result.input: result for result in batch.run()}
        uncertain = [name for name, result in results.items() if result.status == "uncertain"]
        # A run stopped between "submitting" and the answer: it may or may not have arrived.
        assert 1 <= len(uncertain) <= 4
        for name in uncertain:
            assert "retry_uncertain" in str(results[name].error)
        unsent = [results[name].id for name in uncertain if before[name] == 0]
        assert unsent  # at least the one that hung
        assert batch.retry_uncertain(*unsent) == len(unsent)
        retried = {result.id: result.status for result in batch.run()}
    assert len(results) == 40
    assert {result.status for result in results.values()} <= {"completed", "uncertain"}
    assert all(retried[row_id] == "completed" for row_id in unsent)
    assert accepted_names(emu) == collections.Counter(f"call {number}" for number in range(40))


def _count(journal: Path, where: str) -> int:
    """Inputs the journal has that match ``where`` (0 before the child created it)."""
    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(journal, timeout=1) as db:
            (count,) = db.execute(f"SELECT COUNT(*) FROM inputs WHERE {where}").fetchone()
    except sqlite3.OperationalError:  # the child is still creating its tables
        return 0
    return int(count)


def test_the_emulator_limits_live_streams_per_app(emu_env: Emulator) -> None:
    emu_env.configure(max_live_streams=1)
    first = symbl.Streaming.start_connection()
    try:
        with pytest.raises(symbl.StreamingError, match="concurrent streaming") as refused:
            symbl.Streaming.start_connection()
        assert refused.value.status_code == 429
    finally:
        first.stop()
    symbl.Streaming.start_connection().stop()  # room again once the first ended
