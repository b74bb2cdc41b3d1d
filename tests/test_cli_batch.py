"""``symbl process`` as a batch: a bad path in its own row, a journal that resumes, and, in a
real terminal (tmux), Ctrl+C within 2 s with the ids of what was submitted, and a results table
that fits 80 columns."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import symbl
from symbl._cli import process
from symbl._resources.journal import Journal
from symbl.emulator import Emulator

from helpers import make_wav, subprocess_env, wait_until

SYMBL = shutil.which("symbl", path=str(Path(sys.executable).parent)) or "symbl"
TMUX = shutil.which("tmux")
needs_tmux = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)")


def recordings(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        # Different lengths: different contents.
        make_wav(folder / f"call-{number:02d}.wav", seconds=2.0 + number / 10)
    return folder


def run(emu: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SYMBL, *args], env=subprocess_env(emu), capture_output=True, text=True, timeout=60
    )


def test_a_bad_path_gets_its_row_and_a_journal_resumes(emu: Emulator, tmp_path: Path) -> None:
    folder = recordings(tmp_path / "calls", 3)
    journal = tmp_path / "run.db"
    command = ("process", str(folder), str(tmp_path / "missing.wav"), "--journal", str(journal))
    first = run(emu, *command, "--json")
    assert first.returncode == 1, first.stderr
    rows = {Path(row["source"]).name: row for row in json.loads(first.stdout)}
    assert rows["missing.wav"]["status"] == "error"
    assert "missing.wav does not exist" in rows["missing.wav"]["error"]
    done = {name: row for name, row in rows.items() if name != "missing.wav"}
    assert len(done) == 3
    assert all(row["status"] == "completed" and row["conversationId"] for row in done.values())
    uploads = len(emu.requests("/v1/process/audio"))
    assert uploads == 3

    again = run(emu, *command, "--json")
    assert len(emu.requests("/v1/process/audio")) == uploads  # nothing submitted twice
    assert {Path(row["source"]).name: row for row in json.loads(again.stdout)} == rows


@pytest.fixture
def terminal() -> Iterator[str]:
    """A private tmux server; yields its socket name."""
    if TMUX is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    socket = f"symbl-test-{uuid.uuid4().hex[:8]}"
    yield socket
    subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True, check=False)


def start(socket: str, emu: Emulator, command: str, width: int = 80) -> None:
    """Run ``command`` in a new tmux session of ``width`` columns; it prints EXIT=<code>."""
    env = [f"-e{name}={value}" for name, value in subprocess_env(emu).items() if name != "TMUX"]
    subprocess.run(
        [TMUX, "-L", socket, "new-session", "-d", "-x", str(width), "-y", "50", *env],
        check=True,
    )
    # Quoted apart, so that the typed command does not show the marker its output looks for.
    send(socket, f'{command}; echo "EXI""T=$?"', "Enter")


def exit_code(socket: str) -> int | None:
    """The code the command exited with, once it has."""
    codes = re.findall(r"^EXIT=(\d+)$", screen(socket), re.MULTILINE)
    return int(codes[0]) if codes else None


def send(socket: str, *keys: str) -> None:
    subprocess.run([TMUX, "-L", socket, "send-keys", "-t", "0", *keys], check=True)


def screen(socket: str, joined: bool = False) -> str:
    """The terminal's text (``joined``: lines the terminal wrapped joined back)."""
    flags = ["-J"] if joined else []
    return subprocess.run(
        [TMUX, "-L", socket, "capture-pane", "-p", "-t", "0", "-S", "-200", *flags],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@needs_tmux
def test_ctrl_c_stops_within_two_seconds_and_prints_the_ids(
    emu: Emulator, tmp_path: Path, terminal: str
) -> None:
    emu.configure(job_processing_seconds=3.0)  # long enough to be interrupted
    folder = recordings(tmp_path / "calls", 6)
    journal = tmp_path / "run.db"
    start(terminal, emu, f"{SYMBL} process {folder} --journal {journal} --concurrency 3")
    assert wait_until(lambda: len(emu.requests("/v1/process/audio")) == 3, timeout=20)
    time.sleep(0.2)  # the third answer reaches the journal
    pressed = time.monotonic()
    send(terminal, "C-c")
    assert wait_until(lambda: exit_code(terminal) is not None, timeout=5)
    assert time.monotonic() - pressed < 2.0
    assert exit_code(terminal) == 130
    text = screen(terminal)
    assert "symbl: 3 job(s) still running on the service:" in text
    for job in emu.call(emu.state.jobs.all):
        assert job.id in text
    assert "run the same command again to follow them" in text

    emu.configure(job_processing_seconds=0.05)
    resumed = run(emu, "process", str(folder), "--journal", str(journal), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert {row["status"] for row in json.loads(resumed.stdout)} == {"completed"}
    assert len(emu.requests("/v1/process/audio")) == 6  # the first three were not sent again


@needs_tmux
def test_ctrl_c_during_unanswered_uploads_still_exits_within_two_seconds(
    emu: Emulator, tmp_path: Path, terminal: str
) -> None:
    emu.add_fault(path="/v1/process/audio", delay=10.0)  # the answers are late
    folder = recordings(tmp_path / "calls", 4)
    journal = tmp_path / "run.db"
    start(terminal, emu, f"{SYMBL} process {folder} --journal {journal} --concurrency 2")
    assert wait_until(lambda: len(emu.requests("/v1/process/audio")) == 2, timeout=20)
    pressed = time.monotonic()
    send(terminal, "C-c")
    assert wait_until(lambda: exit_code(terminal) is not None, timeout=5)
    assert time.monotonic() - pressed < 2.0
    assert exit_code(terminal) == 130
    text = screen(terminal, joined=True)
    assert "2 submission(s) were under way and may have reached the service" in text

    emu.clear_faults()
    resumed = run(emu, "process", str(folder), "--journal", str(journal), "--json")
    statuses = sorted(row["status"] for row in json.loads(resumed.stdout))
    assert statuses == ["completed", "completed", "uncertain", "uncertain"]
    assert resumed.returncode == 1

    retried = run(emu, "process", str(folder), "--journal", str(journal), "--retry-uncertain")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "uncertain" not in retried.stdout


@needs_tmux
def test_the_results_table_fits_80_columns(emu: Emulator, tmp_path: Path, terminal: str) -> None:
    folder = recordings(tmp_path / ("a-rather-long-folder-name-for-the-archive-" * 2) / "calls", 2)
    missing = tmp_path / "no-such-recording-with-a-very-long-name-indeed.wav"
    start(terminal, emu, f"{SYMBL} process {folder} {missing}")
    assert wait_until(lambda: exit_code(terminal) is not None, timeout=30)
    lines = screen(terminal, joined=True).splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("source"))) :]
    table = table[: next(i for i, line in enumerate(table) if line.startswith("EXIT="))]
    assert len(table) >= 4
    assert all(len(line.rstrip()) <= 80 for line in table), "\n".join(table)
    assert sum("completed" in line for line in table) == 2
    assert any("does not exist" in line for line in table)


