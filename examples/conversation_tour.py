"""Every method of the Conversation object, on the bundled sample meeting.

Usage: python examples/conversation_tour.py
"""

import json
from pathlib import Path

import symbl

payload = json.loads((Path(symbl.__file__).parent / "data" / "meeting.json").read_text())
conversation = symbl.Text.process(
    payload=payload, parameters={"features": {"featureList": ["insights", "callScore"]}}
)
print("conversation id:", conversation.get_conversation_id())
print("job id:", conversation.get_job_id(), conversation.get_job_status())
print(conversation.get_conversation())
print(conversation.get_messages(parameters={"sentiment": True}))
print(conversation.get_topics(parameters={"parentRefs": True}))
print(conversation.get_questions())
print(conversation.get_action_items())
print(conversation.get_follow_ups())
print(conversation.get_entities())
print(conversation.get_trackers())
print(conversation.get_analytics())
print(conversation.get_summary())
print(conversation.get_call_score())
print(conversation.get_formatted_transcript({"contentType": "text/srt"}).transcript.payload)
member = conversation.get_members().members[0]
print(conversation.put_members(member.id, {"name": member.name, "email": "renamed@example.com"}))
events = [
    {
        "type": "started_speaking",
        "user": {"name": "Mike", "userId": "mike@example.com"},
        "offset": {"seconds": 0, "nanos": 0},
    },
    {
        "type": "stopped_speaking",
        "user": {"name": "Mike", "userId": "mike@example.com"},
        "offset": {"seconds": 3, "nanos": 0},
    },
]
print(conversation.put_speakers_events({"speakerEvents": events}))
print(conversation.delete_conversation())
