"""The options of ``python -m symbl.emulator`` and ``symbl emulator``, in one place.

Nothing here needs aiohttp, so the ``symbl`` command can offer them (and their help) without
the emulator extra installed.
"""

from __future__ import annotations

import argparse

from symbl._protocol.jobs import PAID_PLAN_CONCURRENCY, TRIAL_CONCURRENCY

from .stores.settings import DEFAULT_APP_ID, DEFAULT_APP_SECRET, DEFAULT_MAX_MEDIA_BYTES

#: The environment variable that may hold the admin token (safer than ``--admin-token``,
#: which other local users can read in the process list).
ADMIN_TOKEN_VARIABLE = "SYMBL_EMULATOR_ADMIN_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to ``parser``."""
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens the "
        "emulator to your network, and then needs --allowed-host for the names it is reached by)",
    )
    parser.add_argument(
        "--port", type=_port, default=8080, help="TCP port, 0 for any free one (default 8080)"
    )
    parser.add_argument(
        "--app-id",
        default=DEFAULT_APP_ID,
        help=f"the app id that may generate tokens (default {DEFAULT_APP_ID})",
    )
    parser.add_argument(
        "--app-secret",
        default=DEFAULT_APP_SECRET,
        help=f"the secret of that app (default {DEFAULT_APP_SECRET})",
    )
    parser.add_argument(
        "--token-lifetime",
        type=_positive_float,
        default=86400.0,
        metavar="SECONDS",
        help="how long generated access tokens stay valid (default 86400)",
    )
    parser.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help=f"the token the admin API (/_emulator/...) needs in the X-Emulator-Admin-Token "
        f"header (default: ${ADMIN_TOKEN_VARIABLE}, else a random one); printed at start",
    )
    parser.add_argument(
        "--open-admin",
        action="store_true",
        help="UNSAFE: serve the admin API without the token, to any program or web page that "
        "can reach the port",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="also answer requests whose Host header names HOST, besides localhost, 127.0.0.1, "
        "[::1] and --host (repeatable; '*' for any, which gives up DNS-rebinding protection)",
    )
    parser.add_argument(
        "--allow-media-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="download the media URLs of process_url from HOST (repeatable; none by default; "
        "loopback and private hosts only when named, even with '*')",
    )
    parser.add_argument(
        "--max-media-bytes",
        type=_non_negative_int,
        default=DEFAULT_MAX_MEDIA_BYTES,
        metavar="BYTES",
        help=f"the largest media file accepted, uploaded or downloaded "
        f"(default {DEFAULT_MAX_MEDIA_BYTES}, 2 GiB)",
    )
    parser.add_argument(
        "--max-jobs-in-progress",
        type=_non_negative_int,
        default=PAID_PLAN_CONCURRENCY,
        metavar="N",
        help=f"async jobs an app may have in progress at once; more are refused with 429 "
        f"(default {PAID_PLAN_CONCURRENCY}, a paid plan's limit; {TRIAL_CONCURRENCY} for a trial "
        "account; 0 for none)",
    )
    parser.add_argument(
        "--max-live-streams",
        type=_non_negative_int,
        default=PAID_PLAN_CONCURRENCY,
        metavar="N",
        help=f"streaming connections an app may have open at once; more are refused with 429 "
        f"(default {PAID_PLAN_CONCURRENCY}; 0 for none)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the address and the admin token as one line of JSON instead of the banner",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request on stderr")


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535)")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value
