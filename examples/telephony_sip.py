"""Have Symbl join a call through a SIP URI and print the finished sentences.

Usage: python examples/telephony_sip.py sip:8002@sip.example.com
"""

import sys

import symbl

if len(sys.argv) < 2:
    sys.exit(__doc__)
connection = symbl.Telephony.start_sip(uri=sys.argv[1])
print(connection)
connection.subscribe(
    {"message_response": lambda event: [print(m["payload"]["content"]) for m in event["messages"]]}
)
