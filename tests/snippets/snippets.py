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

#: copy file -> (seed page, index of the ```py block on that page)
SOURCES = {
    "reference_conversation_object.py": (REFERENCE_PAGE, 0),
    "reference_conversations_class.py": (REFERENCE_PAGE, 1),
}
_CODE_BLOCK = re.compile(r"```(?:py|python)\n(.*?)```", re.S)


def documented_block(page: str, index: int) -> str:
    """The ``index``-th Python code block of a documentation page."""
    return _CODE_BLOCK.findall((SEEDS / page).read_text(encoding="utf-8"))[index]


def run_snippet(
    name: str, cwd: Path, env: dict[str, str], timeout: float = 60, prelude: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run a documented snippet as a script, unchanged (``prelude`` only adds lines before it
    for snippets that the page shows without their imports)."""
    script = cwd / name
    script.write_text(prelude + (DOCS / name).read_text(encoding="utf-8"), encoding="utf-8")
    return subprocess.run(
        [PYTHON, str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
