"""Queue-position refreshes: the front of the line at once, the back spread out over time."""

from __future__ import annotations

from core.jobs.positions import PositionRefresh


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def line(ids: list[int]) -> dict[int, tuple[int, int]]:
    return {job: (place, len(ids)) for place, job in enumerate(ids, start=1)}


def test_every_job_is_shown_its_first_place_and_unchanged_places_are_not_resent():
    refresh = PositionRefresh(monotonic=Clock())
    ids = list(range(100, 150))
    assert refresh.due(line(ids)) == line(ids)
    assert refresh.due(line(ids)) == {}


def test_the_front_of_the_line_is_refreshed_as_soon_as_it_moves():
    clock = Clock()
    refresh = PositionRefresh(front=3, back_every=30, monotonic=clock)
    ids = list(range(1, 9))
    refresh.due(line(ids))
    clock.now += 3
    due = refresh.due(line(ids[1:]))  # job 1 started: everyone moves up one place
    assert due == {2: (1, 7), 3: (2, 7), 4: (3, 7)}


def test_the_back_of_the_line_waits_its_interval_then_catches_up():
    clock = Clock()
    refresh = PositionRefresh(front=3, back_every=30, back_rate=10, monotonic=clock)
    ids = list(range(1, 9))
    refresh.due(line(ids))
    for _ in range(9):  # 27 s of moves: only the front follows
        clock.now += 3
        assert set(refresh.due(line(ids[1:]))) <= {2, 3, 4}
    clock.now += 3
    assert set(refresh.due(line(ids[1:]))) == {5, 6, 7, 8}
    assert refresh.due(line(ids[1:])) == {}


def test_a_long_line_is_refreshed_a_few_messages_a_second():
    clock = Clock()
    refresh = PositionRefresh(front=10, back_every=30, back_rate=10, monotonic=clock)
    ids = list(range(1, 1001))
    refresh.due(line(ids))
    assert refresh.back_interval(1000) == 99.0  # 990 messages behind the front at 10 a second
    clock.now += 99
    first = refresh.due(line(ids[1:]))
    assert len([job for job in first if job > 11]) == 50  # a burst of at most 5 s of budget
    sent_at: dict[int, float] = {}
    for _ in range(40):
        clock.now += 3
        due = refresh.due(line(ids[1:]))
        back = [job for job in due if job > 11]
        assert len(back) <= 30, "at most 10 a second behind the front"
        sent_at.update((job, clock.now) for job in back)
    assert len(sent_at) == 989 - 50, "every message behind the front got its new place"
    assert min(sent_at.values()) < max(sent_at.values()) - 60, "spread out, not bunched"


def test_jobs_that_left_the_line_are_forgotten():
    refresh = PositionRefresh(monotonic=Clock())
    refresh.due(line([1, 2, 3]))
    refresh.due(line([3]))
    assert refresh.due(line([1, 3])) == {1: (1, 2), 3: (2, 2)}
