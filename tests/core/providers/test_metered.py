"""The runner sees providers through the metrics as a live view of the services' providers: one added
after the services were assembled (the queue benchmark adds its own) is found and counted too."""

from __future__ import annotations

from core.providers.base import Watchable
from core.providers.metered import MeteredProvider
from tests.core.jobs.conftest import make_services
from tests.fakes.clock import FakeClock
from tests.fakes.scripted_provider import ScriptedProvider


def test_a_provider_added_after_assembly_reaches_the_runner_metered(tmp_path):
    jobs = make_services(tmp_path, FakeClock(), {"gemini": ScriptedProvider(name="gemini")})
    late = ScriptedProvider(name="bench")
    jobs.providers["bench"] = late  # the intake and the runner share this dict
    seen = jobs.runner.providers.get("bench")
    assert isinstance(seen, MeteredProvider) and seen.inner is late
    assert jobs.runner.providers.get("bench") is seen  # one view per provider
    assert isinstance(seen, Watchable) == isinstance(late, Watchable)
    assert sorted(jobs.runner.providers) == ["bench", "gemini"]
    replaced = ScriptedProvider(name="bench")
    jobs.providers["bench"] = replaced
    assert jobs.runner.providers["bench"].inner is replaced
