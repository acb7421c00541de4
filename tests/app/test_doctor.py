"""`doctor` and the catalog's lifecycle, in-process with an injected day: a coming retirement is noted, a
retired model warned about naming its replacement, a retired DEFAULT_MODEL fails, an unconfirmed model is
said to be unconfirmed. (The CLI tests run `python bot.py doctor` itself.)"""

from __future__ import annotations

import datetime as dt
import io
import json
import tomllib

from app.doctor import run_doctor
from core.catalog import DEFAULT_CATALOG_PATH
from core.platform.settings import load_settings

BEFORE = dt.date(2026, 12, 2)
RETIRE_DAY = dt.date(2026, 12, 3)


async def doctor(tmp_path, today: dt.date, **env: str) -> tuple[int, str]:
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite://{tmp_path / 'doctor.sqlite3'}",
            "OUTPUT_DIR": str(tmp_path / "videos"),
            **env,
        },
        env_file=None,
    )
    out = io.StringIO()
    code = await run_doctor(settings, out, today=today)
    return code, out.getvalue()


def demo_catalog(tmp_path, **old_fields) -> str:
    """The shipped demo entry, plus a copy `demo-old` with `old_fields` (e.g. a retire day)."""
    demo = tomllib.loads(DEFAULT_CATALOG_PATH.read_text())["models"]["demo"]
    lines = ["[models.demo]", *(f"{k} = {json.dumps(v)}" for k, v in demo.items()), "", "[models.demo-old]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in demo.items()]
    lines += [f"{k} = {v}" for k, v in old_fields.items()]
    path = tmp_path / "catalog.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


async def test_before_the_retire_day_doctor_notes_the_coming_retirement_and_nothing_else(tmp_path):
    code, out = await doctor(tmp_path, BEFORE)
    assert code == 0, out
    assert (
        "--   model omni-1.1-flash: retires on 2026-12-03 (in 1 day); requests then go to omni-1.2-flash\n"
        in out
    )
    assert "WARN" not in out


async def test_from_the_retire_day_doctor_warns_naming_the_replacement(tmp_path):
    code, out = await doctor(tmp_path, RETIRE_DAY)
    assert code == 0, out  # the default (demo) is still usable
    assert (
        "WARN model omni-1.1-flash: retired on 2026-12-03: hidden from /video and refused as "
        "model_unavailable; use omni-1.2-flash\n" in out
    )
    assert "retires on" not in out


async def test_doctor_says_which_models_are_unconfirmed(tmp_path):
    _, out = await doctor(tmp_path, BEFORE)
    [line] = [x for x in out.splitlines() if "unconfirmed" in x]
    assert line.startswith(
        "--   model veo-3.1-lite: unconfirmed: veo-3.1-lite-generate-001 is listed only in"
    )


async def test_a_default_model_that_will_retire_is_noted_and_still_usable(tmp_path):
    catalog = demo_catalog(tmp_path, retires="2026-12-03", replaced_by='"demo"')
    code, out = await doctor(tmp_path, BEFORE, MODEL_CATALOG=catalog, DEFAULT_MODEL="demo-old")
    assert code == 0, out
    assert (
        "--   default model: DEFAULT_MODEL 'demo-old' retires on 2026-12-03; set DEFAULT_MODEL=demo before then"
        in out
    )
    assert "ok   default model: demo-old (demo)" in out


async def test_a_retired_default_model_fails_and_says_what_to_set(tmp_path):
    catalog = demo_catalog(tmp_path, retires="2026-12-03", replaced_by='"demo"')
    code, out = await doctor(tmp_path, RETIRE_DAY, MODEL_CATALOG=catalog, DEFAULT_MODEL="demo-old")
    assert code == 1
    assert (
        "FAIL default model: DEFAULT_MODEL 'demo-old' was retired on 2026-12-03; set DEFAULT_MODEL=demo\n"
        in out
    )
    assert "WARN model demo-old: retired on 2026-12-03" in out


async def test_a_retirement_without_replacement_says_so(tmp_path):
    catalog = demo_catalog(tmp_path, retires="2026-12-03")
    code, out = await doctor(tmp_path, RETIRE_DAY, MODEL_CATALOG=catalog, DEFAULT_MODEL="demo-old")
    assert code == 1
    assert "set DEFAULT_MODEL to another model" in out
    assert (
        "WARN model demo-old: retired on 2026-12-03: hidden from /video and refused as model_unavailable; "
        "the catalog names no replacement" in out
    )


async def test_a_retired_models_id_missing_from_the_api_list_is_expected_not_a_failure(tmp_path):
    from tests.fakes.gemini_api import DEFAULT_API_KEY, FakeGeminiApi

    async with FakeGeminiApi() as fake:
        fake.models = ["gemini-omni-1.2-flash"]
        env = {"GEMINI_API_KEY": DEFAULT_API_KEY, "GOOGLE_GEMINI_BASE_URL": fake.base_url}
        code, out = await doctor(tmp_path, RETIRE_DAY, **env)
        assert code == 0, out
        assert "ok   provider gemini: API answers and lists gemini-omni-1.2-flash\n" in out
        code, out = await doctor(tmp_path, BEFORE, **env)
        assert "FAIL provider gemini: API answers, but does not list: gemini-omni-1.1-flash\n" in out
