"""Lock files: so concurrent test sessions or commands do not install or migrate twice, and so
concurrent instances each hold Redis databases of their own."""

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

log = logging.getLogger("netbox_pipeline.real_netbox")


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process holding %s", path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Pairs of Redis databases (tasks, caching) an instance may hold; Redis has 16 by default, and the
# recorded 4.4 / 4.6 servers used 0-3. The first pair is what every instance used before.
REDIS_PAIRS = ((12, 13), (14, 15), (4, 5), (6, 7), (8, 9), (10, 11))


def claim_redis_pair(lock_dir: Path, pairs: tuple[tuple[int, int], ...] = REDIS_PAIRS) -> tuple[tuple[int, int], IO | None]:
    """A pair no other running instance on this machine holds, and the open lock file that holds it
    until closed (or the process ends). When every pair is held, the first is shared, with a warning."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    for pair in pairs:
        handle = open(lock_dir / f"redis-{pair[0]}-{pair[1]}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return pair, handle
    log.warning("all %d Redis database pairs are held by running NetBox instances; sharing %s", len(pairs), pairs[0])
    return pairs[0], None
