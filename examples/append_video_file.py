"""Add an MP4 video from disk to an existing conversation (symbl.Video.append_file).

Usage: python examples/append_video_file.py CONVERSATION_ID part2.mp4
"""

import sys

import symbl

if len(sys.argv) < 3:
    sys.exit(__doc__)
conversation = symbl.Video.append_file(file_path=sys.argv[2], conversation_id=sys.argv[1])
print(conversation.get_job_id(), conversation.get_job_status())
