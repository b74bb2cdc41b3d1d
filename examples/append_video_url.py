"""Add an MP4 video from a URL to an existing conversation (symbl.Video.append_url).

Usage: python examples/append_video_url.py CONVERSATION_ID https://example.com/part2.mp4
"""

import sys

import symbl

if len(sys.argv) < 3:
    sys.exit(__doc__)
conversation = symbl.Video.append_url(payload={"url": sys.argv[2]}, conversation_id=sys.argv[1])
print(conversation.get_analytics())
