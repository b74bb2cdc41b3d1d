"""Submit an MP4 video the service downloads from a URL, with speaker diarization
(symbl.Video.process_url).

Usage: python examples/process_video_url.py https://example.com/meeting.mp4
"""

import sys

import symbl

if len(sys.argv) < 2:
    sys.exit(__doc__)
conversation = symbl.Video.process_url(
    payload={"url": sys.argv[1]},
    parameters={"enableSpeakerDiarization": True, "diarizationSpeakerCount": 2},
)
print(conversation.get_members())
