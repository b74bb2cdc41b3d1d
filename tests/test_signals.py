"""SIGINT (Ctrl+C) and SIGTERM on programs with live connections, as real child processes.

Each test runs a script against the emulator, sends it a real signal with ``os.kill`` once its
call or stream is live, and checks what a user and the service see: the process ends within
2 s of the signal, with the status the signal's default action gives (130 and 143 in a shell;
``-SIGINT`` and ``-SIGTERM`` here); the protocol's stop reached the emulator; no SDK thread was
left; and stderr holds no traceback from inside the SDK and no "Exception ignored" report.
"""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import textwrap
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from symbl.emulator import Emulator

from helpers import DATA, PYTHON, Child, sample_transcript, subprocess_env, wait_until

pytest_plugins = ("virtual_audio",)

#: Runs first in every child, so that its exit hook runs last: print the threads still there.
THREADS_AT_EXIT = textwrap.dedent(
    """\
    import atexit as _atexit, threading as _threading
    _atexit.register(lambda: print("threads at exit:", sorted(
        t.name for t in _threading.enumerate()
    ), flush=True))
    """
)
STREAM_FILE = textwrap.dedent(
    f"""\
    import symbl
    connection = symbl.Streaming.start_connection()
    connection.subscribe({{"message_response": lambda event: print("message", flush=True)}})
    connection.send_audio_from_file({str(DATA / "meeting.wav")!r})
    """
)
MIC_SNIPPET = Path(__file__).parent / "snippets" / "docs" / "streaming_mic.py"
PSTN_SNIPPET = Path(__file__).parent / "snippets" / "docs" / "pstn_complete.py"
#: SIGINT reaches the program's code, after the call was stopped.
PSTN_WAITING = textwrap.dedent(
    """\
    import symbl
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100")
    connection.subscribe({"transcript_response": print})
    print("subscribed", flush=True)
    try:
        connection.wait()
    except KeyboardInterrupt:
        print("KeyboardInterrupt reached the program; call ended:", connection.wait(0), flush=True)
        raise
    """
)


def script(tmp_path: Path, text: str, name: str = "program.py") -> Path:
    path = tmp_path / name
    path.write_text(THREADS_AT_EXIT + text, encoding="utf-8")
    return path


def threads_at_exit(child: Child) -> list[str] | None:
    for line in child.stdout:
        if line.startswith("threads at exit:"):
            return ast.literal_eval(line.split(":", 1)[1].strip())
    return None


def assert_no_sdk_traceback(stderr: str) -> None:
    assert "Exception ignored" not in stderr, stderr
    places = [line for line in stderr.splitlines() if line.startswith("  File ")]
    assert not [line for line in places if "/symbl/" in line or "site-packages" in line], stderr


def assert_interrupt_report(child: Child, line: str) -> None:
    """stderr is Python's report of a KeyboardInterrupt raised at ``line`` of the script."""
    assert_no_sdk_traceback(child.stderr)
    lines = child.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):", child.stderr
    assert lines[1].startswith(f'  File "{child.script}", line '), child.stderr
    assert lines[2].strip() == line, child.stderr
    assert lines[-1] == "KeyboardInterrupt", child.stderr
    assert len([text for text in lines if text.startswith("  File ")]) == 1, child.stderr


@pytest.fixture
def phone(emu: Emulator) -> Emulator:
    """Calls answer at once and stay silent: only a stop ends them."""
    emu.set_live_transcript([])
    emu.configure(telephony_speed=20.0, telephony_answer_seconds=0.1)
    return emu


def mic_env(emu: Emulator, device_env: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in device_env.items() if not key.startswith("SYMBL_")}
    return {**env, **emu.environ(), "PYTHONUNBUFFERED": "1"}


def streaming_started(emu: Emulator) -> bool:
    streams = emu.streams()
    return bool(streams) and streams[0]["audio_bytes"] > 0


# -- streaming ----------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_file_stream_stops_on_the_signal(emu: Emulator, tmp_path: Path, signum: int) -> None:
    emu.set_live_transcript(sample_transcript())
    child = Child(script(tmp_path, STREAM_FILE), subprocess_env(emu))
    try:
        assert child.wait_for_line("message"), child.stdout  # 20 s of the recording remain
        elapsed = child.signal(signum)
    finally:
        child.kill()
    assert elapsed < 2.0
    assert child.process.returncode == -signum
    (stream,) = emu.streams()
    assert len(stream["stop_requests"]) == 1
    assert stream["state"] == "completed"
    assert stream["audio_seconds"] < 15
    if signum == signal.SIGINT:
        assert_interrupt_report(
            child, f"connection.send_audio_from_file({str(DATA / 'meeting.wav')!r})"
        )
        assert threads_at_exit(child) == ["MainThread"]
    else:
        assert child.stderr == ""  # SIGTERM's default action: no report, no exit hooks


