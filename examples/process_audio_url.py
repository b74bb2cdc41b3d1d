"""Submit a recording the service downloads from a URL (symbl.Audio.process_url).

The URL must be directly downloadable (no redirects, no sharing pages).
Usage: python examples/process_audio_url.py https://example.com/call.wav
"""

import sys

import symbl

if len(sys.argv) < 2:
    sys.exit(__doc__)
conversation = symbl.Audio.process_url(
    payload={"url": sys.argv[1]}, parameters={"name": "Call from a URL", "detectEntities": True}
)
print(conversation.get_conversation_id(), conversation.get_job_status())
print(conversation.get_entities())
