"""symbl.Batch on a Dask cluster of worker processes, against the emulator: one limit for the
whole cluster, and a stopped run submits nothing more.

Each scenario runs in a child Python process (Dask leaves threads behind in the process that
used it); the child prints what it saw as JSON and the test checks it against the emulator."""

from __future__ import annotations

import collections
import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from symbl.emulator import Emulator

from helpers import MEETING, PYTHON, subprocess_env

pytest.importorskip("distributed", reason="the dask extra is not installed")

_CHILD = """
import json, sqlite3, sys
import distributed
import symbl

scenario, journal, count, most = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def batch():
    client = symbl.Client(poll_interval=0.02, max_poll_interval=0.05, retry_backoff=0.01)
    made = symbl.Batch(journal, max_concurrency=most, client=client)
    for number in range(count):
        made.add_text({"name": f"{scenario} {number}", "messages": %r})
    return made

def journal_state():
    with sqlite3.connect(journal) as db:
        rows = db.execute("SELECT label, status, job_id FROM inputs").fetchall()
    return {
        "submitted": sorted(label for label, _, job_id in rows if job_id is not None),
        "statuses": [status for _, status, _ in rows],
    }

if __name__ == "__main__":
    with (
        distributed.LocalCluster(
            n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        if scenario == "stop":
            with batch() as first:
                for result in first.run(dask_client=dask_client):
                    break
            print(json.dumps(journal_state()), flush=True)
            sys.stdin.readline()  # the test looks at the emulator meanwhile
        with batch() as whole, distributed.get_task_stream(client=dask_client) as tasks:
            statuses = [result.status for result in whole.run(dask_client=dask_client)]
        workers = {task["worker"] for task in tasks.data}
        print(json.dumps({"statuses": statuses, "workers": len(workers)}), flush=True)
"""


@contextlib.contextmanager
def _child(
    emu: Emulator, scenario: str, journal: Path, count: int, most: int
) -> Iterator[subprocess.Popen[str]]:
    """The child running ``scenario``; it must end well (it is ended when the test failed)."""
    script = _CHILD % (MEETING["messages"][:3],)
    child = subprocess.Popen(
        [PYTHON, "-c", script, scenario, str(journal), str(count), str(most)],
        env=subprocess_env(emu),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield child
    finally:
        assert child.stdin is not None
        child.stdin.close()  # a child still waiting for the test goes on, and ends
        try:
            child.wait(30)
        finally:
            if child.poll() is None:
                child.kill()
    assert child.returncode == 0


def _answer(child: subprocess.Popen[str]) -> dict[str, Any]:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line, f"the child ended (exit {child.wait(10)}) without its report"
    answer: dict[str, Any] = json.loads(line)
    return answer


def _accepted(emu: Emulator) -> collections.Counter[str]:
    """How many times the emulator accepted (201) a text job of each name."""
    return collections.Counter(
        json.loads(entry.body)["name"]
        for entry in emu.requests("/v1/process/text", "POST")
        if entry.status == 201
    )


@pytest.mark.timeout(60)
def test_a_dask_cluster_of_worker_processes_shares_one_limit(emu: Emulator, tmp_path: Path) -> None:
    emu.configure(max_jobs_in_progress=0, job_processing_seconds=0.1)  # the service: no limit
    with _child(emu, "limit", tmp_path / "archive.db", count=24, most=3) as child:
        report = _answer(child)
    assert report["statuses"] == ["completed"] * 24
    assert emu.jobs_in_progress()[1] <= 3  # the semaphore kept the cluster within the limit
    statuses = {entry.status for entry in emu.requests("/v1/process/text", "POST")}
    assert statuses == {201}  # never refused: the limit was the cluster's own
    assert _accepted(emu) == collections.Counter(f"limit {number}" for number in range(24))
    assert report["workers"] >= 2


@pytest.mark.timeout(60)
def test_a_stopped_dask_run_submits_nothing_more_and_the_next_run_finishes(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.configure(job_processing_seconds=0.3)
    with _child(emu, "stop", tmp_path / "archive.db", count=12, most=2) as child:
        stopped = _answer(child)
        accepted = _accepted(emu)
        # Every submission the service accepted is in the journal with its job id.
        assert sorted(accepted.elements()) == stopped["submitted"]
        assert "submitting" not in stopped["statuses"] and "pending" in stopped["statuses"]
        time.sleep(0.6)  # longer than a job: tasks that were waiting for a lease have it now
        assert _accepted(emu) == accepted
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.flush()
        finished = _answer(child)
    assert finished["statuses"] == ["completed"] * 12
    assert _accepted(emu) == collections.Counter(f"stop {number}" for number in range(12))