@pytest.fixture(params=["real-time", "unpaced"])
def microphone(request: pytest.FixtureRequest, emu: Emulator) -> dict[str, str]:
    """The environment of a child whose default microphone is virtual: a real-time one (a
    silent PulseAudio sink's monitor), or one that delivers the sample meeting as fast as it is
    read, so that the main thread is nearly always writing a frame when the signal comes."""
    if request.param == "real-time":
        return mic_env(emu, request.getfixturevalue("pulse_sink").env)
    with wave.open(str(DATA / "meeting.wav"), "rb") as reader:
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").copy()
    emu.set_live_transcript(sample_transcript())
    return mic_env(emu, request.getfixturevalue("alsa_file_mic")(samples).env)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_microphone_snippet_stops_on_the_signal(
    emu: Emulator, microphone: dict[str, str], tmp_path: Path, signum: int
) -> None:
    """The documented snippet, recording a virtual microphone."""
    program = script(tmp_path, MIC_SNIPPET.read_text(encoding="utf-8"), "streaming_mic.py")
    child = Child(program, microphone)
    try:
        assert wait_until(lambda: streaming_started(emu), timeout=20), child.stdout
        time.sleep(0.3)
        elapsed = child.signal(signum)
    finally:
        child.kill()
    assert elapsed < 2.0
    assert child.process.returncode == -signum
    (stream,) = emu.streams()
    assert len(stream["stop_requests"]) == 1
    assert stream["state"] == "completed"
    if signum == signal.SIGINT:
        assert_interrupt_report(child, "connection.send_audio_from_mic()")
        assert threads_at_exit(child) == ["MainThread"]
    else:
        assert child.stderr == ""


# -- telephony ----------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_telephony_snippet_stops_the_call_on_the_signal(
    phone: Emulator, tmp_path: Path, signum: int
) -> None:
    """The documented snippet ends right after subscribe(): Python is waiting for the reader
    thread, and there is no code of the program left to raise KeyboardInterrupt into."""
    program = script(tmp_path, PSTN_SNIPPET.read_text(encoding="utf-8"), "pstn_complete.py")
    child = Child(program, subprocess_env(phone))
    try:
        assert child.wait_for_line("Connection(connectionId=")
        assert wait_until(lambda: phone.calls()[0]["subscribers"] == 1, timeout=10)
        time.sleep(0.3)  # the script gets past the line it printed
        elapsed = child.signal(signum)
    finally:
        child.kill()
    assert elapsed < 2.0
    assert child.process.returncode == -signum
    (call,) = phone.calls()
    assert call["state"] == "ended" and call["ended_by"] == "stop"
    assert call["stop"] == {"operation": "stop", "connectionId": call["connectionId"]}
    assert child.stderr == ""
    if signum == signal.SIGINT:  # it ends as after an uncaught KeyboardInterrupt: exit hooks ran
        assert threads_at_exit(child) == ["MainThread"]


def test_ctrl_c_reaches_the_program_after_the_call_is_stopped(
    phone: Emulator, tmp_path: Path
) -> None:
    child = Child(script(tmp_path, PSTN_WAITING), subprocess_env(phone))
    try:
        assert child.wait_for_line("subscribed")
        assert wait_until(lambda: phone.calls()[0]["subscribers"] == 1, timeout=10)
        time.sleep(0.3)  # the script gets past the line it printed
        elapsed = child.signal(signal.SIGINT)
    finally:
        child.kill()
    assert elapsed < 2.0
    assert child.process.returncode == -signal.SIGINT
    assert "KeyboardInterrupt reached the program; call ended: True\n" in child.stdout
    assert_interrupt_report(child, "connection.wait()")
    assert threads_at_exit(child) == ["MainThread"]
    (call,) = phone.calls()
    assert call["ended_by"] == "stop"


# -- the rules of installation ------------------------------------------------------------------

HANDLERS = textwrap.dedent(
    """\
    import signal, symbl

    def names():
        handlers = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
        return [getattr(h, "__name__", "SIG_DFL" if h is signal.SIG_DFL else h) for h in handlers]

    print("before", names())
    connection = symbl.Streaming.start_connection()
    print("open", names())
    connection.stop()
    print("stopped", names())
    """
)


