"""The coalescing updater: latest state wins, one send per interval, no repeats, never blocks."""

from __future__ import annotations

import asyncio

from core.platform.throttle import CoalescingUpdater, StopUpdates
from tests.fakes.clock import FakeClock


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_first_state_goes_out_at_once_then_at_most_one_per_interval():
    clock = FakeClock()
    sent = []

    async def send(state):
        sent.append((clock.monotonic(), state))

    up = CoalescingUpdater(send, 3.0, monotonic=clock.monotonic, sleep=clock.sleep)
    up.push(1)
    await settle()
    for state in (2, 3, 4):
        up.push(state)
    await settle()
    await up.close()
    assert [s for _, s in sent] == [1, 4]  # 2 and 3 were coalesced away
    assert sent[1][0] - sent[0][0] >= 3.0


async def test_unchanged_state_is_not_sent_again():
    sent = []

    async def send(state):
        sent.append(state)

    up = CoalescingUpdater(send, 0)
    for state in ("a", "a", "a"):
        up.push(state)
        await settle()
    await up.close()
    assert sent == ["a"]


async def test_push_never_waits_for_a_slow_send():
    gate = asyncio.Event()

    async def slow(state):
        await gate.wait()

    up = CoalescingUpdater(slow, 0)
    up.push(1)
    up.push(2)  # returns at once although the first send is stuck
    await up.close()
    gate.set()


async def test_a_failing_send_is_logged_and_later_states_still_go_out(caplog):
    sent = []

    async def flaky(state):
        if state == 1:
            raise RuntimeError("429 storm")
        sent.append(state)

    up = CoalescingUpdater(flaky, 0)
    up.push(1)
    await settle()
    up.push(2)
    await settle()
    await up.close()
    assert sent == [2] and "progress update failed" in caplog.text


async def test_stop_updates_ends_sending_for_good():
    calls = []

    async def gone(state):
        calls.append(state)
        raise StopUpdates

    up = CoalescingUpdater(gone, 0)
    up.push(1)
    await settle()
    up.push(2)
    await settle()
    assert calls == [1] and up.stopped
    await up.close()
