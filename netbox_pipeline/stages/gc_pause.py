"""Python's cyclic garbage collector paused while a stage builds its large, acyclic data.

Merging, reading NetBox and planning allocate hundreds of thousands of small dicts and tuples
that all stay alive until the stage ends. Each time the heap grows by a quarter the collector
walks all of it (Dagster's definitions included), and on a no-op rerun of 1,000 devices that
was half of the planning CPU time. The stages' data holds no reference cycles worth waiting
for (a measured no-op left a few hundred cyclic objects), and reference counting still frees
everything else at once, so the collector is simply held off until the stage is done.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0  # pauses in force, in any thread (NetBox is read in one while the inventory is merged in another)
_resume = False  # whether the collector was on when the first of them began


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic cyclic collection inside; the setting found comes back once the last pause ends.

    Pauses may nest and overlap across threads: the collector stays off until every one has ended,
    errors included, and a collector someone else had turned off stays off.
    """
    global _holders, _resume
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _resume:
                gc.enable()
