"""Submit a recording from disk and print its transcript (symbl.Audio.process_file).

Credentials come from symbl.conf (working directory, then home) or SYMBL_APP_ID / SYMBL_APP_SECRET.
Usage: python examples/process_audio_file.py [recording.wav]   (default: the bundled sample)
"""

import sys
from pathlib import Path

import symbl

sample = Path(symbl.__file__).parent / "data" / "meeting.wav"
conversation = symbl.Audio.process_file(file_path=sys.argv[1] if len(sys.argv) > 1 else sample)
print("conversation", conversation.get_conversation_id(), conversation.get_job_status())
for message in conversation.get_messages().messages:
    print(f"{message.from_.name}: {message.text}")
