"""Submit a text conversation and print its insights (symbl.Text.process).

Usage: python examples/process_text.py [conversation.json]   (default: the bundled sample)
The JSON file holds a Text API payload: {"messages": [{"payload": {"content": ...}, ...}]}.
"""

import json
import sys
from pathlib import Path

import symbl

sample = Path(symbl.__file__).parent / "data" / "meeting.json"
payload = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else sample).read_text())
conversation = symbl.Text.process(payload=payload, parameters={"detectPhrases": True})
for question in conversation.get_questions().questions:
    print("question:", question.text)
for item in conversation.get_action_items().action_items:
    print(
        "action item:",
        item.text,
        "| assignee:",
        item.assignee.get("name"),
        "| due:",
        item.get("dueBy"),
    )
