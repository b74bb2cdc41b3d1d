"""A websocket relay: browsers send live audio, the server streams it to Symbl and sends the
transcript back (aiohttp.web and symbl.AsyncClient, one event loop, no thread).

The protocol of /listen (any websocket client can speak it):
  browser -> server  binary frames of LINEAR16 audio (16-bit little-endian mono PCM) at the
                     rate given in the URL, /listen?rate=16000 (the default); then, optionally,
                     the text frame {"type": "stop"} once it has sent everything.
  server -> browser  {"type": "started", "conversationId": ...}, then one
                     {"type": "transcript", "speaker": ..., "text": ...} per sentence, then
                     {"type": "stopped", "conversationId": ..., "summaryUrl": ...} after a stop,
                     or {"type": "error", "message": ...}.
Each browser gets its own stream (client.Streaming.start_connection) while its socket is open.
When the browser sends "stop", the stream is stopped, the last transcripts are relayed and the
socket is closed; when the browser just goes away, the stream is stopped all the same.

Usage: python examples/async_websocket_relay.py [--port 8080]
           serve; open http://localhost:8080/ for a page that streams your microphone
       python examples/async_websocket_relay.py --self-test [recording.wav] [--realtime]
           start the relay on a free port, play a WAV file to it as a browser would (default:
           the bundled sample, as fast as possible), print the transcripts and exit
Needs the asyncio extra (pip install 'symbl[asyncio]'), which brings aiohttp. Against the local
emulator, streams recognise the emulator's live transcript: set one first (docs/emulator.md,
"Streams and calls: the live transcript"), or the relay has no transcripts to send back.

The same handler in FastAPI (not a dependency of symbl; the AsyncClient is made in the app's
lifespan, as cleanup_ctx does below):

    @app.websocket("/listen")
    async def listen(browser: WebSocket, rate: int = 16000):
        await browser.accept()
        stream = await client.Streaming.start_connection(
            config={"speechRecognition": {"sampleRateHertz": rate}}
        )
        relay = asyncio.create_task(forward(stream, browser.send_json))
        try:
            async with stream:  # leaving the block stops the stream
                while True:
                    message = await browser.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    if message.get("bytes"):
                        await stream.send_audio(message["bytes"])
                    elif message.get("text") and json.loads(message["text"])["type"] == "stop":
                        break
        finally:
            await relay
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import wave
import weakref
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Callable

import aiohttp
from aiohttp import WSMsgType, web

import symbl

SAMPLE = Path(symbl.__file__).parent / "data" / "meeting.wav"
CLIENT = web.AppKey("client", symbl.AsyncClient)
BROWSERS = web.AppKey("browsers", weakref.WeakSet)


async def forward(stream: Any, send: Callable[[Any], Awaitable[None]]) -> None:
    """Send the stream's finished sentences to the browser until the stream ends."""
    try:
        async for event in stream:
            if event["type"] != "message_response":
                continue
            for message in event["messages"]:
                await send(
                    {
                        "type": "transcript",
                        "speaker": message["from"].get("name"),
                        "text": message["payload"]["content"],
                    }
                )
    except symbl.StreamingError as error:  # the stream broke
        await send({"type": "error", "message": str(error)})
    except ConnectionResetError:
        pass  # the browser has gone; the handler stops the stream


async def listen(request: web.Request) -> web.WebSocketResponse:
    """One browser: its audio to a new stream, the stream's transcripts back to it."""
    try:
        rate = int(request.query.get("rate", "16000"))
    except ValueError:
        raise web.HTTPBadRequest(text="rate must be a whole number of Hz") from None
    browser = web.WebSocketResponse()
    await browser.prepare(request)
    request.app[BROWSERS].add(browser)
    try:
        stream = await request.app[CLIENT].Streaming.start_connection(
            insight_types=["question", "action_item"],
            config={"speechRecognition": {"encoding": "LINEAR16", "sampleRateHertz": rate}},
        )
    except symbl.SymblError as error:  # a bad rate, refused credentials, the service is down
        await browser.send_json({"type": "error", "message": str(error)})
        await browser.close()
        return browser
    conversation_id = stream.conversation.get_conversation_id()
    await browser.send_json({"type": "started", "conversationId": conversation_id})
    relay = asyncio.create_task(forward(stream, browser.send_json))
    try:
        async with stream:  # leaving the block stops the stream, however it is left
            async for message in browser:  # ends when the browser goes away
                if message.type == WSMsgType.BINARY:
                    await stream.send_audio(message.data)
                elif message.type == WSMsgType.TEXT and is_stop(message.data):
                    break
    except symbl.SymblError as error:  # odd-sized audio, or the stream broke
        if not browser.closed:
            await browser.send_json({"type": "error", "message": str(error)})
    finally:
        await relay  # the last transcripts arrive before the stream ends
    if not browser.closed:
        summary = stream.summary_url
        await browser.send_json(
            {"type": "stopped", "conversationId": conversation_id, "summaryUrl": summary}
        )
        await browser.close()
    return browser


