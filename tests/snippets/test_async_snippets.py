"""The Async and Conversation snippets of the reference page, run verbatim against the emulator."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from symbl.emulator import Emulator

from helpers import DATA, MEETING, subprocess_env
from snippets import SEEDS, SOURCES, documented_block, run_snippet


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the documentation pages are not at {SEEDS}")
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_snippet_copies_match_the_documentation(name: str) -> None:
    page, index = SOURCES[name]
    copy = Path(__file__).parent / "docs" / name
    assert copy.read_text(encoding="utf-8") == documented_block(page, index)


def test_conversation_object_snippet(emu: Emulator, tmp_path: Path) -> None:
    # The snippet's file_path is the literal "<file_path>": give it a real recording by that name.
    shutil.copy(DATA / "meeting.wav", tmp_path / "<file_path>")
    result = run_snippet("reference_conversation_object.py", tmp_path, subprocess_env(emu))
    assert result.returncode == 0, result.stderr
    # print() shows the answers pretty-printed; rejoin the long strings it wraps.
    out = re.sub(r"'\n\s+'", "", result.stdout)
    assert "Hi Mike, thanks for joining the call today." in out  # messages
    assert "I will send you the updated contract by Friday." in out  # an action item
    assert "'actionItems'" in out and "'followUps'" in out and "'questions'" in out
    assert "'members'" in out and "'Natalia'" in out and "'Mike'" in out
    assert "'topics'" in out and "pricing" in out.lower()
    assert "What do you think about the annual plan at $69.99 per month?" in out  # a question
    (upload,) = emu.requests("/v1/process/audio")
    assert upload.headers["content-type"] == "audio/wav"
    assert upload.body_size == (DATA / "meeting.wav").stat().st_size


def test_conversations_class_snippet(emu: Emulator, tmp_path: Path) -> None:
    emu.add_conversation(MEETING["messages"], conversation_id="1234567890")
    result = run_snippet("reference_conversations_class.py", tmp_path, subprocess_env(emu))
    assert result.returncode == 0, result.stderr
    assert "Hi Mike, thanks for joining the call today." in result.stdout
    assert emu.requests("/v1/conversations/1234567890/messages")[0].status == 200


def test_conversations_class_snippet_against_an_unknown_id_fails_loudly(
    emu: Emulator, tmp_path: Path
) -> None:
    result = run_snippet("reference_conversations_class.py", tmp_path, subprocess_env(emu))
    assert result.returncode == 1
    assert "symbl.errors.NotFoundError: 404 The conversationId is either invalid" in result.stderr
