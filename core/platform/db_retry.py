"""Transient database errors: which ones they are, and retrying a call through them.

A SQLite file locked past its busy timeout, a dropped PostgreSQL connection, a failover or a server that
is restarting are blips, not verdicts on a job: the job engine retries its database calls through them
with backoff and never fails (or refunds) a job because of one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tortoise.exceptions import DBConnectionError, OperationalError, TransactionManagementError

from core.platform.retry import backoff_delay

log = logging.getLogger(__name__)

T = TypeVar("T")

DB_RETRY_FOR = 600.0  # seconds a call keeps retrying before the error is raised after all
DB_RETRY_CAP = 15.0  # longest single wait between tries
_TRANSIENT_TEXT = ("database is locked", "database is busy", "database table is locked", "disk i/o error")


def _asyncpg_transient() -> tuple[type[BaseException], ...]:
    try:
        import asyncpg
    except ImportError:  # SQLite-only installs
        return ()
    exc = asyncpg.exceptions
    return (
        exc.PostgresConnectionError,  # includes "connection does not exist", "cannot connect now"
        exc.InterfaceError,  # "connection is closed", pool released under us
        exc.OperatorInterventionError,  # admin shutdown, crash shutdown, cannot connect now
        exc.TransactionRollbackError,  # serialization failure, deadlock: the whole call may run again
        exc.InsufficientResourcesError,  # too many connections
    )


_ASYNCPG_TRANSIENT = _asyncpg_transient()


def is_transient(exc: BaseException) -> bool:
    """True for database errors that say "try again in a moment" rather than "this is wrong"."""
    if isinstance(exc, DBConnectionError | ConnectionError | TimeoutError):
        return True
    if _ASYNCPG_TRANSIENT and isinstance(exc, _ASYNCPG_TRANSIENT):
        return True
    if isinstance(exc, OperationalError | sqlite3.OperationalError | TransactionManagementError):
        text = str(exc).lower()
        if any(marker in text for marker in _TRANSIENT_TEXT):
            return True
        cause = exc.__cause__ or exc.__context__
        return cause is not None and cause is not exc and is_transient(cause)
    return isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError | PermissionError)


async def retry_db(
    call: Callable[[], Awaitable[T]],
    *,
    what: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] | None = None,
    rand: Callable[[], float] = random.random,
    give_up_after: float = DB_RETRY_FOR,
) -> T:
    """`await call()`, retrying transient database errors with capped backoff for up to `give_up_after` s.

    Any other error is raised at once; a transient one is raised only after `give_up_after` seconds of
    trying (the caller then leaves the job for a later attempt rather than failing it).
    """
    clock = monotonic or asyncio.get_running_loop().time
    began = clock()
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            if not is_transient(exc):
                raise
            attempt += 1
            if clock() - began >= give_up_after:
                raise
            delay = backoff_delay(attempt, base=0.5, cap=DB_RETRY_CAP, rand=rand)
            log.warning("database error in %s (%r); retry %d in %.1fs", what, exc, attempt, delay)
            await sleep(delay)
