"""The house's boundaries, read from the code's imports.

The simulator stays a development tool: it never imports the bot, its modules import each other
without a cycle, and the bot imports it only lazily (inside functions or for type checks). The
bot's own modules import each other without a cycle when they load, and its pure packages
(`policy`, `affiliations`) import no I/O.

`python tests/test_import_boundaries.py` prints both import graphs.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIMULATOR = ROOT / "githubsim" / "githubsim"


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
        return [node.module]
    return []


def _module_name(path: Path, package_root: Path) -> str:
    parts = path.relative_to(package_root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def simulator_import_graph() -> dict[str, set[str]]:
    """Every simulator module -> the simulator modules it imports, wherever the import stands."""
    graph: dict[str, set[str]] = {}
    for path in sorted(SIMULATOR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = {name for node in ast.walk(tree) for name in _imported(node)}
        graph[_module_name(path, SIMULATOR)] = {
            name for name in targets if name.split(".")[0] == "githubsim"
        }
    return graph


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in {
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    }


def _run_on_load(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes that execute when a module loads: not function bodies, not type-check blocks."""
    yield node
    for child in ast.iter_child_nodes(node):
        lazy = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        if not lazy and not _is_type_checking_block(child):
            yield from _run_on_load(child)


def bot_module_level_imports_of_the_simulator() -> list[str]:
    """`file: import` for each import of githubsim that runs when a bot module is loaded."""
    found = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _run_on_load(tree):
            found += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in _imported(node)
                if name.split(".")[0] == "githubsim"
            ]
    return found


def bot_import_graph() -> dict[str, set[str]]:
    """Every bot module -> the bot modules it imports when it loads (not lazily)."""
    graph: dict[str, set[str]] = {}
    package = ROOT / "bot"
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = {name for node in _run_on_load(tree) for name in _imported(node)}
        name = _module_name(path, package)
        # `from bot.handlers import checks` in the package itself names a submodule, not a loop.
        graph[name] = {n for n in targets if n.split(".")[0] == "bot" and n != name}
    return graph


PURE = ("bot.policy", "bot.affiliations")
IO_MODULES = {"aiohttp", "gidgethub", "redis", "asyncio", "time", "socket", "urllib", "requests"}


def test_the_bot_modules_import_each_other_without_a_cycle() -> None:
    list(graphlib.TopologicalSorter(bot_import_graph()).static_order())  # raises CycleError


def test_the_pure_packages_import_no_io_and_nothing_outside_the_pure_core() -> None:
    for path in sorted((ROOT / "bot").rglob("*.py")):
        module = _module_name(path, ROOT / "bot")
        if not module.startswith(PURE):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {name for node in ast.walk(tree) for name in _imported(node)}
        assert not {n for n in names if n.split(".")[0] in IO_MODULES}, module
        bot_names = {n for n in names if n.split(".")[0] == "bot"}
        allowed = (*PURE, "bot.intents")
        assert all(n.startswith(allowed) for n in bot_names), (module, bot_names)
        calls = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        clocks = {c for c in calls if c.endswith((".now", ".today", ".utcnow")) or c == "time"}
        assert not clocks, f"{module} reads the clock ({clocks}): time is passed in"


def test_the_simulator_modules_import_each_other_without_a_cycle() -> None:
    graph = simulator_import_graph()
    assert {"githubsim.simulator", "githubsim.rest", "githubsim.graphql_api"} <= set(graph)
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError
    assert order.index("githubsim.rest") < order.index("githubsim.simulator")
    assert order.index("githubsim.graphql_api") < order.index("githubsim.simulator")


def test_the_simulator_imports_nothing_of_the_bot() -> None:
    for path in SIMULATOR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {name for node in ast.walk(tree) for name in _imported(node)}
        assert not {name for name in names if name.split(".")[0] == "bot"}, path


def test_the_bot_imports_the_simulator_only_lazily() -> None:
    assert bot_module_level_imports_of_the_simulator() == []


def test_the_bot_loads_and_refuses_the_demo_without_the_simulator() -> None:
    """A fresh interpreter where `import githubsim` fails, as in the wheel and the image."""
    script = (
        "import sys; sys.modules['githubsim'] = None\n"
        "import pkgutil, importlib, bot\n"
        "for module in pkgutil.walk_packages(bot.__path__, 'bot.'):\n"
        "    importlib.import_module(module.name)\n"
        "from bot.cli import main\n"
        "sys.exit(main(['demo']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "coi-bot demo needs the GitHub simulator, which comes with the development environment: "
        "in a clone of the repository run `uv run --frozen coi-bot demo`"
    ]


if __name__ == "__main__":
    for graph in (bot_import_graph(), simulator_import_graph()):
        for module, imports in sorted(graph.items()):
            print(f"{module} -> {', '.join(sorted(imports)) or '-'}")
        print()
