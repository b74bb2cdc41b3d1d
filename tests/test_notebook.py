"""The example notebook, executed headless in a real Jupyter kernel (nbclient + ipykernel).

The kernel runs this interpreter: a kernel spec naming ``sys.executable`` is written to a
temporary folder that ``JUPYTER_PATH`` points at, so the tests need no installed Jupyter kernel
and no network. Kernels are driven with the asynchronous managers inside ``asyncio.run``: the
synchronous wrappers would leave an event-loop thread behind in the test process.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from symbl.emulator import Emulator

from helpers import PYTHON, sample_transcript, subprocess_env

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "notebook.ipynb"
KERNEL_NAME = "symbl-tests"
STARTUP_TIMEOUT = 30
#: SDK threads left in the kernel (the emulator's are named symbl-emulator*; the notebook
#: stops its own emulator in its last cell, so there should be none of those either).
SYMBL_THREADS = (
    "import threading\n"
    "print(sorted(t.name for t in threading.enumerate() if t.name.startswith('symbl')))"
)
FIRST_SENTENCE = "Hi Mike, thanks for joining the call today."


@pytest.fixture
def kernel_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of a kernel spec for an ipykernel on this interpreter."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "symbl tests",
                "language": "python",
                "interrupt_mode": "signal",
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("JUPYTER_PATH", str(spec.parent.parent))
    return KERNEL_NAME


def code_cell(notebook: Any, marker: str) -> Any:
    """The one code cell whose source is ``marker``, or else contains it."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    found = [c for c in code if c.source.strip() == marker] or [
        c for c in code if marker in c.source
    ]
    assert len(found) == 1, f"{len(found)} code cells contain {marker!r}"
    return found[0]


def stdout_of(cell: Any) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def data_of(cell: Any, mime: str) -> str:
    return "".join(o.data.get(mime, "") for o in cell.outputs if "data" in o)


#: What changes from one run of the notebook to the next: job and connection ids (UUIDs),
#: wall-clock times (ISO-8601, or as the tables show them) and the emulator's port.
VOLATILE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:<port>"),
    (re.compile(r"\b0x[0-9a-f]{6,}\b"), "0x<address>"),
]
#: Text that must not be in a committed output: this machine's paths, and credentials.
SECRETS = ("emulator-app-secret", "Bearer ", "x-api-key", "accessToken", "appSecret")


