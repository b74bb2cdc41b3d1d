"""The Async API (PROTOCOL.md §2) and the Job API (§3) over HTTP.

Known options are checked as strictly as the service checks them (bad values are 400s);
options the emulator does not know are accepted, as the service adds options over time (the
request log shows them). Leniency is where PROTOCOL.md says real clients need it: ``"true"``
for ``true``, an empty Content-Type on uploads, and the three forms of ``customVocabulary`` in
a query (§12 C4).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Mapping
from typing import IO, Any

import aiohttp
from aiohttp import web

from symbl._protocol import jobs
from symbl._protocol import options as _options
from symbl._protocol.jobs import check_messages
from symbl.emulator.media import MediaInfo
from symbl.emulator.stores.conversations import ConversationNotFoundError, StoredConversation
from symbl.emulator.stores.jobs import JobLimitError, JobNotFoundError, Work
from symbl.emulator.stores.processing import add_media, add_text, probe_upload, sha256_of
from symbl.emulator.stores.settings import Settings

from .common import (
    STATE,
    ApiError,
    app_id_of,
    json_response,
    parse_json,
    read_object,
    spool_body,
    state_of,
)
from .doors import check_media_host

routes = web.RouteTableDef()
_MEDIA = jobs.PROCESS_PATH.format(kind="{media:" + "|".join(jobs.MEDIA_KINDS) + "}")
_TEXT = jobs.PROCESS_PATH.format(kind="text")

CONVERSATION_NOT_FOUND = "The conversationId is either invalid or does not exist."
_CONTENT_TYPES = {
    "audio": ("audio/wav", "audio/wave", "audio/x-wav", "audio/mpeg", "audio/mp3"),
    "video": ("video/mp4",),
}
_JSON_OPTIONS = (
    "entities",
    "channelMetadata",
    "trackers",
    "features",
    "metadata",
)
# Text conversations can be long: a day of chat is a few MiB of JSON.
_TEXT_LIMIT = 8 << 20
_MEDIA_LIMIT_HINT = (
    " Raise the emulator's max_media_bytes setting (--max-media-bytes) to accept it."
)
_WEBHOOK_TIMEOUT = aiohttp.ClientTimeout(total=10)


@routes.post(_MEDIA)
@routes.put(_MEDIA + jobs.APPEND_SUFFIX)
async def submit_file(request: web.Request) -> web.Response:
    """Upload a recording: options in the query, the bytes as the body."""
    media = request.match_info["media"]
    options = _checked(_query_options(request), _options.MEDIA_OPTIONS)
    _add_account_trackers(request, options)
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type and content_type not in _CONTENT_TYPES[media]:
        accepted = ", ".join(_CONTENT_TYPES[media])
        raise ApiError(400, f"Content-Type {content_type!r} is not for {media}; use {accepted}.")
    conversation = _target(request, options)
    limit = state_of(request).settings.max_media_bytes
    spool = await spool_body(request, limit, _MEDIA_LIMIT_HINT)
    library = state_of(request).media_library

    async def work() -> None:
        try:
            info = await asyncio.get_running_loop().run_in_executor(None, probe_upload, spool)
            digest = await asyncio.get_running_loop().run_in_executor(None, sha256_of, spool)
            add_media(conversation, info, library.by_sha256.get(digest), options)
        finally:
            spool.close()

    try:
        if _size(spool) == 0:
            raise ApiError(400, "The request body is empty; send the media file's bytes.")
        return _accepted(request, conversation, work, options)
    except BaseException:  # refused: the job that would close the spool never runs
        spool.close()
        raise


@routes.post(_MEDIA + jobs.URL_SUFFIX)
@routes.put(_MEDIA + jobs.URL_SUFFIX + jobs.APPEND_SUFFIX)
async def submit_url(request: web.Request) -> web.Response:
    """A recording the emulator fetches from a URL (or finds registered for that URL)."""
    body = await read_object(request)
    url = body.pop("url", None)
    try:
        _options.check_url("url", url)
    except ValueError as exc:
        raise ApiError(400, f'"url" is required and must be a direct http(s) link: {exc}') from None
    options = _checked(body, _options.URL_OPTIONS)
    options.update(_checked(_query_options(request), _options.URL_QUERY_OPTIONS))
    _add_account_trackers(request, options)
    conversation = _target(request, options)
    state = state_of(request)
    library = state.media_library

    async def work() -> None:
        registered = library.by_url.get(url)
        if registered is not None:
            info = MediaInfo("registered", "", registered.duration)
            add_media(conversation, info, registered, options)
            return
        spool = await _download(url, state.settings)
        try:
            info = await asyncio.get_running_loop().run_in_executor(None, probe_upload, spool)
            add_media(conversation, info, None, options)
        finally:
            spool.close()

    return _accepted(request, conversation, work, options)


@routes.post(_TEXT)
@routes.put(_TEXT + jobs.APPEND_SUFFIX)
async def submit_text(request: web.Request) -> web.Response:
    """A text conversation: messages and options in a JSON body."""
    body = await read_object(request, _TEXT_LIMIT)
    try:
        messages = check_messages(body.pop("messages", None))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    options = _checked(body, _options.TEXT_OPTIONS)
    _add_account_trackers(request, options)
    conversation = _target(request, options)
    return _accepted(
        request, conversation, lambda: add_text(conversation, messages, options), options
    )


@routes.get(jobs.JOB_PATH)
async def get_job(request: web.Request) -> web.Response:
    """A job's status."""
    try:
        job = state_of(request).jobs.get(app_id_of(request), request.match_info["job_id"])
    except JobNotFoundError:
        raise ApiError(404, "The jobId is either invalid or does not exist.") from None
    return json_response(job.to_json())


