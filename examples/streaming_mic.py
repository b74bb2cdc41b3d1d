"""Stream your microphone and print what is said, live (symbl.Streaming).

Press Ctrl+C to stop: the stream is ended properly and the conversation's id is printed.
Usage: python examples/streaming_mic.py [DEVICE]   (see the device list: python -c
"import symbl.audio; print(symbl.audio.input_devices())")
"""

import sys

import symbl


def show(event: dict) -> None:
    message = event["message"]
    if message["type"] == "recognition_result" and message["isFinal"]:
        print(message["punctuated"]["transcript"])


connection = symbl.Streaming.start_connection(insight_types=["question", "action_item"])
connection.subscribe(
    {
        "message": show,
        "insight_response": lambda event: [
            print(f"  [{i['type']}] {i['text']}") for i in event["insights"]
        ],
    }
)
print("listening... (Ctrl+C to stop)", flush=True)
try:
    connection.send_audio_from_mic(device=int(sys.argv[1]) if len(sys.argv) > 1 else None)
except KeyboardInterrupt:  # the stream was already stopped cleanly
    print("stopped")
print("conversation", connection.conversation.get_conversation_id())
