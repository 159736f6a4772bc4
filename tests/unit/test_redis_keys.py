"""Every Redis key is written down once, in bot/redis_keys.py, with what it holds and who writes it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot import redis_keys

ROOT = Path(__file__).parents[2]
KEY_TEXT = re.compile(r"flowbot:[a-z]")


def _module_constants(tree: ast.Module) -> list[tuple[str, ast.stmt | None]]:
    """Each upper-case module constant and the statement after it (its docstring, if any)."""
    body = tree.body
    return [
        (node.targets[0].id, body[i + 1] if i + 1 < len(body) else None)
        for i, node in enumerate(body)
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id.isupper()
    ]


def test_every_key_and_ttl_says_what_it_is() -> None:
    tree = ast.parse(Path(redis_keys.__file__).read_text())
    constants = _module_constants(tree)
    assert len(constants) >= 17
    for name, after in constants:
        documented = isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
        assert documented and isinstance(after.value.value, str), f"{name} has no docstring"


def test_no_two_keys_share_a_pattern() -> None:
    patterns = [v for k, v in vars(redis_keys).items() if k.endswith("_KEY")]
    assert len(patterns) == len(set(patterns))
    assert all(KEY_TEXT.match(p) for p in patterns)


def test_no_module_writes_a_key_of_its_own() -> None:
    """A `flowbot:…` string anywhere else is a key defined twice, or a new key nobody wrote down."""
    found = []
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]):
        where = path.relative_to(ROOT).as_posix()
        if where == "bot/redis_keys.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY_TEXT.match(node.value):
                found.append(f"{where}:{node.lineno}: {node.value}")
    assert not found
