"""The import rules of the layout (DESIGN.md): slices import the kernel, never each other; the
kernel imports no slice; only the composition root (`innotv`) imports everything.

Read from the source with `ast`, so an import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "kernel"
SLICES = ("accounts", "schedule", "chat", "live", "captions", "webhooks", "events")
COMPOSITION_ROOT = "innotv"
OURS = (KERNEL, *SLICES, COMPOSITION_ROOT)


def _all_imports(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    """Every top-level name each module of `package` imports: module path -> names."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(root))] = names
    return found


def _imports(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    """Our top-level packages each module of `package` imports: module path -> names."""
    return {module: names & set(OURS) for module, names in _all_imports(package, root).items()}


def test_the_kernel_imports_no_slice() -> None:
    wrong = {m: n - {KERNEL} for m, n in _imports(KERNEL).items() if n - {KERNEL}}
    assert not wrong, f"the kernel imports slices or the root: {wrong}"


def test_slices_import_the_kernel_and_never_each_other() -> None:
    wrong: dict[str, set[str]] = {}
    for package in SLICES:
        for module, names in _imports(package).items():
            others = names - {KERNEL, package}
            if others:
                wrong[module] = others
    assert not wrong, f"slices import other slices or the root: {wrong}"


def test_every_slice_is_known_here() -> None:
    """A new top-level package must be placed in the rules above (kernel, slice or root)."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "bench"} == set(OURS)


def test_the_deploy_tooling_stays_outside_the_server() -> None:
    """deploy/ (the stack tool) is not a package: it imports none of ours (it runs innotv as a
    process), and no package of ours imports it."""
    assert not (ROOT / "deploy" / "__init__.py").exists()
    tooling = {m: n for m, n in _imports("deploy").items() if n}
    assert not tooling, f"deploy/ imports the server's packages: {tooling}"
    for package in OURS:
        for module, names in _all_imports(package).items():
            assert "deploy" not in names and "stack" not in names, f"{module} imports deploy/"


def test_the_rules_catch_a_slice_importing_another(tmp_path: Path) -> None:
    """The checker itself reports a cross-slice import, also one inside a function."""
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "bad.py").write_text(
        "from kernel.clock import Clock\n\ndef f():\n    import chat.service\n    from innotv import app\n"
    )
    assert _imports("live", tmp_path) == {"live/bad.py": {"kernel", "chat", "innotv"}}