def normalized(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def shown(cell: Any) -> dict[str, Any]:
    """What a code cell shows, as text, with the volatile parts normalized: what it printed
    (however the kernel split it into stream outputs) and its results and displays, in order."""
    streams = {
        name: normalized("".join(o.text for o in cell.outputs if o.get("name") == name))
        for name in ("stdout", "stderr")
    }
    data = [
        {mime: normalized(value) for mime, value in o.data.items() if mime.startswith("text/")}
        for o in cell.outputs
        if o.output_type in ("execute_result", "display_data")
    ]
    return {**streams, "data": data}


def machine_paths() -> list[str]:
    """Absolute paths of this machine that could leak into outputs."""
    paths = {str(NOTEBOOK.parent.parent), sys.prefix, sys.base_prefix, tempfile.gettempdir()}
    paths |= {str(Path.home()), os.path.expanduser("~" + getpass.getuser())}
    paths |= {"/home/", "/root", "/Users/", "/tmp/", "C:\\"}
    return sorted(path for path in paths if len(path) > 1)


def test_committed_notebook_has_clean_outputs() -> None:
    """The notebook is committed executed: every code cell ran once, in order, and what it
    shows is free of errors, warnings, this machine's paths and credentials."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    for cell in code:
        assert cell.outputs, f"no output: {cell.source!r}"
        assert "execution" not in cell.metadata  # no timings of the run
        assert [o.output_type for o in cell.outputs if o.output_type == "error"] == []
        texts = shown(cell)
        assert texts["stderr"] == "", f"{cell.source!r} wrote to stderr: {texts['stderr']}"
        text = json.dumps(cell.outputs)
        for leak in (*machine_paths(), *SECRETS):
            assert leak not in text, f"{leak!r} in the outputs of {cell.source!r}"
    # The metadata names the kernel only, not the Python of the machine that ran it.
    assert notebook.metadata.get("language_info") == {"name": "python"}


def test_notebook_runs_in_a_kernel(kernel_name: str, tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.append(new_code_cell(SYMBL_THREADS))
    client = NotebookClient(
        notebook,
        kernel_name=kernel_name,
        timeout=30,
        startup_timeout=STARTUP_TIMEOUT,
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    asyncio.run(client.async_execute())  # raises CellExecutionError if a cell fails

    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]

    conversation = code_cell(notebook, "symbl.Text.process(")
    assert data_of(conversation, "text/plain").startswith("<Conversation ")
    assert "status=completed" in data_of(conversation, "text/plain")

    messages = code_cell(notebook, "conversation.get_messages()")
    table = data_of(messages, "text/html")
    assert "<table>" in table and "<th" in table
    assert FIRST_SENTENCE in table
    assert data_of(messages, "text/plain").startswith("SymblObject({'messages': [")
    action_items = data_of(code_cell(notebook, "get_action_items()"), "text/html")
    assert "I will send you the updated contract by Friday." in action_items
    assert "Natalia" in action_items

    record = code_cell(notebook, "first = ")
    assert stdout_of(record).startswith(f"Natalia said: {FIRST_SENTENCE}")
    assert data_of(record, "text/plain").startswith("SymblObject({'id': ")
    assert data_of(record, "text/html") == ""  # a single record reads better as text

    # Printed by the callbacks on the connection's reader thread, into the cell that streamed.
    live = stdout_of(code_cell(notebook, "send_audio_from_file("))
    assert f"Natalia: {FIRST_SENTENCE}" in live
    assert "-> question: What do you think about the annual plan at $69.99 per month?" in live
    assert live.count("\n") >= 5

    streamed = data_of(code_cell(notebook, "connection.conversation.get_messages()"), "text/html")
    assert FIRST_SENTENCE in streamed

    # The kernel still runs cells afterwards, and nothing of the SDK is left running in it.
    assert stdout_of(notebook.cells[-1]).strip() == "[]"

    # The committed outputs are those of this run (but for ids, times and the port): after a
    # change to the notebook or to what it shows, run scripts/refresh-notebook.
    committed = nbformat.read(NOTEBOOK, as_version=4)
    executed = [shown(c) for c in notebook.cells[:-1] if c.cell_type == "code"]
    expected = [shown(c) for c in committed.cells if c.cell_type == "code"]
    assert executed == expected, (
        "the committed outputs are out of date: run scripts/refresh-notebook"
    )


STREAM_FOREVER = """
import symbl
from pathlib import Path

connection = symbl.Streaming.start_connection(insight_types=["question"])
connection.subscribe({"message_response": lambda event: [
    print(f"{m['from']['name']}: {m['payload']['content']}") for m in event["messages"]
]})
connection.send_audio_from_file(Path(symbl.__file__).parent / "data" / "meeting.wav")
"""


async def stream_and_interrupt(kernel_name: str, env: dict[str, str], cwd: Path) -> Any:
    """Run STREAM_FOREVER, interrupt the kernel once a sentence is printed, then look around.

    Returns the streaming cell's reply, printed text and error outputs, then the next cell's
    reply and printed text.
    """
    manager = AsyncKernelManager(kernel_name=kernel_name)
    await manager.start_kernel(env=env, cwd=str(cwd))
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=STARTUP_TIMEOUT)
        printed: list[str] = []
        errors: list[str] = []
        interrupts: list[asyncio.Future[None]] = []

        def interrupt_once_speech_arrives(message: dict[str, Any]) -> None:
            if message["msg_type"] == "error":
                errors.append(message["content"]["ename"])
            elif message["msg_type"] == "stream":
                printed.append(message["content"]["text"])
                if not interrupts:  # the first sentence; 20 s of the recording remain
                    interrupts.append(asyncio.ensure_future(manager.interrupt_kernel()))

        # Paced like a live speaker, the file takes 24 s: only the interrupt ends it sooner.
        streaming = await client.execute_interactive(
            STREAM_FOREVER, timeout=15, output_hook=interrupt_once_speech_arrives
        )
        await asyncio.gather(*interrupts)
        after: list[str] = []
        check = await client.execute_interactive(
            f"print(connection.state)\n{SYMBL_THREADS}",
            timeout=10,
            output_hook=lambda m: m["msg_type"] == "stream" and after.append(m["content"]["text"]),
        )
        return streaming, "".join(printed), errors, check, "".join(after)
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


def test_interrupting_the_kernel_stops_the_stream(
    kernel_name: str, emu: Emulator, tmp_path: Path
) -> None:
    emu.set_live_transcript(sample_transcript())
    streaming, printed, errors, check, after = asyncio.run(
        stream_and_interrupt(kernel_name, subprocess_env(emu), tmp_path)
    )
    assert FIRST_SENTENCE in printed
    assert errors == ["KeyboardInterrupt"]  # shown in the cell's output
    assert streaming["content"]["status"] == "error"
    assert streaming["content"]["ename"] == "KeyboardInterrupt"

    # The kernel still runs cells: the connection is closed and no SDK thread is left.
    assert check["content"]["status"] == "ok"
    assert after.split("\n")[:2] == ["closed", "[]"]
    [stream] = emu.streams()
    assert stream["stop_requests"] and len(stream["stop_requests"]) == 1
    assert json.loads(stream["stop_requests"][0]) == {"type": "stop_request"}
    assert stream["state"] == "completed"
    assert stream["audio_seconds"] < 15


ASYNC_CELLS = [
    "import symbl\nfrom symbl.emulator import Emulator\n"
    "emu = Emulator().start()\n"
    "client = symbl.AsyncClient(emu.credentials, base_url=emu.base_url)",
    "conversation = await client.Text.process(payload={'messages': [\n"
    "    {'payload': {'content': 'Can we meet tomorrow at noon?'}, 'from': {'name': 'Ann'}}]})\n"
    "conversation",
    "questions = await conversation.get_questions()\nprint(questions['questions'][0]['text'])",
    "await client.close()\nemu.stop()",
    SYMBL_THREADS,
]


def test_the_async_client_works_with_top_level_await(kernel_name: str, tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [new_code_cell(source) for source in ASYNC_CELLS]
    client = NotebookClient(
        notebook,
        kernel_name=kernel_name,
        timeout=30,
        startup_timeout=STARTUP_TIMEOUT,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    asyncio.run(client.async_execute())  # raises CellExecutionError if a cell fails

    outputs = [o for c in notebook.cells for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    conversation = data_of(notebook.cells[1], "text/plain")
    assert conversation.startswith("<AsyncConversation ") and "status=completed" in conversation
    assert stdout_of(notebook.cells[2]).strip() == "Can we meet tomorrow at noon?"
    assert stdout_of(notebook.cells[-1]).strip() == "[]"
