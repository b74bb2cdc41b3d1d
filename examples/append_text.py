"""Add messages to an existing conversation (symbl.Text.append).

Usage: python examples/append_text.py CONVERSATION_ID "Something else that was said."
"""

import sys

import symbl

if len(sys.argv) < 3:
    sys.exit(__doc__)
payload = {"messages": [{"payload": {"content": sys.argv[2]}, "from": {"name": "You"}}]}
conversation = symbl.Text.append(payload=payload, conversation_id=sys.argv[1])
print(conversation.get_messages().messages[-1].text)
