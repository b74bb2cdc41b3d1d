"""Add a recording from a URL to an existing conversation (symbl.Audio.append_url).

Usage: python examples/append_audio_url.py CONVERSATION_ID https://example.com/part2.wav
"""

import sys

import symbl

if len(sys.argv) < 3:
    sys.exit(__doc__)
conversation = symbl.Audio.append_url(payload={"url": sys.argv[2]}, conversation_id=sys.argv[1])
print(conversation.get_conversation())