def is_stop(text: str) -> bool:
    try:
        return json.loads(text).get("type") == "stop"
    except (ValueError, AttributeError):
        return False


async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html")


async def symbl_client(app: web.Application):
    """One AsyncClient for the whole server, made and closed on the server's event loop."""
    async with symbl.AsyncClient() as client:  # credentials as for symbl.Client
        app[CLIENT] = client
        yield


async def close_browsers(app: web.Application) -> None:
    """At shutdown, close the browsers' sockets: each handler then stops its stream."""
    for browser in list(app[BROWSERS]):
        await browser.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"server shutdown")


def make_app() -> web.Application:
    app = web.Application()
    app[BROWSERS] = weakref.WeakSet()
    app.cleanup_ctx.append(symbl_client)
    app.on_shutdown.append(close_browsers)
    app.router.add_get("/", page)
    app.router.add_get("/listen", listen)
    return app


async def play(url: str, path: Path, realtime: bool) -> list[str]:
    """Be a browser: send a WAV file to the relay in 100 ms frames, then "stop"; print and
    return the transcripts that come back."""
    transcripts: list[str] = []
    with wave.open(str(path), "rb") as recording:
        if recording.getnchannels() != 1 or recording.getsampwidth() != 2:
            raise SystemExit(f"{path}: the relay takes 16-bit mono audio")
        rate = recording.getframerate()
        address = f"{url}?rate={rate}"
        async with aiohttp.ClientSession() as session, session.ws_connect(address) as socket:
            received = asyncio.create_task(receive(socket, transcripts))
            try:
                while True:
                    frames = recording.readframes(rate // 10)
                    if not frames:
                        break
                    await socket.send_bytes(frames)
                    await asyncio.sleep(0.1 if realtime else 0)
                await socket.send_json({"type": "stop"})
            except ConnectionResetError:
                pass  # the relay closed the socket; receive() has its last word
            await received
    return transcripts


async def receive(socket: aiohttp.ClientWebSocketResponse, transcripts: list[str]) -> None:
    async for message in socket:
        if message.type != WSMsgType.TEXT:
            continue
        event = json.loads(message.data)
        if event["type"] == "transcript":
            line = f"{event['speaker']}: {event['text']}"
            transcripts.append(line)
            print(line)
        elif event["type"] == "started":
            print("conversation", event["conversationId"])
        elif event["type"] == "stopped":
            print("stopped; summary:", event["summaryUrl"])
        else:
            print("error:", event["message"])


async def self_test(path: Path, realtime: bool) -> int:
    runner = web.AppRunner(make_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    print(f"relay on http://{host}:{port}/listen; sending {path.name}")
    try:
        transcripts = await play(f"http://{host}:{port}/listen", path, realtime)
    finally:
        await runner.cleanup()
    print(len(transcripts), "transcripts relayed")
    return 0 if transcripts else 1


PAGE = """<!doctype html>
<meta charset="utf-8">
<title>symbl relay</title>
<button id="start">Start</button> <button id="stop" disabled>Stop</button>
<pre id="out"></pre>
<script>
const out = document.getElementById("out");
const startButton = document.getElementById("start");
const stopButton = document.getElementById("stop");
let socket, context, microphone, source, processor;

startButton.onclick = async () => {
  microphone = await navigator.mediaDevices.getUserMedia({audio: true});
  context = new AudioContext();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/listen?rate=${context.sampleRate}`);
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    out.textContent += event.type === "transcript"
      ? `${event.speaker || "?"}: ${event.text}\\n`
      : `[${event.type}] ${event.conversationId || event.message || ""}\\n`;
  };
  socket.onopen = () => {
    source = context.createMediaStreamSource(microphone);
    processor = context.createScriptProcessor(4096, 1, 1);
    processor.onaudioprocess = (audio) => {
      const samples = audio.inputBuffer.getChannelData(0);
      const pcm = new Int16Array(samples.length);
      for (let i = 0; i < samples.length; i++) {
        pcm[i] = Math.max(-1, Math.min(1, samples[i])) * 0x7fff;
      }
      if (socket.readyState === WebSocket.OPEN) socket.send(pcm.buffer);
    };
    source.connect(processor);
    processor.connect(context.destination);
  };
  startButton.disabled = true;
  stopButton.disabled = false;
};

stopButton.onclick = () => {
  processor.disconnect();
  source.disconnect();
  microphone.getTracks().forEach((track) => track.stop());
  context.close();
  socket.send(JSON.stringify({type: "stop"}));
  startButton.disabled = false;
  stopButton.disabled = true;
};
</script>
"""


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", nargs="?", type=Path, default=SAMPLE, help="--self-test")
    parser.add_argument("--self-test", action="store_true", help="play a WAV file, then exit")
    parser.add_argument("--realtime", action="store_true", help="--self-test: pace the audio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    arguments = parser.parse_args()
    if arguments.self_test:
        sys.exit(asyncio.run(self_test(arguments.recording, arguments.realtime)))
    web.run_app(make_app(), host=arguments.host, port=arguments.port)
