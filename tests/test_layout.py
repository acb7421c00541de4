"""The project's layout rules: core/ never imports discord; cogs/ never touch the ORM; only
core/jobs/transitions.py writes a job's row; no import cycles; no product module over ~400 lines;
the top level is what the README says."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


PRODUCT = ("bot.py", "app", "cogs", "core", "models")


def product_files() -> list[Path]:
    files = [ROOT / "bot.py"]
    for folder in PRODUCT[1:]:
        files += [p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]
    return files


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: frozenset[str] = frozenset()) -> list[str]:
    """Every module `path` imports, anywhere in it (TYPE_CHECKING blocks included). `from pkg import mod`
    counts as importing `pkg.mod` when that is one of `modules`, else as importing `pkg`."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                names.append(sub if sub in modules else node.module)
    return names


def offenders(folder: str, banned: tuple[str, ...]) -> list[str]:
    found = []
    for path in (ROOT / folder).rglob("*.py"):
        found += [f"{path.relative_to(ROOT)}: {n}" for n in imports(path) if n.split(".")[0] in banned]
    return found


def test_core_imports_no_discord():
    assert offenders("core", ("discord",)) == []


def test_cogs_never_touch_the_orm():
    """Cogs get frozen views from core; they never see a model or a query."""
    assert offenders("cogs", ("models", "tortoise")) == []


def test_only_transitions_writes_a_job_row():
    writes = ("update", "create", "bulk_create", "save", "delete", "bulk_update", "update_or_create")
    found = []
    for path in product_files():
        if path.relative_to(ROOT).as_posix() == "core/jobs/transitions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr in writes and "Generation" in ast.unparse(node.func.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node.func)}")
    assert found == []


def test_no_import_cycles():
    modules = {module_name(p): p for p in product_files()}
    names = frozenset(modules)
    graph = {
        name: {m for m in imports(path, names) if m in modules and m != name}
        for name, path in modules.items()
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_product_module_is_over_400_lines():
    big = [
        f"{p.relative_to(ROOT)}: {n}" for p in product_files() if (n := len(p.read_text().splitlines())) > 400
    ]
    assert big == []


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
