"""Runtime fault injection: a share of 5xx answers, dropped connections, added latency.

Decisions come from a seeded random generator, so a test that sends the same requests in the same order
sees the same faults. `after_write=True` applies the write first and then fails the answer, to exercise a
client's no-duplicate-on-retry logic. `latency_s` delays a request before it is handled (a slow NetBox
still writing after the client gave up); `answer_delay_s` applies a write at once and delays only the
answer (the write landed, the client times out and never learns it).
"""

import random
import threading
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class FaultDecision:
    latency_s: float = 0.0
    answer_delay_s: float = 0.0  # after handling a write, before answering it
    error: bool = False  # answer 5xx
    drop: bool = False  # close the socket without answering
    after_write: bool = False  # apply the write, then error/drop

    @property
    def fails(self) -> bool:
        return self.error or self.drop


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def configure(
        self,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        latency_s: float = 0.0,
        path_prefix: str | None = None,
        methods: Iterable[str] | None = None,
        seed: int = 0,
        after_write: bool = False,
        error_status: int = 500,
        answer_delay_s: float = 0.0,
    ) -> "Faults":
        if not (0.0 <= error_rate <= 1.0 and 0.0 <= drop_rate <= 1.0 and error_rate + drop_rate <= 1.0):
            raise ValueError(f"error_rate ({error_rate}) and drop_rate ({drop_rate}) must be in [0, 1] and sum to <= 1")
        with self._lock:
            self.error_rate, self.drop_rate, self.latency_s = error_rate, drop_rate, latency_s
            self.answer_delay_s = answer_delay_s
            self.path_prefix = path_prefix
            self.methods = frozenset(m.upper() for m in methods) if methods else None
            self.after_write = after_write
            self.error_status = error_status
            self._random = random.Random(seed)
            self.injected = 0
        return self

    def clear(self) -> None:
        self.configure()

    @property
    def active(self) -> bool:
        return bool(self.error_rate or self.drop_rate or self.latency_s or self.answer_delay_s)

    def decide(self, method: str, path: str) -> FaultDecision:
        with self._lock:
            if not self.active:
                return FaultDecision()
            if self.path_prefix and not path.startswith(self.path_prefix):
                return FaultDecision()
            if self.methods is not None and method.upper() not in self.methods:
                return FaultDecision()
            roll = self._random.random()
            error = roll < self.error_rate
            drop = not error and roll < self.error_rate + self.drop_rate
            if error or drop:
                self.injected += 1
            write = method.upper() in ("POST", "PUT", "PATCH", "DELETE")
            after = self.after_write and write
            return FaultDecision(self.latency_s, self.answer_delay_s if write else 0.0, error, drop, after and (error or drop))
