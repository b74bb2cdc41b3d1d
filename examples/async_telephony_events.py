"""Have Symbl dial a phone number and read the call's live events with `async for`.

symbl.AsyncClient's connection is an async iterator of the call's events (dicts with a "type").
The script prints the final transcript lines, the insights and the end of the call; it stops
when the call ends or after --events events, and ends the call properly either way (Ctrl+C
too), then prints the summary links. Everything runs on one event loop, with no thread.
Usage: python examples/async_telephony_events.py +14155550100 [",,MEETING_ID#,,PASSCODE#"]
       [--events N] [--email you@example.com]
Needs the asyncio extra: pip install 'symbl[asyncio]'.
Against the local emulator, the call hears the emulator's live transcript: set one first
(docs/emulator.md, "Streams and calls: the live transcript"); without it the line stays silent
until the call is stopped (Ctrl+C, or --events).
"""

from __future__ import annotations

import argparse
import asyncio

import symbl


def describe(event: dict) -> str | None:
    """One line for the events worth showing, None for the rest (interim text, ...)."""
    if event["type"] == "transcript_response" and event.get("isFinal"):
        return f"said: {event['payload']['content']}"
    if event["type"] == "insight_response":
        return "\n".join(f"  {i['type']}: {i['text']}" for i in event["insights"])
    if event["type"] == "topic_response":
        return "  topics: " + ", ".join(topic["phrases"] for topic in event["topics"])
    if event["type"] == "message" and event["message"].get("type") == "conversation_completed":
        return "the call ended"
    return None


async def main(arguments: argparse.Namespace) -> None:
    actions = []
    if arguments.email:  # a summary email when the call stops
        actions = [
            {
                "invokeOn": "stop",
                "name": "sendSummaryEmail",
                "parameters": {"emails": [arguments.email]},
            }
        ]
    async with symbl.AsyncClient() as client:  # credentials as for symbl.Client
        connection = await client.Telephony.start_pstn(
            phone_number=arguments.phone_number, dtmf=arguments.dtmf, actions=actions
        )
        print("calling; conversation", connection.conversationId)
        received = 0
        try:
            async for event in connection:  # ends when the call does
                received += 1
                line = describe(event)
                if line:
                    print(line)
                if arguments.events and received >= arguments.events:
                    print(f"stopping after {received} events")
                    break
        finally:
            await connection.stop()  # ends the call (if it still runs); returns the summary
        for info in connection.summaryInfo or []:
            print("summary:", info["url"])
        print(f"{received} events; conversation {connection.conversationId}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phone_number", help="the number to dial, with country code")
    parser.add_argument("dtmf", nargs="?", help="digits to dial once connected")
    parser.add_argument("--events", type=int, default=0, help="stop after this many events")
    parser.add_argument("--email", help="send the summary to this address when the call stops")
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        print("interrupted; the call was stopped")
