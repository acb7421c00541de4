"""bot.py helpers that need no Discord: stop signals."""

from __future__ import annotations

import asyncio
import signal

import bot


async def test_stop_signals_reach_the_loop_where_it_has_no_signal_handlers(monkeypatch):
    loop = asyncio.get_running_loop()
    installed = {}

    def no_loop_handlers(sig, callback):
        raise NotImplementedError  # as on Windows

    monkeypatch.setattr(loop, "add_signal_handler", no_loop_handlers)
    monkeypatch.setattr(signal, "signal", lambda sig, handler: installed.setdefault(sig, handler))
    stopped = asyncio.Event()
    bot.on_stop_signals(stopped.set)
    assert set(installed) == {signal.SIGINT, signal.SIGTERM}
    installed[signal.SIGTERM](signal.SIGTERM, None)
    await asyncio.wait_for(stopped.wait(), 1)
