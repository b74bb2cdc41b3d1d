"""Submit without waiting and react when the job ends (wait=False, on_complete, on_error).

The call returns as soon as the job is accepted; a background thread follows it and runs the
callbacks once. The script ends when the job has ended and the callback has run.
Usage: python examples/non_blocking_callbacks.py [recording.wav]
"""

import sys
from pathlib import Path

import symbl

sample = Path(symbl.__file__).parent / "data" / "meeting.wav"


def completed(conversation: symbl.Conversation) -> None:
    print("completed:", len(conversation.get_messages().messages), "messages")


def failed(conversation: symbl.Conversation) -> None:
    print("failed:", conversation.error)


conversation = symbl.Audio.process_file(
    file_path=sys.argv[1] if len(sys.argv) > 1 else sample, wait=False
)
conversation.on_complete(completed).on_error(failed)
print("submitted", conversation.get_conversation_id(), "- doing other work meanwhile")
