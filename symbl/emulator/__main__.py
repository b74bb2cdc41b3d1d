"""``python -m symbl.emulator``: serve the emulator in the foreground.

It prints where it listens, the environment that points the SDK at it and the admin token
(or, with ``--json``, one line of JSON: ``baseUrl``, ``adminToken``, ``adminTokenHeader``,
``appId``), logs each request on stderr, and exits with 130 on Ctrl+C.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from . import Emulator
from .options import ADMIN_TOKEN_VARIABLE, add_arguments
from .stores.requestlog import ADMIN_TOKEN_HEADER
from .stores.settings import DEFAULT_APP_SECRET

EXIT_INTERRUPTED = 130


def main(argv: list[str] | None = None, prog: str = "python -m symbl.emulator") -> int:
    """Parse arguments, serve until Ctrl+C, and return the exit status."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Serve a local emulator of the Symbl API."
    )
    add_arguments(parser)
    return serve(parser.parse_args(argv), prog)


def serve(args: argparse.Namespace, prog: str = "python -m symbl.emulator") -> int:
    """Serve with parsed options (see :mod:`symbl.emulator.options`) until Ctrl+C: 0 when
    stopped otherwise, 1 when it cannot listen, 2 for an invalid option, 130 on Ctrl+C."""
    try:
        emulator = Emulator(
            args.host,
            args.port,
            apps={args.app_id: args.app_secret},
            admin_token=args.admin_token or os.environ.get(ADMIN_TOKEN_VARIABLE) or None,
            open_admin=args.open_admin,
            allowed_hosts=args.allowed_host,
            log_requests=not args.quiet,
            token_lifetime=args.token_lifetime,
            max_media_bytes=args.max_media_bytes,
            max_jobs_in_progress=args.max_jobs_in_progress,
            max_live_streams=args.max_live_streams,
            allowed_media_hosts=args.allow_media_host,
        )
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        _log_to_stderr()
    try:
        try:
            emulator.start()
        except OSError as exc:
            print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
            return 1
        _announce(emulator, args)
        emulator.serve_forever()
    except KeyboardInterrupt:
        emulator.stop()
        print("stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _announce(emulator: Emulator, args: argparse.Namespace) -> None:
    if args.json:
        print(
            json.dumps(
                {
                    "baseUrl": emulator.base_url,
                    "adminToken": emulator.admin_token,
                    "adminTokenHeader": ADMIN_TOKEN_HEADER,
                    "openAdmin": emulator.open_admin,
                    "appId": emulator.app_id,
                }
            ),
            flush=True,
        )
        return
    secret = (
        args.app_secret if args.app_secret == DEFAULT_APP_SECRET else "<the --app-secret given>"
    )
    admin = (
        "open to anyone who can reach the port (--open-admin: unsafe)"
        if emulator.open_admin
        else f"send the header {ADMIN_TOKEN_HEADER}: {emulator.admin_token}"
    )
    print(f"Symbl emulator listening on {emulator.base_url}  (Ctrl+C to stop)")
    print(f"  export SYMBL_BASE_URL={emulator.base_url}")
    print(f"  export SYMBL_APP_ID={args.app_id}")
    print(f"  export SYMBL_APP_SECRET={secret}")
    print(f"Admin API ({emulator.base_url}/_emulator/...): {admin}", flush=True)


def _log_to_stderr() -> None:
    """Requests and job failures, one line each, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("symbl.emulator")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
