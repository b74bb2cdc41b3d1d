"""What a type checker sees of ``symbl.AsyncClient``: the package ships ``py.typed``, so a
user's ``mypy --strict`` must know that ``await client.Text.process(...)`` gives an
AsyncConversation, with the synchronous method's arguments checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import symbl

USER_PROGRAM = """
import symbl

async def main() -> None:
    async with symbl.AsyncClient() as client:
        conversation = await client.Text.process(payload={"messages": []}, wait=False)
        reveal_type(conversation)
        reveal_type(await client.Audio.append_file("call.wav", "123"))
        reveal_type(await client.Video.process_url(payload={"url": "https://x/y.mp4"}))
        reveal_type(await client.Streaming.start_connection(insight_types=["question"]))
        reveal_type(await client.Telephony.start_pstn("+14155550100"))
        reveal_type(await client.Telephony.stop("abc"))
        await conversation.wait(timeout=5)
        await client.Text.process(payload={"messages": []}, wiat=True)
"""
EXPECTED = [
    "AsyncConversation",
    "AsyncConversation",
    "AsyncConversation",
    "AsyncStreamingConnection",
    "AsyncConnection",
    "AsyncConnection",
]


def test_a_users_type_checker_sees_the_asyncio_types(tmp_path: Path) -> None:
    program = tmp_path / "user.py"
    program.write_text(USER_PROGRAM, encoding="utf-8")
    env = {"MYPY_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    installed_in = Path(symbl.__file__).parent.parent
    if installed_in.name != "site-packages":  # an editable install, which mypy cannot follow
        env["MYPYPATH"] = str(installed_in)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(program)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    lines = result.stdout.splitlines()
    revealed = [line.split('"')[1].rsplit(".", 1)[-1] for line in lines if "Revealed" in line]
    assert revealed == EXPECTED, result.stdout
    errors = [line for line in lines if line.startswith("user.py") and ": error:" in line]
    assert len(errors) == 1 and "wiat" in errors[0], result.stdout
