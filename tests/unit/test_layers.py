"""The layers keep to their rules, read from every module's imports (parsed, never imported).

* ``services/`` never imports an SDK: Globus goes through ``globus/``, S3 and STS through ``s3/``.
* ``core/`` is pure: it imports the standard library and ``core/``, nothing else.
* ``sandbox/`` (the demo and the stand-ins) never imports ``cli/``.
* No two classes of the application (the stand-ins aside) share a name.

Every import counts, wherever it stands: at the top, inside a function, or under
``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "aws_copy_pt"
SDKS = frozenset({"globus_sdk", "botocore", "boto3"})


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. aws_copy_pt.services.cycle
    line: int
    target: str  # what it imports, absolute, e.g. aws_copy_pt.core.states

    def __str__(self) -> str:
        return f"{self.module} (line {self.line}) imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(source: str, module: str, *, is_package: bool = False) -> list[Import]:
    """Every import in ``source`` (the text of ``module``), made absolute; ``from a import b``
    counts as importing ``a.b``, whether ``b`` is a module or a name in ``a``."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            found += [Import(module, node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def imports_of(path: Path) -> list[Import]:
    return imports_in(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def imports_under(folder: str) -> list[Import]:
    return [
        found for path in sorted((PACKAGE / folder).rglob("*.py")) for found in imports_of(path)
    ]


def top(target: str) -> str:
    return target.split(".")[0]


def test_services_import_no_sdk_only_our_adapters() -> None:
    offending = [str(i) for i in imports_under("services") if top(i.target) in SDKS]
    assert offending == [], "services/ must reach Globus and S3 through globus/ and s3/"


def test_core_imports_only_the_standard_library_and_core() -> None:
    def allowed(target: str) -> bool:
        return (
            target == "__future__"
            or top(target) in sys.stdlib_module_names
            or target == "aws_copy_pt.core"
            or target.startswith("aws_copy_pt.core.")
        )

    offending = [str(i) for i in imports_under("core") if not allowed(i.target)]
    assert offending == [], "core/ is pure logic: no I/O libraries, nothing of ours outside core/"


def test_the_sandbox_never_imports_the_cli() -> None:
    offending = [
        str(i)
        for i in imports_under("sandbox")
        if i.target == "aws_copy_pt.cli" or i.target.startswith("aws_copy_pt.cli.")
    ]
    assert offending == [], "the demo and the stand-ins must work without the command line"


def test_no_two_classes_of_the_application_share_a_name() -> None:
    # The stand-ins under sandbox/ imitate outside services (Globus, S3 Control) in those
    # services' own words, each a world of its own: they are not held to this rule.
    where: dict[str, list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        if (PACKAGE / "sandbox") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(module_name(path))
    shared = {name: modules for name, modules in where.items() if len(modules) > 1}
    assert shared == {}


def test_the_import_reader_sees_every_kind_of_import() -> None:
    # The rules above are only as good as this reader: it must see imports inside functions,
    # under TYPE_CHECKING, relative ones, and modules imported by name from their package.
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import botocore.client\n"
        "def f() -> None:\n"
        "    from globus_sdk import TransferClient\n"
        "from .copy import plan\n"
        "from .. import cli\n"
    )

    targets = {i.target for i in imports_in(source, "aws_copy_pt.services.probe")}

    assert targets == {
        "typing.TYPE_CHECKING",
        "botocore.client",
        "globus_sdk.TransferClient",
        "aws_copy_pt.services.copy.plan",
        "aws_copy_pt.cli",
    }