def test_refused_sources_get_their_rows_in_the_table_and_in_json(
    emu: Emulator, tmp_path: Path
) -> None:
    folder = recordings(tmp_path / "calls", 1)
    (folder / "empty.wav").write_bytes(b"")
    command = ("process", str(folder), str(tmp_path / "missing.wav"))
    shown = run(emu, *command, "--journal", str(tmp_path / "run.db"), "--json")
    assert shown.returncode == 1, shown.stderr
    rows = [
        (Path(row["source"]).name, row["status"], row["error"]) for row in json.loads(shown.stdout)
    ]
    assert rows[0] == ("call-00.wav", "completed", None)
    assert rows[1][:2] == ("empty.wav", "error") and "is empty" in rows[1][2]
    assert rows[2][:2] == ("missing.wav", "error") and "does not exist" in rows[2][2]
    assert len(emu.requests("/v1/process/audio")) == 1

    table = run(emu, *command, "--journal", str(tmp_path / "run.db")).stdout.splitlines()
    assert table[0].split() == ["source", "status", "conversation", "error"]
    statuses = [line.split()[1] for line in table[2:] if not line.startswith(" ")]
    assert statuses == ["completed", "error", "error"]
    words = " ".join(" ".join(table).split())  # the error column wraps
    assert "is empty" in words and "does not exist" in words


