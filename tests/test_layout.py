"""The project's layout rules: core/ never imports discord; the top level is what the README says."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_imports_no_discord():
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "discord"]
    assert offenders == []


def test_top_level_layout():
    for name in (
        "bot.py",
        "cogs",
        "core",
        "models",
        "tests",
        ".env.example",
        "README.md",
        "pyproject.toml",
        "requirements.txt",
        "requirements-dev.txt",
        ".ci/run",
        "Makefile",
    ):
        assert (ROOT / name).exists(), name
