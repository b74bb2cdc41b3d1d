"""Every ```python block of README.md and docs/*.md, run as a script against the emulator.

A block runs as it is, in a child process whose ``SYMBL_`` variables point at an emulator,
in an empty working directory and home, and must exit with status 0 and print no traceback.
An HTML comment on the line right before a block's fence can change that:

``<!-- fragment: setup=NAME -->``
    The block continues something its page set up earlier (a conversation, a connection, a
    file). The setup ``NAME`` from :data:`SETUPS` completes it: its prelude runs first, its
    postlude after, and its files are put in the working directory. The block's own lines
    run unchanged.
``<!-- not-run: REASON -->``
    The block cannot run here at all; each such block is reported as a skip with its reason,
    and there may be only :data:`MAX_NOT_RUN` of them.

Blocks that record from the microphone run with a virtual one: a private PulseAudio null sink
(tests/virtual_audio.py) as the default input device, and an emulator that ends a stream after
a few seconds of silence, so ``send_audio_from_mic()`` returns by itself. They skip, as the
microphone tests do, when the audio packages are missing.

The blocks share their emulators (no reset between them) and run in parallel, all at once when
the module's first test asks for the results.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from symbl.emulator import Emulator

from helpers import MEETING, PYTHON, make_wav, sample_transcript, subprocess_env
from virtual_audio import missing_package, pulse_null_sink

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: At most this many blocks may be marked ``not-run``.
MAX_NOT_RUN = 3
#: Seconds one block may take.
BLOCK_TIMEOUT = 60
#: Blocks run at once.
WORKERS = 4
#: The Debian packages the virtual microphone needs (as in tests/test_microphone.py).
MIC_PACKAGES = ("libportaudio2", "libasound2-plugins", "pulseaudio", "pulseaudio-utils")
#: What the virtual microphone "hears": a line said while the stream is still young.
MIC_LINE = "Hello from the microphone."
#: Seconds of silence after which the microphone's emulator ends a stream.
MIC_IDLE_SECONDS = 3.0

_FENCE = re.compile(r"^(\s*)```\s*(\S*)")
_MARKER = re.compile(r"^<!--\s*(fragment|not-run)\s*:\s*(.*?)\s*-->\s*$")
_PYTHON = ("python", "py")


@dataclass(frozen=True)
class Setup:
    """What a fragment needs around it.

    Attributes:
        provides: what the block may use, for the reader of this file.
        prelude: Python run before the block (its names are the block's).
        postlude: Python run after the block.
        files: names of recordings made in the working directory: three seconds, two speakers,
            the words in the file's metadata (as the emulator reads them).
        runner: ``"python"`` (a script) or ``"pytest"`` (a test module beside
            tests/virtual_audio.py).
    """

    provides: str
    prelude: str = ""
    postlude: str = ""
    files: tuple[str, ...] = ()
    runner: str = "python"


_CALLBACKS = """\
def on_sentences(event):
    for message in event["messages"]:
        print("said:", message["payload"]["content"])


def on_live_text(event):
    print("live:", event["message"]["type"])


def on_error(error):
    print("error:", error)

"""

SETUPS = {
    "recordings": Setup(
        "short recordings in the working directory, by the names the pages use",
        files=("meeting.wav", "monday.wav", "tuesday.wav"),
    ),
    "conversation": Setup(
        "symbl, and a processed conversation: conversation, conversation_id, job_id, member_id",
        prelude=(
            "import json\nfrom pathlib import Path\n\nimport symbl\n\n"
            "_meeting = Path(symbl.__file__).parent / 'data' / 'meeting.json'\n"
            "conversation = symbl.Text.process(payload=json.loads(_meeting.read_text()))\n"
            "conversation_id = conversation.get_conversation_id()\n"
            "job_id = conversation.get_job_id()\n"
            "member_id = conversation.get_members().members[0].id\n\n"
        ),
    ),
    "entity": Setup(
        "symbl, and entity: a custom entity of a processed conversation, valued with a date",
        prelude=(
            "import symbl\n\n"
            "_conversation = symbl.Text.process(\n"
            "    payload={'messages': [{'payload': {'content': 'The release is on July 15.'}}]},\n"
            "    parameters={'entities': [\n"
            "        {'customType': 'Release', 'text': 'July 15', 'value': '2020-07-15'}]},\n"
            ")\n"
            "[entity] = [e for e in _conversation.get_entities().entities if 'customType' in e]\n\n"
        ),
    ),
    "stream": Setup(
        "symbl, connection: an open streaming connection, and the callbacks on_sentences, "
        "on_live_text and on_error; afterwards the sample meeting is streamed and the stream "
        "stopped",
        prelude=(
            "import symbl\n\n"
            + _CALLBACKS
            + "connection = symbl.Streaming.start_connection(insight_types=['question'])\n\n"
        ),
        postlude=(
            "\nfrom pathlib import Path as _Path\n"
            "connection.send_audio_from_file(\n"
            "    _Path(symbl.__file__).parent / 'data' / 'meeting.wav', realtime=False\n"
            ")\n"
            "connection.stop()\n"
        ),
    ),
    "call": Setup(
        "symbl, connection: a PSTN call that mails a summary when it stops, and the callbacks "
        "on_sentences and on_error; afterwards the call is followed to its end and stopped",
        prelude=(
            "import symbl\n\n" + _CALLBACKS + "connection = symbl.Telephony.start_pstn(\n"
            "    phone_number='+14155550100',\n"
            "    actions=[{'invokeOn': 'stop', 'name': 'sendSummaryEmail',\n"
            "              'parameters': {'emails': ['john@example.com']}}],\n"
            ")\n\n"
        ),
        postlude="\nconnection.wait(timeout=30)\nconnection.stop()\n",
    ),
    "emulator": Setup(
        "emulator: an Emulator started in the script (stopped afterwards), hashlib, Path, "
        "and call.wav in the working directory",
        prelude=(
            "import hashlib\nfrom pathlib import Path\n\n"
            "from symbl.emulator import Emulator\n\n"
            "emulator = Emulator().start()\n\n"
        ),
        postlude="\nemulator.stop()\n",
        files=("call.wav",),
    ),
    "virtual-audio": Setup(
        "run as a pytest module beside tests/virtual_audio.py, with subprocess, sys, samples "
        "(half a second of a chirp) and CODE_USING_SOUNDDEVICE (code listing the devices)",
        prelude=(
            "import subprocess\nimport sys\n\n"
            "from virtual_audio import chirp as _chirp\n\n"
            "samples = _chirp(0.5)\n"
            "CODE_USING_SOUNDDEVICE = 'import sounddevice; print(sounddevice.query_devices())'\n\n"
        ),
        runner="pytest",
    ),
}


@dataclass(frozen=True)
class Block:
    """One ```python block of a page, and the marker before its fence, if any."""

    page: str
    line: int
    code: str
    marker: str = ""  # "", "fragment" or "not-run"
    argument: str = ""

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def setup(self) -> Setup | None:
        if self.marker != "fragment":
            return None
        match = re.fullmatch(r"setup=(\S+)", self.argument)
        if not match or match.group(1) not in SETUPS:
            raise ValueError(f"{self.name}: unknown fragment marker {self.argument!r}")
        return SETUPS[match.group(1)]

    @property
    def uses_microphone(self) -> bool:
        return "send_audio_from_mic(" in self.code


def read_blocks(page: Path) -> list[Block]:
    """The ```python blocks of ``page``; fences of other languages (or none) are skipped."""
    lines = page.read_text(encoding="utf-8").splitlines()
    name = page.relative_to(ROOT).as_posix()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        indent, language = fence.groups()
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if language in _PYTHON:
            marker = _MARKER.match(lines[index - 1]) if index else None
            code = "\n".join(line[len(indent) :] for line in lines[index + 1 : end]) + "\n"
            kind, argument = marker.groups() if marker else ("", "")
            blocks.append(Block(name, index + 1, code, kind, argument))
        index = end + 1
    return blocks


def stray_markers(page: Path) -> list[str]:
    """Markers that are not right before a ```python fence."""
    lines = page.read_text(encoding="utf-8").splitlines()
    stray = []
    for number, line in enumerate(lines, 1):
        if _MARKER.match(line):
            fence = _FENCE.match(lines[number]) if number < len(lines) else None
            if not fence or fence.group(2) not in _PYTHON:
                stray.append(f"{page.relative_to(ROOT).as_posix()}:{number}")
    return stray


BLOCKS = [block for page in PAGES for block in read_blocks(page)]
RUN = [block for block in BLOCKS if block.marker != "not-run"]
NOT_RUN = [block for block in BLOCKS if block.marker == "not-run"]


@dataclass
class Outcome:
    returncode: int | None  # None: killed after BLOCK_TIMEOUT
    stdout: str
    stderr: str
    seconds: float
    skip: str = ""

    def report(self, block: Block) -> str:
        return (
            f"{block.name} exited with {self.returncode} after {self.seconds:.1f} s\n"
            f"--- code ---\n{block.code}--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}"
        )


def script_for(block: Block, directory: Path) -> list[str]:
    """Write the block (with its setup around it) in ``directory``; the command to run it."""
    setup = block.setup
    text = block.code
    if setup is not None:
        text = setup.prelude + text + setup.postlude
        for file_name in setup.files:
            make_wav(directory / file_name, seconds=3.0)
    if setup is not None and setup.runner == "pytest":
        (directory / "test_block.py").write_text(text, encoding="utf-8")
        return [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_block.py"]
    (directory / "block.py").write_text(text, encoding="utf-8")
    return [PYTHON, "block.py"]


def run_block(block: Block, env: dict[str, str], workdir: Path) -> Outcome:
    directory = Path(tempfile.mkdtemp(prefix="block-", dir=workdir))
    command = script_for(block, directory)
    env = {**env, "HOME": str(directory)}
    if block.setup is not None and block.setup.runner == "pytest":
        env["PYTHONPATH"] = str(Path(__file__).parent)
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            cwd=directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
        )
    except subprocess.TimeoutExpired as expired:
        return Outcome(
            None, _text(expired.stdout), _text(expired.stderr), time.monotonic() - started
        )
    return Outcome(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def _text(data: str | bytes | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else data or ""


def docs_emulator() -> Emulator:
    """The emulator of the blocks: quick jobs, quick calls, and what the docs' URLs hold."""
    emu = Emulator(
        job_queue_seconds=0.0,
        job_processing_seconds=0.1,
        telephony_answer_seconds=0.1,
        telephony_speed=10.0,
    ).start()
    transcript = sample_transcript()
    emu.set_live_transcript(transcript)  # streams and calls hear the sample meeting
    # The service downloads the media at a URL; here these example URLs hold the sample.
    for url in ("https://example.com/call.mp4", "https://example.com/a.wav"):
        emu.register_media(transcript, url=url)
    # The id the pages use for "a conversation you have".
    emu.add_conversation(MEETING["messages"], conversation_id="5000000000000000")
    return emu


def microphone_emulator() -> Emulator:
    """The emulator of the microphone blocks: a stream ends after MIC_IDLE_SECONDS of silence."""
    emu = Emulator(
        stream_idle_seconds=MIC_IDLE_SECONDS,
        telephony_answer_seconds=0.1,
        telephony_speed=10.0,
    ).start()
    emu.set_live_transcript(
        [{"speaker": {"name": "Ann"}, "text": MIC_LINE, "start": 0.2, "end": 1.0}]
    )
    return emu


@contextlib.contextmanager
def microphone(directory: Path) -> Iterator[tuple[dict[str, str] | None, str]]:
    """The environment of a child whose default input is a silent virtual microphone, or
    None and why it cannot be had here."""
    reason = missing_package(*MIC_PACKAGES)
    if reason:
        yield None, reason
        return
    with pulse_null_sink(directory) as sink:
        yield {k: v for k, v in sink.env.items() if not k.startswith("SYMBL_")}, ""


def selected_blocks(session: pytest.Session) -> list[Block]:
    """The blocks whose tests this session runs (all of them unless some were deselected)."""
    wanted = {
        item.callspec.params["block"]
        for item in session.items
        if hasattr(item, "callspec") and "block" in item.callspec.params
    }
    return [block for block in RUN if block in wanted] or RUN


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[Block, Outcome]]:
    """Every selected block, run once, in parallel."""
    blocks = selected_blocks(request.session)
    workdir = tmp_path_factory.mktemp("blocks")
    results: dict[Block, Outcome] = {}
    docs = docs_emulator()
    mic_emu = microphone_emulator()
    try:
        with microphone(tmp_path_factory.mktemp("pulse")) as (mic_env, mic_missing):
            jobs = {}
            with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
                # The slow ones (real-time microphones) first.
                for block in sorted(blocks, key=lambda b: not b.uses_microphone):
                    if not block.uses_microphone:
                        env = subprocess_env(docs)
                    elif mic_env is None:
                        results[block] = Outcome(None, "", "", 0.0, skip=mic_missing)
                        continue
                    else:
                        env = {**mic_env, **mic_emu.environ(), "PYTHONUNBUFFERED": "1"}
                    jobs[block] = pool.submit(run_block, block, env, workdir)
                for block, job in jobs.items():
                    results[block] = job.result()
        yield results
    finally:
        docs.stop()
        mic_emu.stop()


@pytest.mark.parametrize("block", RUN, ids=[block.name for block in RUN])
def test_block_runs(block: Block, outcomes: dict[Block, Outcome]) -> None:
    outcome = outcomes[block]
    if outcome.skip:
        pytest.skip(outcome.skip)
    assert outcome.returncode == 0, outcome.report(block)
    assert "Traceback" not in outcome.stderr, outcome.report(block)
    if block.uses_microphone:
        # The virtual microphone's stream heard its line, and ended by itself.
        assert MIC_LINE in outcome.stdout, outcome.report(block)
    if block.setup is not None and block.setup.runner == "pytest":
        assert re.search(r"\b\d+ passed\b", outcome.stdout), outcome.report(block)
        assert "failed" not in outcome.stdout and "error" not in outcome.stdout


@pytest.mark.parametrize("block", NOT_RUN, ids=[block.name for block in NOT_RUN])
def test_block_not_run(block: Block) -> None:
    pytest.skip(f"not run: {block.argument}")


def test_few_blocks_are_not_run_and_each_says_why() -> None:
    listed = "\n".join(f"{block.name}: {block.argument}" for block in NOT_RUN)
    assert len(NOT_RUN) <= MAX_NOT_RUN, listed
    assert all(block.argument for block in NOT_RUN), listed


def test_markers_name_known_setups_and_stand_before_python_blocks() -> None:
    for block in BLOCKS:
        block.setup  # noqa: B018 - raises for an unknown setup
    assert [page for path in PAGES for page in stray_markers(path)] == []
    used = {block.argument.removeprefix("setup=") for block in BLOCKS if block.setup}
    assert used == set(SETUPS), "setups no block uses"


def test_every_page_with_python_is_read() -> None:
    pages = {block.page for block in BLOCKS}
    with_python = {
        page.relative_to(ROOT).as_posix()
        for page in PAGES
        if re.search(r"^```(python|py)\s*$", page.read_text(encoding="utf-8"), re.M)
    }
    assert pages == with_python
    assert {"README.md", "docs/asyncio.md"} <= pages and len(BLOCKS) >= 60
