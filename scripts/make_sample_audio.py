"""Regenerate symbl/data/meeting.wav: the sample meeting spoken by two synthetic voices.

Needs espeak-ng and sox (Debian packages of those names); only developers who change the
sample run this. The transcript, with each line's real start and end, is embedded in the WAV,
which is how the emulator knows the words (it does no speech recognition).
Usage: python scripts/make_sample_audio.py
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from symbl.emulator.media import write_wav

RATE = 16000
GAP_SECONDS = 0.6
LINES = 5
VOICES = {"Natalia": "en-us+f3", "Mike": "en-us+m3"}
DATA = Path(__file__).resolve().parent.parent / "symbl" / "data"


def speak(text: str, voice: str, folder: Path) -> np.ndarray:
    """Synthesize one line as 16 kHz mono int16 samples."""
    raw = folder / "line.wav"
    resampled = folder / "line16k.raw"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", str(raw), text], check=True)
    subprocess.run(
        [
            "sox",
            str(raw),
            "-r",
            str(RATE),
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed",
            "-t",
            "raw",
            str(resampled),
        ],
        check=True,
    )
    return np.frombuffer(resampled.read_bytes(), dtype="<i2")


def main() -> None:
    """Write the sample WAV with its embedded transcript."""
    meeting = json.loads((DATA / "meeting.json").read_text(encoding="utf-8"))
    pieces = [np.zeros(int(0.4 * RATE), dtype=np.int16)]
    transcript = []
    with tempfile.TemporaryDirectory() as folder:
        for message in meeting["messages"][:LINES]:
            speaker = message["from"]
            samples = speak(message["payload"]["content"], VOICES[speaker["name"]], Path(folder))
            start = sum(len(piece) for piece in pieces) / RATE
            pieces.append(samples)
            transcript.append(
                {
                    "speaker": speaker,
                    "text": message["payload"]["content"],
                    "start": round(start, 3),
                    "end": round(start + len(samples) / RATE, 3),
                }
            )
            pieces.append(np.zeros(int(GAP_SECONDS * RATE), dtype=np.int16))
    write_wav(DATA / "meeting.wav", np.concatenate(pieces), RATE, {"transcript": transcript})
    print(f"wrote {DATA / 'meeting.wav'}: {sum(len(p) for p in pieces) / RATE:.1f} s")


if __name__ == "__main__":
    main()
