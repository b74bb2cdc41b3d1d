"""``python -m symbl.emulator``: serve the emulator in the foreground."""

from __future__ import annotations

import argparse
import sys

from .server import Emulator
from .stores.settings import DEFAULT_APP_ID, DEFAULT_APP_SECRET


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, serve until Ctrl+C, and return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m symbl.emulator", description="Serve a local emulator of the Symbl API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port, 0 for any (default 8080)")
    parser.add_argument("--app-id", default=DEFAULT_APP_ID, help="app id accepted for tokens")
    parser.add_argument("--app-secret", default=DEFAULT_APP_SECRET, help="its app secret")
    parser.add_argument(
        "--token-lifetime", type=float, default=86400.0, help="token lifetime in seconds"
    )
    args = parser.parse_args(argv)
    emulator = Emulator(
        args.host,
        args.port,
        apps={args.app_id: args.app_secret},
        token_lifetime=args.token_lifetime,
    )
    try:
        emulator.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    secret = (
        args.app_secret if args.app_secret == DEFAULT_APP_SECRET else "<the --app-secret given>"
    )
    print(f"Symbl emulator listening on {emulator.base_url}  (Ctrl+C to stop)")
    print(f"  export SYMBL_BASE_URL={emulator.base_url}")
    print(f"  export SYMBL_APP_ID={args.app_id}")
    print(f"  export SYMBL_APP_SECRET={secret}", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
