"""Uploads stream from disk: a file of several hundred MB never sits in the SDK's memory."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

from symbl.emulator import Emulator

from helpers import PYTHON, subprocess_env

SIZE = 300 * 1024 * 1024
RATE = 16000

# Peak RSS from VmHWM: ru_maxrss would also count the parent's size at fork time (Linux keeps
# it across exec), which says nothing about the upload.
UPLOAD = """
import json, re, sys, symbl
conversation = symbl.Audio.process_file(file_path=sys.argv[1], wait=False)
status = open("/proc/self/status").read()
peak_kib = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
print(json.dumps({"peak_mib": peak_kib / 1024, "conversation": conversation.get_conversation_id()}))
"""


def silent_wav(path: Path, size: int) -> Path:
    """A WAV of ``size`` bytes: a real header, then silence (a sparse file: no time to write)."""
    data_size = size - 44
    header = b"RIFF" + struct.pack("<I", size - 8) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16)
    header += b"data" + struct.pack("<I", data_size)
    with path.open("wb") as handle:
        handle.write(header)
        handle.truncate(size)
    return path


def test_uploading_300_mb_keeps_peak_memory_far_below_the_file_size(
    emu: Emulator, tmp_path: Path
) -> None:
    big = silent_wav(tmp_path / "long-call.wav", SIZE)
    result = subprocess.run(
        [PYTHON, "-c", UPLOAD, str(big)],
        env=subprocess_env(emu),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["peak_mib"] < 100, report
    (upload,) = emu.requests("/v1/process/audio")
    assert upload.body_size == SIZE
    assert upload.headers["content-length"] == str(SIZE)
    assert upload.headers["content-type"] == "audio/wav"
