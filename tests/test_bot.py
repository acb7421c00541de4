"""bot.py helpers that need no Discord: stop signals."""

from __future__ import annotations

import asyncio
import signal

import bot
from core.platform.settings import load_settings


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


def test_workers_means_the_same_in_the_bot_and_in_a_worker_process():
    def slots(**env: str) -> int:
        return bot.job_slots(load_settings({"MAX_CONCURRENT_JOBS": "6", **env}, env_file=None))

    assert slots() == 6  # unset: MAX_CONCURRENT_JOBS in every kind of process
    assert slots(WORKERS="2") == 2
    assert slots(WORKERS="0") == 0  # no jobs run in this process


def test_a_worker_process_with_workers_0_refuses_to_start(monkeypatch, caplog, tmp_path):
    env = {"DISCORD_TOKEN": "x", "WORKERS": "0", "DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}"}
    monkeypatch.setattr(bot, "load_settings", lambda: load_settings(env, env_file=None))
    assert bot.run_bot(worker_only=True) == 2
    assert "WORKERS is 0" in caplog.text
