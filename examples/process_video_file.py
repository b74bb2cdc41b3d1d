"""Submit an MP4 video from disk and print its topics (symbl.Video.process_file).

Usage: python examples/process_video_file.py meeting.mp4
"""

import sys

import symbl

if len(sys.argv) < 2:
    sys.exit(__doc__)
conversation = symbl.Video.process_file(file_path=sys.argv[1], parameters={"name": "Recorded demo"})
for topic in conversation.get_topics().topics:
    print(f"{topic.score:.2f}  {topic.text}")
