"""Print the longest functions of a package: `python scripts/longest_functions.py bot [N]`."""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def lengths(root: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                found.append((size, f"{path}:{node.lineno} {node.name}"))
    return sorted(found, reverse=True)


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "bot")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    for size, where in lengths(root)[:count]:
        print(f"{size:4d}  {where}")
