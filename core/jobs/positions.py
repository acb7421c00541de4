"""Which waiting jobs should be told their new place in line, and when.

Every start or new job moves the whole line, and one edit per waiting message per EDIT_INTERVAL would
cost hundreds of Discord requests a second for a long line. So the front of the line (the places that
matter) is refreshed whenever its place changes, paced only by EDIT_INTERVAL; places further back are
refreshed at most every `back_every` seconds, and the whole back of the line together at most
`back_rate` times a second, so a line of 1000 costs ~18 edits a second, not 300.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Place = tuple[int, int]  # (position, line length)

FRONT = 25  # places refreshed as soon as they change (every place, in most servers' lines)
BACK_EVERY = 30.0  # seconds between refreshes of one message further back
BACK_RATE = 10.0  # refreshes per second for the back of the line as a whole
BACK_BURST = 5.0  # seconds of unused back-of-line budget that may be spent at once


class PositionRefresh:
    """Remembers what each waiting job last showed and picks the ones due for a refresh."""

    def __init__(
        self,
        *,
        front: int = FRONT,
        back_every: float = BACK_EVERY,
        back_rate: float = BACK_RATE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.front = front
        self.back_every = back_every
        self.back_rate = back_rate
        self._monotonic = monotonic
        self._shown: dict[int, tuple[Place, float]] = {}
        self._last_call: float | None = None

    def back_interval(self, line_length: int) -> float:
        """How long a message behind the front waits between refreshes, for a line this long."""
        return max(self.back_every, max(line_length - self.front, 0) / self.back_rate)

    def due(self, positions: dict[int, Place]) -> dict[int, Place]:
        """The jobs whose message should show a new place now (and forget jobs that left the line).

        A job never shown, or at the front, is due as soon as its place changes. Behind the front, a
        changed place waits `back_interval`, and at most `back_rate` per elapsed second go out per call,
        longest-waiting first, so refreshes of a long line are spread out instead of bunched.
        """
        now = self._monotonic()
        elapsed = BACK_BURST if self._last_call is None else min(now - self._last_call, BACK_BURST)
        self._last_call = now
        back_interval = self.back_interval(len(positions))
        due: dict[int, Place] = {}
        behind: list[tuple[float, int, Place]] = []
        for job_id, place in positions.items():
            shown = self._shown.get(job_id)
            if shown is None or (shown[0] != place and place[0] <= self.front):
                due[job_id] = place
            elif shown[0] != place and now - shown[1] >= back_interval:
                behind.append((shown[1], job_id, place))
        behind.sort()
        due.update((job_id, place) for _, job_id, place in behind[: int(self.back_rate * elapsed)])
        for job_id, place in due.items():
            self._shown[job_id] = (place, now)
        for job_id in self._shown.keys() - positions.keys():
            del self._shown[job_id]
        return due
