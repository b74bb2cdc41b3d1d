"""The main job, end to end and offline: start a local emulator of the Symbl API, submit the
bundled sample meeting as text and as a recording, and print the transcript and insights.

Usage: python examples/demo.py   (needs the emulator extra: pip install 'symbl[emulator]')
"""

import json
from pathlib import Path

import symbl
from symbl.emulator import Emulator

DATA = Path(symbl.__file__).parent / "data"


def show(title: str, lines: list[str]) -> None:
    print(f"\n== {title} ({len(lines)})")
    for line in lines:
        print("  " + line)


with Emulator() as emulator:
    client = symbl.Client(emulator.credentials, base_url=emulator.base_url)
    print(f"Symbl emulator running at {emulator.base_url}")

    payload = json.loads((DATA / "meeting.json").read_text(encoding="utf-8"))
    text = client.Text.process(payload=payload, parameters={"detectEntities": True})
    print(f"text job {text.get_job_id()}: {text.get_job_status()}")
    recording = client.Audio.process_file(file_path=DATA / "meeting.wav")
    print(f"audio job {recording.get_job_id()}: {recording.get_job_status()}")

    show(
        "Transcript of the recording",
        [
            f"{m.start_time[11:19]}  {m.from_.name}: {m.text}"
            for m in recording.get_messages().messages
        ],
    )
    show("Questions", [q.text for q in text.get_questions().questions])
    show(
        "Action items",
        [
            f"{item.text} (assignee: {item.assignee.get('name', '-')}, "
            f"due: {item.get('dueBy', '-')[:10]})"
            for item in text.get_action_items().action_items
        ],
    )
    show("Follow-ups", [item.text for item in text.get_follow_ups().follow_ups])
    show("Topics", [f"{t.text} ({t.score:.2f})" for t in text.get_topics().topics])
    show(
        "Analytics of the recording",
        [
            f"{metric.type}: {metric.seconds:.1f} s ({metric.percent:.0f}%)"
            for metric in recording.get_analytics().metrics
        ],
    )
