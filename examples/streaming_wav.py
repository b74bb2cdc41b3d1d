"""Stream a WAV file through the Streaming API and print the transcript as it comes.

Usage: python examples/streaming_wav.py [recording.wav] [--fast]   (default: the bundled
sample, paced like a live speaker; --fast sends it as fast as the connection allows)
"""

import sys
from pathlib import Path

import symbl

arguments = [argument for argument in sys.argv[1:] if argument != "--fast"]
path = arguments[0] if arguments else Path(symbl.__file__).parent / "data" / "meeting.wav"

with symbl.Streaming.start_connection(insight_types=["question", "action_item"]) as connection:
    connection.subscribe(
        {
            "message_response": lambda event: [
                print(f"{m['from'].get('name', '?')}: {m['payload']['content']}")
                for m in event["messages"]
            ],
            "insight_response": lambda event: [
                print(f"  -> {i['type']}: {i['text']}") for i in event["insights"]
            ],
        }
    )
    connection.send_audio_from_file(path, realtime="--fast" not in sys.argv)
# Leaving the block stopped the stream; the conversation stays available.
print("topics:", [topic.text for topic in connection.conversation.get_topics().topics])