def test_an_unreadable_folder_gets_its_row(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refused(self: Path) -> Iterator[Path]:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refused)
    found, (row,) = process.expand_sources([str(tmp_path)])
    assert found == []
    assert row["status"] == "error"
    assert row["error"] == f"cannot read the folder {tmp_path} (Permission denied)"


def test_a_journal_with_another_commands_inputs(emu_env: Emulator, tmp_path: Path) -> None:
    journal = tmp_path / "run.db"
    first, second = recordings(tmp_path / "a", 1), recordings(tmp_path / "b", 1)
    done = run(emu_env, "process", str(first), "--journal", str(journal), "--json")
    assert done.returncode == 0, done.stderr
    # The other command's input, finished: left out of this command's rows.
    shown = run(emu_env, "process", str(second), "--journal", str(journal), "--json")
    assert shown.returncode == 0, shown.stderr
    assert [row["source"] for row in json.loads(shown.stdout)] == [str(second / "call-00.wav")]
    # Unfinished: refused before anything is added or sent.
    left = make_wav(tmp_path / "left.wav")
    with symbl.Batch(journal) as batch:
        batch.add_file(left)
    uploads = len(emu_env.requests("/v1/process/audio"))
    refused = run(emu_env, "process", str(second), "--journal", str(journal))
    assert refused.returncode == 2
    assert refused.stderr == (
        f"symbl: error: the journal {journal} holds 1 unfinished input(s) this command does not "
        f"give: {left}. To finish them, run the command that added them again; to process "
        "these sources apart, give another --journal\n"
    )
    assert len(emu_env.requests("/v1/process/audio")) == uploads
    # The command that added it finishes it.
    finished = run(emu_env, "process", str(left), "--journal", str(journal), "--json")
    assert [row["status"] for row in json.loads(finished.stdout)] == ["completed"]


def test_ctrl_c_names_the_submissions_under_way(
    emu_env: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "run.db"
    folder = recordings(tmp_path / "calls", 2)
    with symbl.Batch(journal) as batch:
        for wav in sorted(folder.iterdir()):
            batch.add_file(wav)
        # Where a run stopped by Ctrl+C leaves them.
        marks = Journal(str(journal))
        running, sending = marks.rows()
        marks.mark(running.id, "in_progress", job_id="j-1", conversation_id="c-1")
        marks.mark(sending.id, "submitting")
        marks.close()
        process._report_interrupted(batch, str(journal))
    assert capsys.readouterr().err.splitlines() == [
        "symbl: 1 job(s) still running on the service:",
        f"  {folder / 'call-00.wav'}  conversation c-1  job j-1",
        "symbl: 1 submission(s) were under way and may have reached the service; the same "
        "command will report them as uncertain:",
        f"  {folder / 'call-01.wav'}",
        f"symbl: run the same command again to follow them ({journal})",
    ]


def test_no_wait_reports_each_refused_source_and_exits_1(emu: Emulator, tmp_path: Path) -> None:
    good = make_wav(tmp_path / "good.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.wav"
    result = run(emu, "process", "--no-wait", str(missing), str(empty), str(good), "--json")
    assert result.returncode == 1, result.stderr
    rows = json.loads(result.stdout)
    assert [(row["source"], row["status"]) for row in rows] == [
        (str(missing), "error"),
        (str(empty), "error"),
        (str(good), "submitted"),
    ]
    assert "does not exist" in rows[0]["error"] and "is empty" in rows[1]["error"]
    (upload,) = emu.requests("/v1/process/audio")
    assert rows[2]["jobId"] and rows[2]["error"] is None
    assert upload.query_string == ""