async def start_webhooks(app: web.Application) -> None:
    """On start-up: deliver job-status callbacks (PROTOCOL.md §2.5) from the server's loop."""
    state = app[STATE]
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task[None]] = set()

    async def deliver(url: str, body: dict[str, str]) -> None:
        record: dict[str, Any] = {"url": url, "body": body}
        state.webhook_deliveries.append(record)
        try:
            async with (
                aiohttp.ClientSession(timeout=_WEBHOOK_TIMEOUT) as session,
                session.post(url, json=body) as response,
            ):
                record["status"] = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            record["error"] = str(exc) or type(exc).__name__

    def send(url: str, body: dict[str, str]) -> None:
        task = loop.create_task(deliver(url, body))
        pending.add(task)
        task.add_done_callback(pending.discard)

    state.webhook_sender = send


async def stop_jobs(app: web.Application) -> None:
    """On shutdown: stop jobs in flight."""
    app[STATE].jobs.cancel_all()


def _query_options(request: web.Request) -> dict[str, Any]:
    """Query options with JSON values decoded; of a repeated key, the last value (but see
    :func:`_vocabulary`)."""
    options: dict[str, Any] = {}
    for name in request.query:
        values = request.query.getall(name)
        if name == "customVocabulary":
            options[name] = _vocabulary(values)
        elif name in _JSON_OPTIONS:
            options[name] = _json_text(name, values[-1])
        else:
            options[name] = values[-1]
    return options


def _vocabulary(values: list[str]) -> Any:
    """``customVocabulary`` in any of its query forms (PROTOCOL.md §12 C4): JSON array text in
    one key, one word per repeated key, or the old SDK's one character per repeated key (which
    concatenated are the JSON text)."""
    joined = "".join(values)
    one_character_each = len(values) > 1 and all(len(value) == 1 for value in values)
    if (len(values) == 1 or one_character_each) and joined.startswith("["):
        return _json_text("customVocabulary", joined)
    return values


def _json_text(name: str, value: str) -> Any:
    try:
        return parse_json(value)
    except ValueError:
        raise ApiError(400, f'"{name}" must be JSON text in the query string.') from None


def _add_account_trackers(request: web.Request, options: dict[str, Any]) -> None:
    """With ``enableAllTrackers``, the job also looks for the account's trackers (made with
    the Management API, PROTOCOL.md §11.5) besides those it names."""
    if options.get("enableAllTrackers") is not True:
        return
    account = state_of(request).trackers.all(app_id_of(request))
    named = [{"name": tracker["name"], "vocabulary": tracker["vocabulary"]} for tracker in account]
    if named:
        options["trackers"] = [*options.get("trackers", []), *named]


def _checked(options: Mapping[str, Any], documented: frozenset[str]) -> dict[str, Any]:
    """The options checked as the service checks them: known ones strictly, others as they
    came."""
    try:
        return _options.normalize(options, documented, "the request", received=True)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


def _target(request: web.Request, options: Mapping[str, Any]) -> StoredConversation:
    """The conversation to append to (404 if unknown), or a new one."""
    state = state_of(request)
    app_id = app_id_of(request)
    conversation_id = request.match_info.get("conversation_id")
    if conversation_id is None:
        return state.conversations.create(app_id, name=options.get("name"))
    try:
        return state.conversations.get(app_id, conversation_id)
    except ConversationNotFoundError:
        raise ApiError(404, CONVERSATION_NOT_FOUND) from None


def _accepted(
    request: web.Request, conversation: StoredConversation, work: Work, options: Mapping[str, Any]
) -> web.Response:
    """Start the job (429, changing nothing, past the app's limit on jobs in progress)."""
    state = state_of(request)
    app_id = app_id_of(request)
    try:
        state.jobs.check_room(app_id)
    except JobLimitError:
        if "conversation_id" not in request.match_info:  # the new conversation goes too
            state.conversations.delete(app_id, conversation.id)
        raise ApiError(429, jobs.JOB_LIMIT_REACHED) from None
    features = options.get("features", {}).get("featureList", [])
    conversation.features = sorted(set(conversation.features) | set(features))
    if "metadata" in options:
        conversation.metadata.update(options["metadata"])

    def work_then_analysis() -> Awaitable[None] | None:
        # The job completes with its analysis ready, so that the first getter finds it.
        outcome = work()
        if outcome is None:
            return conversation.prepared()

        async def then() -> None:
            await outcome
            analysing = conversation.prepared()
            if analysing is not None:
                await analysing

        return then()

    job = state.jobs.submit(app_id, conversation.id, work_then_analysis, options.get("webhookUrl"))
    return json_response({"conversationId": conversation.id, "jobId": job.id}, status=201)


async def _download(url: str, settings: Settings) -> IO[bytes]:
    """Fetch media like the service does (200, no redirects), from an allowed host only, at
    most ``max_media_bytes`` within ``media_fetch_seconds``; any failure fails the job with
    the reason, and a host that is not allowed is never contacted."""
    check_media_host(url, settings.allowed_media_hosts)
    limit = settings.max_media_bytes
    timeout = aiohttp.ClientTimeout(total=settings.media_fetch_seconds)
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            if response.status != 200:
                raise RuntimeError(f"downloading {url} answered {response.status}")
            if (response.content_length or 0) > limit:
                raise RuntimeError(f"{url} is larger than max_media_bytes ({limit} bytes)")
            size = 0
            async for chunk in response.content.iter_chunked(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise RuntimeError(f"{url} is larger than max_media_bytes ({limit} bytes)")
                spool.write(chunk)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        spool.close()
        raise RuntimeError(f"could not download {url}: {exc or type(exc).__name__}") from exc
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _size(stream: IO[bytes]) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size
