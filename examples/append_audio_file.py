"""Add a recording from disk to an existing conversation (symbl.Audio.append_file).

Usage: python examples/append_audio_file.py CONVERSATION_ID [recording.wav]
"""

import sys
from pathlib import Path

import symbl

if len(sys.argv) < 2:
    sys.exit(__doc__)
sample = Path(symbl.__file__).parent / "data" / "meeting.wav"
recording = sys.argv[2] if len(sys.argv) > 2 else sample
conversation = symbl.Audio.append_file(file_path=recording, conversation_id=sys.argv[1])
print("messages now:", len(conversation.get_messages().messages))
