"""Run many async jobs at once with symbl.AsyncClient: asyncio.gather under a Semaphore.

Every job is submitted, waited for and read on one event loop, with no thread; the semaphore
keeps at most --concurrency of them in flight, so a big batch does not meet the account's
limit on concurrent jobs (429). A job that fails is reported and the others go on.
Usage: python examples/async_many_jobs.py [--jobs 12] [--concurrency 4] [recording.wav ...]
With recordings: one audio job per file. Without: --jobs text jobs, each a part of the
bundled sample meeting. Needs the asyncio extra: pip install 'symbl[asyncio]'.
"""

import argparse
import asyncio
import json
import time
from pathlib import Path

import symbl

SAMPLE = Path(symbl.__file__).parent / "data" / "meeting.json"


class Batch:
    """The jobs of one run, and how many of them were in flight at once."""

    def __init__(self, client: symbl.AsyncClient, concurrency: int) -> None:
        self.client = client
        self.limit = asyncio.Semaphore(concurrency)
        self.running = 0
        self.peak = 0

    async def run(self, name: str, submit) -> bool:
        """Submit one job (``submit()`` returns the awaitable call), wait for it, print it."""
        async with self.limit:
            self.running += 1
            self.peak = max(self.peak, self.running)
            try:
                conversation = await submit()  # wait=True: returns once the job has completed
                messages, questions, actions = await asyncio.gather(
                    conversation.get_messages(),
                    conversation.get_questions(),
                    conversation.get_action_items(),
                )
            except symbl.SymblError as error:
                print(f"{name}: failed: {type(error).__name__}: {error}")
                return False
            finally:
                self.running -= 1
        print(
            f"{name}: conversation {conversation.get_conversation_id()}:",
            f"{counted(messages.messages, 'message')},",
            f"{counted(questions.questions, 'question')},",
            counted(actions.action_items, "action item"),
        )
        return True


def counted(items: list, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


async def main(arguments: argparse.Namespace) -> int:
    started = time.monotonic()
    async with symbl.AsyncClient() as client:  # credentials as for symbl.Client
        batch = Batch(client, arguments.concurrency)
        if arguments.recordings:
            runs = [
                batch.run(
                    f"{index:>2} {Path(path).name}",
                    lambda path=path: client.Audio.process_file(file_path=path),
                )
                for index, path in enumerate(arguments.recordings, 1)
            ]
        else:
            messages = json.loads(SAMPLE.read_text(encoding="utf-8"))["messages"]
            runs = []
            for index in range(1, arguments.jobs + 1):
                start = (index - 1) % len(messages)
                payload = {"name": f"Sample part {index}", "messages": messages[start : start + 3]}
                runs.append(
                    batch.run(
                        f"{index:>2} text",
                        lambda payload=payload: client.Text.process(payload=payload),
                    )
                )
        results = await asyncio.gather(*runs)
    completed = sum(results)
    print(
        f"{len(results)} jobs: {completed} completed, {len(results) - completed} failed,",
        f"at most {batch.peak} at a time, in {time.monotonic() - started:.1f} s",
    )
    return 0 if completed == len(results) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recordings", nargs="*", help="audio files (default: text jobs)")
    parser.add_argument("--jobs", type=int, default=12, help="text jobs to run (default 12)")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs in flight at most")
    raise SystemExit(asyncio.run(main(parser.parse_args())))
