"""`python bot.py generate` and `doctor` as a user runs them: real processes, real migrations, real mp4s."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from core.media.probe import probe_video
from tests.conftest import catalog_with, create_database, drop_database, fresh_database_url

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_KEYS = (
    "GEMINI_API_KEY",
    "VERTEX_API_KEY",
    "GOOGLE_CLOUD_PROJECT",
    "FAL_KEY",
    "DEFAULT_MODEL",
    "MODEL_CATALOG",
    "DISCORD_TOKEN",
    "DATABASE_URL",
    "OUTPUT_DIR",
)


@pytest.fixture
async def cli_env(tmp_path):
    """Environment for a fresh install: its own database and output folder, no keys, no .env."""
    url = fresh_database_url(tmp_path)
    await create_database(url)
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_KEYS}
    env.update(
        DATABASE_URL=url,
        OUTPUT_DIR=str(tmp_path / "videos"),
        DEMO_LATENCY="0",
        NO_PROXY="127.0.0.1,localhost",
    )
    yield env
    await drop_database(url)


async def run_cli(env: dict, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "bot.py",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode, out.decode(), err.decode()


async def test_generate_demo_writes_the_requested_mp4_and_ids_increase(cli_env):
    args = (
        "generate",
        "a red fox in snow",
        "--model",
        "demo",
        "--duration",
        "4",
        "--aspect-ratio",
        "9:16",
        "--json",
    )
    code, out, err = await run_cli(cli_env, *args)
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "success" and result["error"] is None
    info = probe_video(result["video_path"])
    assert (info.width, info.height) == (720, 1280)
    assert info.duration == pytest.approx(4.0, abs=0.1)
    assert "✅ Video generated successfully!" in out
    assert "[████████████████████] 100% - Complete" in err
    assert "Demo model" in err
    code, out2, _ = await run_cli(cli_env, *args)
    assert code == 0
    assert json.loads(out2.strip().splitlines()[-1])["generation_id"] > result["generation_id"]


async def test_generate_with_bad_input_exits_1_with_a_clear_message_and_no_traceback(cli_env):
    code, out, err = await run_cli(cli_env, "generate", "fox", "--model", "demo", "--duration", "7", "--json")
    assert code == 1
    assert "duration: 7 s is not offered by demo; allowed: 2, 4, 6, 8, 10 s" in out
    assert json.loads(out.strip().splitlines()[-1])["error_type"] == "invalid_request"
    assert "Traceback" not in err


async def test_generate_with_an_unconfigured_model_says_so(cli_env):
    code, out, err = await run_cli(cli_env, "generate", "fox", "--model", "veo-3.1")
    assert code == 1 and "not configured" in out and "Traceback" not in err


async def test_doctor_without_keys_exits_0_and_names_unconfigured_providers(cli_env):
    code, out, err = await run_cli(cli_env, "doctor")
    assert code == 0, out + err
    assert "ok   settings" in out and "ok   database" in out and "ok   output dir" in out
    for name, key in (("gemini", "GEMINI_API_KEY"), ("vertex", "VERTEX_API_KEY"), ("fal", "FAL_KEY")):
        assert f"provider {name}: not configured (set" in out and key in out
    assert "ok   default model: demo" in out


async def test_malformed_setting_fails_at_start_naming_the_key(cli_env):
    code, _, err = await run_cli({**cli_env, "QUOTA_DAILY_VIDEOS": "lots"}, "doctor")
    assert code == 2 and "QUOTA_DAILY_VIDEOS" in err and "Traceback" not in err


async def test_bot_without_token_exits_non_zero_with_one_line(cli_env):
    code, _, err = await run_cli(cli_env)
    assert code != 0
    assert err.strip().splitlines()[0].startswith("error: DISCORD_TOKEN is not set")


@pytest.fixture
async def gemini_env(cli_env):
    from tests.fakes.gemini_api import DEFAULT_API_KEY, FakeGeminiApi

    async with FakeGeminiApi() as fake:
        yield fake, {**cli_env, "GEMINI_API_KEY": DEFAULT_API_KEY, "GOOGLE_GEMINI_BASE_URL": fake.base_url}


@pytest.fixture
def omni_env(gemini_env, tmp_path):
    """The Gemini fake, and a catalog whose Omni entry polls every 0.2 s instead of 5 s."""
    fake, env = gemini_env
    catalog = catalog_with(tmp_path / "catalog.toml", "omni-1.2-flash", poll_interval_s=0.2)
    return fake, {**env, "MODEL_CATALOG": str(catalog), "DEFAULT_MODEL": "omni-1.2-flash"}


async def test_generate_with_omni_downloads_the_fakes_video(omni_env):
    fake, env = omni_env
    code, out, err = await run_cli(
        env, "generate", "a red fox in snow", "--model", "omni-1.2-flash", "--duration", "6", "--json"
    )
    assert code == 0, out + err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["operation_id"] in fake.jobs
    assert probe_video(result["video_path"]).duration > 0
    assert len(fake.creates) == 1 and fake.creates[0].json["response_format"]["duration"] == "6s"
    job = fake.jobs[result["operation_id"]]
    assert job.streams == 1 and job.polls == 0  # learned of the video through the event stream


async def test_generate_with_omni_falls_back_to_polling_when_the_stream_is_unavailable(omni_env):
    fake, env = omni_env
    code, out, err = await run_cli(
        env, "generate", "a fox [fake:stream_unavailable]", "--model", "omni-1.2-flash", "--json"
    )
    assert code == 0, out + err
    job = fake.jobs[json.loads(out.strip().splitlines()[-1])["operation_id"]]
    assert job.polls >= 1 and len(fake.creates) == 1  # the 503 stream, then polls; one create


@pytest.mark.parametrize(
    ("directive", "error_type"),
    [
        ("safety", "safety_blocked"),
        ("failed", "generation_failed"),
        ("rate_limited_on_poll", "provider_quota_exceeded"),
    ],
)
async def test_omni_refusals_map_to_categories_and_refund(omni_env, directive, error_type):
    fake, env = omni_env
    code, out, _ = await run_cli(
        env, "generate", f"a fox [fake:{directive}]", "--model", "omni-1.2-flash", "--json"
    )
    result = json.loads(out.strip().splitlines()[-1])
    assert code == 1 and result["error_type"] == error_type and result["refunded"] is True
    assert "Your quota was refunded." in out
    assert len(fake.creates) == 1


async def test_doctor_with_a_gemini_key_checks_the_api_lists_the_models(gemini_env):
    fake, env = gemini_env
    code, out, _ = await run_cli(env, "doctor")
    assert "ok   provider gemini: API answers and lists gemini-omni-1.2-flash, gemini-omni-1.1-flash" in out
    fake.models = ["gemini-3-flash"]
    code, out, _ = await run_cli(env, "doctor")
    assert code == 1
    assert "FAIL provider gemini: API answers, but does not list: gemini-omni-1.2-flash" in out
    assert "FAIL default model: omni-1.2-flash" in out


async def test_default_model_missing_from_the_catalog_fails_naming_the_key(cli_env):
    code, _, err = await run_cli({**cli_env, "DEFAULT_MODEL": "sora-2"}, "generate", "fox")
    assert code == 2 and "DEFAULT_MODEL" in err and "sora-2" in err and "Traceback" not in err