def test_handlers_are_installed_while_a_connection_is_open_and_then_restored(
    emu: Emulator, tmp_path: Path
) -> None:
    result = subprocess.run(
        [PYTHON, str(script(tmp_path, HANDLERS))],
        env=subprocess_env(emu),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "before ['default_int_handler', 'SIG_DFL']",
        "open ['_on_signal', '_on_signal']",
        "stopped ['default_int_handler', 'SIG_DFL']",
    ]


OWN_SIGTERM_HANDLER = textwrap.dedent(
    """\
    import signal, sys, symbl

    def on_sigterm(signum, frame):
        print("own handler", flush=True)
        connection.stop()
        sys.exit(3)

    signal.signal(signal.SIGTERM, on_sigterm)
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100")
    connection.subscribe({"transcript_response": print})
    print("subscribed", signal.getsignal(signal.SIGTERM) is on_sigterm, flush=True)
    connection.wait()
    """
)


def test_a_program_with_its_own_sigterm_handler_keeps_it(phone: Emulator, tmp_path: Path) -> None:
    child = Child(script(tmp_path, OWN_SIGTERM_HANDLER), subprocess_env(phone))
    try:
        assert child.wait_for_line("subscribed")
        assert child.stdout[-1].strip() == "subscribed True"
        assert wait_until(lambda: phone.calls()[0]["subscribers"] == 1, timeout=10)
        time.sleep(0.3)  # the script gets past the line it printed
        child.signal(signal.SIGTERM)
    finally:
        child.kill()
    assert child.process.returncode == 3, child.stderr
    assert any("own handler" in line for line in child.stdout)
    assert phone.calls()[0]["ended_by"] == "stop"


OPTED_OUT = textwrap.dedent(
    """\
    import symbl
    connection = symbl.Telephony.start_pstn(phone_number="+14155550100", handle_signals=False)
    connection.subscribe({"transcript_response": print})
    print("subscribed", flush=True)
    """
)


def test_handle_signals_false_leaves_sigterm_to_the_program(
    phone: Emulator, tmp_path: Path
) -> None:
    child = Child(script(tmp_path, OPTED_OUT), subprocess_env(phone))
    try:
        assert child.wait_for_line("subscribed")
        assert wait_until(lambda: phone.calls()[0]["subscribers"] == 1, timeout=10)
        time.sleep(0.3)  # the script gets past the line it printed
        elapsed = child.signal(signal.SIGTERM)
    finally:
        child.kill()
    assert elapsed < 1.0
    assert child.process.returncode == -signal.SIGTERM
    (call,) = phone.calls()
    assert call["state"] == "active" and call["stop"] is None, "nobody stopped it"


# -- a signal while the main thread holds a connection's lock -----------------------------------

