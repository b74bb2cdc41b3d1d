"""End a call by its connection id and print the summary links (symbl.Telephony.stop).

Usage: python examples/telephony_stop.py CONNECTION_ID
"""

import sys

import symbl

if len(sys.argv) < 2:
    sys.exit(__doc__)
connection = symbl.Telephony.stop(sys.argv[1])
print("conversation", connection.conversationId)
for info in connection.summaryInfo or []:
    print(info["user"]["name"], info["url"])
