"""Read a conversation you processed earlier, by its id (symbl.Conversations).

Usage: python examples/conversations_by_id.py CONVERSATION_ID
"""

import sys

import symbl

if len(sys.argv) < 2:
    sys.exit(__doc__)
conversation_id = sys.argv[1]
print(symbl.conversations.get_conversation(conversation_id).name)
for message in symbl.conversations.get_messages(conversation_id).messages:
    print(f"[{message.start_time}] {message.from_.name}: {message.text}")
print(symbl.Conversations.get_follow_ups(conversation_id))