# The main thread sends "frames" in code of the SDK's transport layer, holding the lock that the
# connection's stop needs (as a websocket send does); the stop must still go out.
HOLDING_A_LOCK = textwrap.dedent(
    """\
    import os, sys, threading, time
    from symbl._live import interrupts

    send_lock = threading.Lock()
    sent = []

    class Connection:
        def interrupt(self, deadline):
            if send_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                sent.append("stop")
                os.write(1, b"stop sent\\n")
                send_lock.release()

    transport = {"__name__": "symbl._transport.websocket", "send_lock": send_lock, "time": time}
    exec("def send(frame):\\n    with send_lock:\\n        SENDING\\n", transport)
    connection = Connection()  # followed weakly: kept alive here
    interrupts.register(connection)
    print("sending", flush=True)
    try:
        while True:
            transport["send"](b"frame")
    except KeyboardInterrupt:
        print("interrupted after", sent, flush=True)
        raise
    """
)
#: Each frame takes 2 ms to write; the main thread is almost always holding the lock.
WRITING = "deadline = time.monotonic() + 0.002; exec('while time.monotonic() < deadline: pass')"
#: The write stalls (a network that takes nothing more).
STALLED = "time.sleep(30)"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_waits_for_the_frame_in_progress(tmp_path: Path, signum: int) -> None:
    program = script(tmp_path, HOLDING_A_LOCK.replace("SENDING", WRITING))
    child = Child(program, {**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert child.wait_for_line("sending")
        time.sleep(0.2)
        elapsed = child.signal(signum)
    finally:
        child.kill()
    assert elapsed < 1.0
    assert child.process.returncode == -signum
    assert "stop sent\n" in child.stdout
    if signum == signal.SIGINT:
        assert "interrupted after ['stop']\n" in child.stdout
        assert_interrupt_report(child, 'transport["send"](b"frame")')


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stalled_write_does_not_hold_the_signal_past_the_budget(
    tmp_path: Path, signum: int
) -> None:
    program = script(tmp_path, HOLDING_A_LOCK.replace("SENDING", STALLED))
    child = Child(program, {**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert child.wait_for_line("sending")
        time.sleep(0.2)
        elapsed = child.signal(signum)
    finally:
        child.kill()
    assert 1.4 < elapsed < 2.0  # the budget, spent waiting for the write to end
    assert child.process.returncode == -signum
    if signum == signal.SIGINT:
        # The interrupt ends the write; the exit hook stops the connection, its lock now free.
        assert child.stdout[1:3] == ["interrupted after []\n", "stop sent\n"]
    else:
        assert "stop sent\n" not in child.stdout  # the lock never came free


# -- async jobs followed in the background ------------------------------------------------------

SUBMIT = textwrap.dedent(
    """\
    import symbl
    conversation = symbl.Text.process(
        payload={"messages": [{"payload": {"content": "Can you send the report?"}}]}, wait=False
    )
    """
)
#: Registers callbacks, says so, then ends (or, with {rest}, goes on doing something else).
WITH_CALLBACKS = SUBMIT + textwrap.dedent(
    """\
    conversation.on_complete(lambda c: print("completed", flush=True))
    conversation.on_error(lambda c: print("failed", c.error, flush=True))
    print("submitted", flush=True)
    """
)


@pytest.fixture
def slow_jobs(emu: Emulator) -> Emulator:
    """Jobs that stay scheduled for a minute."""
    emu.configure(job_queue_seconds=60.0, job_processing_seconds=0.1)
    return emu


def test_a_pending_job_without_callbacks_does_not_keep_the_program_alive(
    slow_jobs: Emulator, tmp_path: Path
) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [PYTHON, str(script(tmp_path, SUBMIT + "print('submitted', flush=True)\n"))],
        env=subprocess_env(slow_jobs),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert time.monotonic() - started < 5  # not the job's minute
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == "submitted\nthreads at exit: ['MainThread']\n"


def test_callbacks_registered_by_a_script_that_ends_still_run(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.configure(job_queue_seconds=1.0, job_processing_seconds=0.5)
    started = time.monotonic()
    result = subprocess.run(
        [PYTHON, str(script(tmp_path, WITH_CALLBACKS))],
        env=subprocess_env(emu),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert time.monotonic() - started > 1.5  # the job was waited for
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == "submitted\ncompleted\nthreads at exit: ['MainThread']\n"


def test_ctrl_c_while_the_program_waits_for_job_callbacks_at_exit(
    slow_jobs: Emulator, tmp_path: Path
) -> None:
    """The program's code has finished; Python waits for the job with callbacks. Ctrl+C ends
    it as an uncaught KeyboardInterrupt would, without Python's "Exception ignored" report."""
    child = Child(script(tmp_path, WITH_CALLBACKS), subprocess_env(slow_jobs))
    try:
        assert child.wait_for_line("submitted")
        time.sleep(0.5)  # the script has ended; Python waits for the job
        assert child.process.poll() is None
        elapsed = child.signal(signal.SIGINT)
    finally:
        child.kill()
    assert elapsed < 2.0
    assert child.process.returncode == -signal.SIGINT
    assert child.stderr == ""
    assert child.stdout == ["submitted\n", "threads at exit: ['MainThread']\n"]  # no callback ran


def test_ctrl_c_in_the_program_does_not_wait_for_job_callbacks(
    slow_jobs: Emulator, tmp_path: Path
) -> None:
    child = Child(
        script(tmp_path, WITH_CALLBACKS + "import time\ntime.sleep(60)\n"),
        subprocess_env(slow_jobs),
    )
    try:
        assert child.wait_for_line("submitted")
        time.sleep(0.3)
        elapsed = child.signal(signal.SIGINT)
    finally:
        child.kill()
    assert elapsed < 2.0
    assert child.process.returncode == -signal.SIGINT
    assert_interrupt_report(child, "time.sleep(60)")
    assert child.stdout == ["submitted\n", "threads at exit: ['MainThread']\n"]
