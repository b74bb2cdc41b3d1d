"""Have Symbl dial a phone number (or a conference bridge) and print the live results.

The call's events arrive on a background thread; the script ends when the call does. Ctrl+C
ends the call properly (the stop reaches the service) and exits.
Usage: python examples/telephony_pstn.py +14155550100 [",,MEETING_ID#,,PASSCODE#"] [you@example.com]
"""

import sys

import symbl

if len(sys.argv) < 2:
    sys.exit(__doc__)
actions = []
if len(sys.argv) > 3:  # a summary email when the call ends
    actions = [
        {"invokeOn": "stop", "name": "sendSummaryEmail", "parameters": {"emails": [sys.argv[3]]}}
    ]
connection = symbl.Telephony.start_pstn(
    phone_number=sys.argv[1], dtmf=sys.argv[2] if len(sys.argv) > 2 else None, actions=actions
)
print("calling; conversation", connection.conversationId)
connection.subscribe(
    {
        "transcript_response": lambda event: print("live:", event["payload"]["content"]),
        "insight_response": lambda event: [
            print(f"{i['type']}: {i['text']}") for i in event["insights"]
        ],
    }
)
