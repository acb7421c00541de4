"""Fixtures shared by the provider tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest


class ThreadSpy:
    """Wraps a file opened for writing and notes the thread of each write and close."""

    def __init__(self, file) -> None:
        self.file = file
        self.threads: list[int] = []

    def write(self, data: bytes) -> int:
        self.threads.append(threading.get_ident())
        return self.file.write(data)

    def close(self) -> None:
        self.threads.append(threading.get_ident())
        self.file.close()

    @property
    def on_the_loop(self) -> bool:
        """True when any write or close ran in this (the event loop's) thread."""
        return threading.get_ident() in self.threads


@pytest.fixture
def spy_on_writes(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], list[ThreadSpy]]:
    """`spies = spy_on_writes(path)`: every `path.open("wb")` from then on returns a ThreadSpy in `spies`."""

    def spy(target: Path) -> list[ThreadSpy]:
        spies: list[ThreadSpy] = []
        original = Path.open

        def spying_open(self: Path, mode: str = "r", *args, **kwargs):
            file = original(self, mode, *args, **kwargs)
            if self != target or "w" not in mode:
                return file
            spies.append(ThreadSpy(file))
            return spies[-1]

        monkeypatch.setattr(Path, "open", spying_open)
        return spies

    return spy
