"""The container files, read as data: this machine runs no container engine (see the README's "Running in
containers"), so what can be checked here is that compose.yaml names the right services, commands and only
documented settings, and that the image installs with the same script as `make` and CI."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
DOCUMENTED = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped) as (KEYWORD, rest)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_compose_has_the_database_one_command_bot_and_scalable_workers():
    services = COMPOSE["services"]
    assert {"db", "bot", "worker"} <= services.keys()
    bot, worker = services["bot"], services["worker"]
    assert bot["command"] == ["python", "bot.py"] and str(bot["environment"]["WORKERS"]) == "0"
    assert worker["command"] == ["python", "bot.py", "worker"] and "WORKERS" not in worker["environment"]
    # `--scale worker=3` needs no fixed name and no host port per worker
    assert "container_name" not in worker and "ports" not in worker
    for app in (bot, worker):
        assert app["env_file"] == ".env" and app["depends_on"]["db"]["condition"] == "service_healthy"
        assert (
            app["environment"]["DATABASE_URL"].startswith("postgres://")
            and "@db:5432/" in app["environment"]["DATABASE_URL"]
        )
        assert app["environment"]["HTTP_HOST"] == "0.0.0.0"
        assert any(
            v.endswith(":" + app["environment"]["OUTPUT_DIR"]) for v in app["volumes"]
        )  # one shared folder
    assert "healthcheck" in services["db"]


def test_minio_is_optional_behind_a_profile():
    assert COMPOSE["services"]["minio"]["profiles"] == ["minio"]


def test_every_setting_compose_uses_is_documented_in_env_example():
    text = (ROOT / "compose.yaml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    assert interpolated, "compose.yaml takes its values from .env"
    assert interpolated - DOCUMENTED == set()
    # what the bot and the workers are given is a setting of theirs (the database's and MinIO's own
    # variables are filled from ${...} above)
    given = {key for name in ("bot", "worker") for key in COMPOSE["services"][name]["environment"]}
    assert given - DOCUMENTED == set()


def test_the_image_installs_with_the_script_make_and_ci_use():
    runs = [rest for keyword, rest in instructions() if keyword == "RUN"]
    assert any("scripts/install.sh /opt/venv requirements.txt" in run for run in runs)
    makefile = (ROOT / "Makefile").read_text()
    assert "sh scripts/install.sh $(VENV) requirements.txt" in makefile
    assert "sh scripts/install.sh $(VENV) requirements-dev.txt" in makefile
    assert re.search(r"^make test$", (ROOT / ".ci/run").read_text(), re.M)  # CI installs through make
    assert not any("pip install" in run for run in runs)  # no second install path in the image


def test_the_image_runs_as_a_non_root_user_with_a_readyz_healthcheck():
    steps = instructions()
    keywords = [keyword for keyword, _ in steps]
    users = [rest for keyword, rest in steps if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert keywords.index("USER") > max(
        i for i, (k, r) in enumerate(steps) if k == "RUN"
    )  # nothing runs as root after
    (healthcheck,) = [rest for keyword, rest in steps if keyword == "HEALTHCHECK"]
    assert "/readyz" in healthcheck and "HTTP_PORT" in healthcheck
    env = " ".join(rest for keyword, rest in steps if keyword == "ENV")
    assert "HTTP_HOST=0.0.0.0" in env and re.search(r"HTTP_PORT=\d+", env)


def test_the_image_has_the_demo_fonts_the_project_python_and_no_system_ffmpeg():
    (base,) = [rest for keyword, rest in instructions() if keyword == "FROM"]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert base.startswith("python:3.11-slim") and requires == ">=3.11"
    demo_fonts = (ROOT / "core/media/demo_render.py").read_text()
    assert "DejaVuSans-Bold.ttf" in demo_fonts and "fonts-dejavu-core" in DOCKERFILE
    assert "ffmpeg" not in " ".join(rest for keyword, rest in instructions() if keyword == "RUN")


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv", "data"} <= set(ignored)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell script")
def test_the_install_script_creates_a_venv_and_installs_a_requirements_file(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing: the script's steps, not PyPI, are under test\n")
    venv = tmp_path / "venv"
    for _ in range(2):  # the second run finds the environment and only installs
        subprocess.run(
            ["sh", str(ROOT / "scripts/install.sh"), str(venv), str(requirements)],
            check=True,
            env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable},
            timeout=120,
        )
    assert (venv / "bin/python").is_file()
    wrong = subprocess.run(["sh", str(ROOT / "scripts/install.sh")], capture_output=True, text=True)
    assert wrong.returncode == 2 and "usage" in wrong.stderr
