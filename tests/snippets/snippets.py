"""The documented snippets, as verbatim copies in tests/snippets/docs/, and how to run them.

Each copy names the documentation page and the code block it came from; a test checks the
copies still match the pages in ../shared/seeds when that folder is beside the checkout.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from helpers import PYTHON

DOCS = Path(__file__).parent / "docs"
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
REFERENCE_PAGE = "003_b533b601234eea9c.txt"
PSTN_PAGE = "000_84c5b09e149ff33f.txt"
SIP_STREAMING_PAGE = "002_c0a5886e11f44993.txt"

#: copy file -> (seed page, index of the ```py block on that page)
SOURCES = {
    "reference_conversation_object.py": (REFERENCE_PAGE, 0),
    "reference_conversations_class.py": (REFERENCE_PAGE, 1),
    "reference_streaming_events.py": (REFERENCE_PAGE, 4),
    "reference_connection_events.py": (REFERENCE_PAGE, 5),
    "reference_connection_conversation.py": (REFERENCE_PAGE, 6),
    "pstn_start.py": (PSTN_PAGE, 1),
    "pstn_stop.py": (PSTN_PAGE, 2),
    "pstn_subscribe.py": (PSTN_PAGE, 3),
    "pstn_complete.py": (PSTN_PAGE, 5),
    "sip_start.py": (SIP_STREAMING_PAGE, 0),
    "sip_stop.py": (SIP_STREAMING_PAGE, 1),
    "sip_subscribe.py": (SIP_STREAMING_PAGE, 2),
    "streaming_mic.py": (SIP_STREAMING_PAGE, 3),
    "sip_complete.py": (SIP_STREAMING_PAGE, 5),
}
_CODE_BLOCK = re.compile(r"```(?:py|python)\n(.*?)```", re.S)


def documented_block(page: str, index: int) -> str:
    """The ``index``-th Python code block of a documentation page."""
    return _CODE_BLOCK.findall((SEEDS / page).read_text(encoding="utf-8"))[index]


def snippet_script(name: str, cwd: Path, prelude: str = "", postlude: str = "") -> Path:
    """Write a documented snippet, unchanged, as a script in ``cwd``.

    Some snippets are fragments on their page (they use a ``connection_object`` made by an
    earlier snippet, or leave out ``import symbl``): ``prelude`` supplies what the page
    establishes before them, and ``postlude`` what the page does with them afterwards. The
    snippet's own lines run exactly as published.
    """
    script = cwd / name
    text = (DOCS / name).read_text(encoding="utf-8")
    script.write_text(prelude + text + postlude, encoding="utf-8")
    return script


def run_snippet(
    name: str,
    cwd: Path,
    env: dict[str, str],
    timeout: float = 60,
    prelude: str = "",
    postlude: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run a documented snippet as a script and wait for it to end."""
    script = snippet_script(name, cwd, prelude, postlude)
    return subprocess.run(
        [PYTHON, str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
