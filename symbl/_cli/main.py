"""The ``symbl`` command: the SDK from a shell.

Every subcommand prints tables for people, or JSON with ``--json``. Errors are one line on
stderr (the traceback with ``--debug``). Exit codes: 0 success, 1 the service or a job failed,
2 bad arguments, 3 missing or broken configuration, 130 interrupted (Ctrl+C).

Run ``symbl --help`` or ``symbl <command> --help``; docs/cli.md has the full reference.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, NoReturn

from symbl import errors
from symbl._models.exports import EXPORT_FORMATS
from symbl._models.objects import SymblObject
from symbl._protocol.jobs import PAID_PLAN_CONCURRENCY, TRIAL_CONCURRENCY
from symbl._protocol.streaming import INSIGHT_TYPES
from symbl._resources.conversations import Conversation
from symbl._version import __version__
from symbl.emulator.options import add_arguments as add_emulator_arguments

from . import inputs, process
from . import views as _views
from .terminal import Spinner, supports_unicode, table
from .workers import map_concurrently

EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_INTERRUPTED = 1, 2, 3, 130
#: What ``symbl call`` calls the arguments the SDK's messages name.
CALL_TERMS = {
    "phone_number": "the number",
    "dtmf": "--dtmf",
    r"actions\[0\]\.parameters\.emails": "--email",
}
CONVERSATION_VIEWS = (
    "messages",
    "topics",
    "questions",
    "action-items",
    "follow-ups",
    "members",
    "entities",
    "trackers",
    "analytics",
    "transcript",
    "export",
)
#: What ``symbl conversation ... export`` calls the arguments of ``Conversation.export``.
EXPORT_TERMS = {"path": "--output"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    try:
        result: int = args.run(args)
        return result
    except KeyboardInterrupt:
        print("symbl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        print(f"symbl: error: {exc}", file=sys.stderr)
        return exit_code(exc)


def exit_code(error: BaseException) -> int:
    """The exit code for an error that ended a command."""
    if isinstance(error, errors.InvalidArgumentError):
        return EXIT_USAGE
    if isinstance(error, errors.ConfigurationError):
        return EXIT_CONFIG
    return EXIT_FAILED


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line, pointing at the help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for machines")
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser = _Parser(
        prog="symbl",
        description="The Symbl.ai API from the command line.",
        epilog="Credentials: SYMBL_APP_ID / SYMBL_APP_SECRET, or symbl.conf (see docs/cli.md).",
    )
    parser.add_argument("--version", action="version", version=f"symbl {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="command", parser_class=_Parser
    )

    demo = commands.add_parser("demo", parents=[common], help="the main job, end to end, offline")
    demo.add_argument(
        "--live",
        action="store_true",
        help="use the real service with your credentials instead of the emulator",
    )
    demo.set_defaults(run=run_demo)

    submission = _Parser(add_help=False)
    submission.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="key=value",
        help="an Async API option, e.g. --param detectEntities=true (repeatable)",
    )
    submission.add_argument(
        "--no-wait", action="store_true", help="do not wait for the jobs to end"
    )

    process = commands.add_parser("process", parents=[common, submission], help="submit recordings")
    process.add_argument(
        "sources",
        nargs="+",
        metavar="file|url|dir",
        help="recordings: files, http(s) URLs, or folders of media files",
    )
    process.add_argument(
        "--type",
        choices=("audio", "video"),
        help="treat every source as this (default: by file extension)",
    )
    process.add_argument(
        "--concurrency",
        "--workers",
        type=_positive,
        default=PAID_PLAN_CONCURRENCY,
        help=f"most jobs in progress at once, for the account (default {PAID_PLAN_CONCURRENCY}"
        f", a paid plan's limit; a trial account allows {TRIAL_CONCURRENCY})",
    )
    process.add_argument(
        "--retry-uncertain",
        action="store_true",
        help="submit again the sources the journal marks uncertain (a run stopped while "
        "submitting them); check first that they did not reach the service",
    )
    process.add_argument(
        "--journal",
        metavar="FILE",
        help="record the batch in this SQLite file: run the same command again to resume "
        "after a crash or Ctrl+C, without submitting anything twice",
    )
    process.set_defaults(run=run_process)

    text = commands.add_parser(
        "text", parents=[common, submission], help="submit a text conversation"
    )
    text.add_argument(
        "source",
        metavar="file.json|-",
        help="a Text API payload ({'messages': [...]}) or a list of messages; - reads stdin",
    )
    text.set_defaults(run=run_text)

    conversation = commands.add_parser(
        "conversation", parents=[common], help="read a processed conversation"
    )
    conversation.add_argument("conversation_id")
    conversation.add_argument("view", choices=CONVERSATION_VIEWS)
    conversation.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        help="for export (required) and transcript (default txt: a line per message): "
        + ", ".join(EXPORT_FORMATS),
    )
    conversation.add_argument(
        "--output", metavar="FILE", help="for export and transcript: write to FILE"
    )
    conversation.set_defaults(run=run_conversation)

    stream = commands.add_parser("stream", parents=[common], help="stream live audio")
    source = stream.add_mutually_exclusive_group(required=True)
    source.add_argument("--mic", action="store_true", help="stream the microphone")
    source.add_argument("--file", type=Path, metavar="x.wav", help="stream a WAV file")
    stream.add_argument(
        "--device", type=inputs.device, help="input device index or name (see: symbl devices)"
    )
    stream.add_argument("--fast", action="store_true", help="send the file as fast as allowed")
    stream.add_argument(
        "--insights",
        type=inputs.insight_types,
        default="question,action_item",
        help="insight types to receive, comma-separated: "
        + ",".join(INSIGHT_TYPES)
        + " (default question,action_item)",
    )
    stream.set_defaults(run=run_stream)

    devices = commands.add_parser("devices", parents=[common], help="list audio input devices")
    devices.set_defaults(run=run_devices)

    call = commands.add_parser("call", parents=[common], help="have Symbl join a phone call")
    kinds = call.add_subparsers(
        dest="kind", required=True, metavar="pstn|sip", parser_class=_Parser
    )
    pstn = kinds.add_parser("pstn", parents=[common], help="dial a phone number")
    pstn.add_argument("number", help="with country code, e.g. +14155550100")
    pstn.add_argument("--dtmf", help="digits to dial once connected, e.g. ,,12345#")
    sip = kinds.add_parser("sip", parents=[common], help="join through a SIP URI")
    sip.add_argument("uri", help="e.g. sip:8002@sip.example.com")
    for kind in (pstn, sip):
        kind.add_argument(
            "--email",
            action="append",
            default=[],
            help="send the summary to this address when the call ends",
        )
        kind.set_defaults(run=run_call)

    emulator = commands.add_parser(
        "emulator",
        help="serve the local emulator of the API",
        description="Serve a local emulator of the Symbl API (the same as python -m "
        "symbl.emulator): it prints its address and admin token, then logs each request.",
    )
    add_emulator_arguments(emulator)
    emulator.set_defaults(run=run_emulator, debug=False)
    return parser


# -- commands -----------------------------------------------------------------------------------


def run_demo(args: argparse.Namespace) -> int:
    """``symbl demo``."""
    from .demo import run

    return run(live=args.live, as_json=args.json)


def run_process(args: argparse.Namespace) -> int:
    """``symbl process``: submit files, URLs and folders as a batch, within the account's
    limit; with ``--no-wait``, submit them and return the ids at once."""
    parameters = parse_params(args.param)
    if args.no_wait and args.journal:
        raise errors.InvalidArgumentError(
            "--journal follows the jobs to their end; leave out --no-wait"
        )
    process.check_parameters(parameters)
    sources, rows = process.expand_sources(args.sources)
    if args.no_wait:
        rows += map_concurrently(
            lambda source: _submitted(source, args.type, parameters), sources, 8
        )
    else:
        rows += process.run_batch(args, sources, parameters)
    rows = process.in_order(rows, args.sources)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(process.results_table(rows))
    if args.no_wait:
        failed = any(row["status"] == "error" for row in rows)
    else:
        failed = any(row["status"] != "completed" for row in rows)
    return EXIT_FAILED if failed else 0


def _submitted(source: str, kind: str | None, parameters: dict[str, Any]) -> dict[str, Any]:
    """Submit one source without waiting: its row, with the ids, or with why it was not
    submitted."""
    import symbl

    video = (kind or process.media_of(source)) == "video"
    resource = symbl.Video if video else symbl.Audio
    try:
        with inputs.option_terms(inputs.param_terms(parameters)):
            if inputs.web_url(source):
                conversation = resource.process_url(source, wait=False, parameters=parameters)
            else:
                conversation = resource.process_file(source, wait=False, parameters=parameters)
    except (errors.InvalidArgumentError, errors.APIStatusError, errors.APIConnectionError) as exc:
        return process.row(source, "error", error=str(exc))
    summary = job_summary(conversation)
    return process.row(source, summary["status"], summary["conversationId"], summary["jobId"])


def run_text(args: argparse.Namespace) -> int:
    """``symbl text``: submit a text conversation from a file or stdin."""
    import symbl

    parameters = parse_params(args.param)
    source = "stdin" if args.source == "-" else args.source
    path = None if args.source == "-" else inputs.require_file(args.source)
    try:
        payload = json.loads(sys.stdin.read() if path is None else path.read_bytes())
    except ValueError as exc:  # also bytes that are not UTF-8 text
        raise errors.InvalidArgumentError(f"{source} is not JSON: {exc}") from exc
    if isinstance(payload, list):
        payload = {"messages": payload}
    if not isinstance(payload, dict) or "messages" not in payload:
        raise errors.InvalidArgumentError(
            f'{source} holds neither a Text API payload ({{"messages": [...]}}) nor a list '
            "of messages"
        )
    with inputs.option_terms(inputs.param_terms(parameters)):
        conversation = symbl.Text.process(payload=payload, wait=False, parameters=parameters)
    if not args.no_wait:
        wait_for(conversation, "text")
    result = job_summary(conversation)
    show(
        args,
        [result],
        [
            ("conversation", lambda r: r["conversationId"]),
            ("job", lambda r: r["jobId"]),
            ("status", lambda r: r["status"]),
        ],
    )
    return EXIT_FAILED if result["status"] == "failed" else 0


def run_conversation(args: argparse.Namespace) -> int:
    """``symbl conversation <id> <view>``."""
    import symbl

    conversation = symbl.Conversation(args.conversation_id)
    if args.view in ("transcript", "export"):
        return run_export(args, conversation)
    if args.format or args.output:
        raise errors.InvalidArgumentError("--format and --output go with transcript and export")
    answer = _views.fetch(conversation, args.view)
    if args.json:
        print(json.dumps(_plain(answer), indent=2))
    else:
        print(_views.render(args.view, answer, unicode=supports_unicode(sys.stdout)))
    return 0


def run_export(args: argparse.Namespace, conversation: Conversation) -> int:
    """``symbl conversation <id> transcript|export``: the transcript made from the messages,
    printed or written to ``--output``; ``transcript`` shows one line per message."""
    if args.json:
        if args.view == "export":
            raise errors.InvalidArgumentError("export takes --format, not --json (--format jsonl)")
        print(json.dumps(conversation.get_messages().to_dict(), indent=2))
        return 0
    if args.view == "export" and args.format is None:
        raise errors.InvalidArgumentError(
            f"export needs --format: one of {', '.join(EXPORT_FORMATS)}"
        )
    with inputs.option_terms(EXPORT_TERMS):
        if args.output is not None:
            conversation.export(args.format or "txt", args.output)
        else:
            sys.stdout.write(conversation.export(args.format or "txt"))
    return 0


def run_stream(args: argparse.Namespace) -> int:
    """``symbl stream``: the microphone or a WAV file, printing results live."""
    import symbl

    if args.mic:
        inputs.check_microphone(args.device)
    elif args.device is not None:
        raise errors.InvalidArgumentError("--device goes with --mic, not with --file")
    else:
        inputs.check_wav(args.file)
    connection = symbl.Streaming.start_connection(insight_types=args.insights)
    printer = _views.LivePrinter(as_json=args.json)
    connection.subscribe(printer.streaming_callbacks())
    conversation_id = (
        connection.conversation.get_conversation_id() if connection.conversation else ""
    )
    if not args.json:
        print(f"streaming; conversation {conversation_id} (Ctrl+C to stop)", file=sys.stderr)
    try:
        if args.mic:
            connection.send_audio_from_mic(device=args.device)
        else:
            connection.send_audio_from_file(args.file, realtime=not args.fast)
    finally:
        connection.stop()
    if not printer.heard:
        base_url = connection.conversation.client.base_url if connection.conversation else None
        source = "the microphone" if args.mic else str(args.file)
        print(f"symbl: warning: {inputs.nothing_heard(base_url, source)}", file=sys.stderr)
    if not args.json:
        print(f"conversation {conversation_id}", file=sys.stderr)
    return 0


def run_devices(args: argparse.Namespace) -> int:
    """``symbl devices``: the audio input devices."""
    from symbl._live.audio import input_devices

    show(
        args,
        input_devices(),
        [
            ("index", lambda d: d["index"]),
            ("channels", lambda d: d["channels"]),
            ("default", lambda d: "yes" if d["default"] else ""),
            ("name", lambda d: d["name"]),
        ],
    )
    return 0


def run_call(args: argparse.Namespace) -> int:
    """``symbl call pstn|sip``: join a call and print its live events until it ends."""
    import symbl

    email = {"invokeOn": "stop", "name": "sendSummaryEmail", "parameters": {"emails": args.email}}
    actions = [email] if args.email else None
    with inputs.option_terms(CALL_TERMS):
        if args.kind == "pstn":
            connection = symbl.Telephony.start_pstn(args.number, dtmf=args.dtmf, actions=actions)
        else:
            connection = symbl.Telephony.start_sip(args.uri, actions=actions)
    if not args.json:
        print(
            f"call started; connection {connection.connectionId}, conversation "
            f"{connection.conversationId} (Ctrl+C ends the call)",
            file=sys.stderr,
        )
    printer = _views.LivePrinter(as_json=args.json)
    connection.subscribe(printer.telephony_callbacks())
    try:
        while not connection.wait(timeout=0.5):
            pass
    finally:
        connection.stop()
    return 0


def run_emulator(args: argparse.Namespace) -> int:
    """``symbl emulator``: the same as ``python -m symbl.emulator``."""
    try:
        from symbl.emulator.__main__ import serve
    except ImportError as exc:  # the message says what to install
        raise errors.ConfigurationError(str(exc)) from exc
    return serve(args, "symbl emulator")


# -- helpers ------------------------------------------------------------------------------------


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` options; values are read as JSON when they parse (true, 0.7, [...])."""
    parameters: dict[str, Any] = {}
    for item in items:
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise errors.InvalidArgumentError(f"--param takes key=value, not {item!r}")
        try:
            parameters[key] = json.loads(value)
        except ValueError:
            parameters[key] = value
    return parameters


def wait_for(conversation: Conversation, label: str) -> None:
    """Wait for the job, with a spinner showing its status."""
    with Spinner(lambda: f"{label}: {conversation.status or 'submitted'}"):
        conversation.wait()


def job_summary(conversation: Conversation) -> dict[str, Any]:
    """The ids and last status of a submitted job."""
    return {
        "conversationId": conversation.get_conversation_id(),
        "jobId": conversation.get_job_id(),
        "status": conversation.status or "submitted",
    }


def show(
    args: argparse.Namespace,
    rows: Sequence[Any],
    columns: Sequence[tuple[str, Callable[[Any], Any]]],
) -> None:
    """Print rows as a table, or as JSON with ``--json``."""
    print(
        json.dumps([_plain(row) for row in rows], indent=2) if args.json else table(rows, columns)
    )


def _plain(value: Any) -> Any:
    return value.to_dict() if isinstance(value, SymblObject) else value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
