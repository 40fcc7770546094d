"""House rules that a reviewer should not have to check by eye."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import creditline
from creditline.domain import errors
from creditline.entrypoints.api.problems import STATUS_BY_ERROR, catalogue, status_for

SRC = Path(creditline.__file__).parent
DOMAIN = SRC / "domain"
MODULE_LINES_MAX = 400
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_domain_imports_only_the_standard_library_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"creditline", "__future__"}
    paths = list(DOMAIN.rglob("*.py"))
    assert any(path.parent.name == "risk" for path in paths)  # its packages too
    for path in paths:
        foreign = _imports(path) - allowed
        assert not foreign, f"{path.name} imports {foreign}"
        tree = ast.parse(path.read_text())
        inner = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert all(m.startswith("creditline.domain") for m in inner if m.startswith("creditline"))


def test_domain_never_reads_the_clock() -> None:
    for path in DOMAIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
                assert (name, node.func.attr) not in CLOCK_CALLS, f"{path.name}: {name}."


def test_service_layer_does_not_import_frameworks() -> None:
    frameworks = {"sqlalchemy", "fastapi", "typer", "starlette", "psycopg", "uvicorn"}
    for path in (SRC / "service").rglob("*.py"):
        assert not _imports(path) & frameworks, path.name


def test_modules_stay_small() -> None:
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        lines = len(path.read_text().splitlines())
        assert lines <= MODULE_LINES_MAX, f"{path.relative_to(SRC)} has {lines} lines"


def test_every_module_says_what_it_owns() -> None:
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts and path.name != "env.py":
            continue
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path} has no docstring"


def test_every_refusal_has_a_code_and_an_http_status() -> None:
    refusals = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.CreditlineError) and "code" in vars(cls)
    ]
    codes = [cls.code for cls in refusals]
    assert len(codes) == len(set(codes)), "codes must be unique"
    for cls in refusals:
        if cls is errors.CreditlineError:
            continue
        assert status_for(cls) in set(STATUS_BY_ERROR.values())
        assert cls.code in catalogue()
        assert cls.code in (errors.__doc__ or ""), f"{cls.code} missing from the tree drawing"


def test_public_surface_is_pinned() -> None:
    assert creditline.__all__ == ["__version__"]
    assert creditline.__version__ == "0.1.0"


def test_the_velocity_codes_are_what_the_velocity_rules_produce() -> None:
    import re  # noqa: PLC0415

    from creditline.domain.risk.rules import VELOCITY_CODES  # noqa: PLC0415

    source = (DOMAIN / "risk" / "rules.py").read_text()
    rules = source[: source.index("RULES: Mapping")]  # the rules, not the list itself
    produced = set(re.findall(r'"(velocity_[a-z_]+)"', rules))
    assert produced == VELOCITY_CODES
