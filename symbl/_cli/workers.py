"""Several sources at once, on daemon threads: Ctrl+C ends the command at once.

``concurrent.futures`` would do the same work, but Python waits for its threads before it
exits, so an interrupted command would hang until every upload and job in progress had ended.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import Callable, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_concurrently(
    function: Callable[[Item], Result], items: Sequence[Item], workers: int
) -> list[Result]:
    """``[function(item) for item in items]``, computed ``workers`` at a time.

    Waiting for the results can be interrupted (``KeyboardInterrupt``); the work in progress is
    then abandoned, and does not keep the program alive.

    Raises:
        Exception: what ``function`` raised for the first item (in order) it failed on, once
            every item has been tried.
    """
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(items)):
        todo.put(index)
    results: dict[int, Result] = {}
    failures: dict[int, Exception] = {}
    finished: queue.SimpleQueue[int] = queue.SimpleQueue()

    def work() -> None:
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results[index] = function(items[index])
            except Exception as exc:  # raised to the caller below
                failures[index] = exc
            finished.put(index)

    for _ in range(min(workers, len(items))):
        threading.Thread(target=work, name="symbl-cli-worker", daemon=True).start()
    for _ in items:
        finished.get()
    if failures:
        raise failures[min(failures)]
    return [results[index] for index in range(len(items))]
