"""Python's cyclic garbage collector paused while a stage builds its large, acyclic data.

Merging, reading NetBox and planning allocate hundreds of thousands of small dicts and tuples
that all stay alive until the stage ends. Each time the heap grows by a quarter the collector
walks all of it (Dagster's definitions included), and on a no-op rerun of 1,000 devices that
was half of the planning CPU time. The stages' data holds no reference cycles worth waiting
for (a measured no-op left a few hundred cyclic objects), and reference counting still frees
everything else at once, so the collector is simply held off until the stage is done.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic cyclic collection inside; the previous setting comes back on exit, errors included.

    Nested or overlapping uses are fine: only the one that found the collector on turns it back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
