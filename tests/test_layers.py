"""The layers hold: ``lint-imports`` keeps the contracts in pyproject.toml, and catches a break.

The contracts (``[tool.importlinter]``): schemas below connectors | mappings below crm_core below
dags/crm_hub; airflow only in dags; the sample ERPs only from the demo command, and they do not
use the hub; crm_core's rooms in layers of their own. The DAG files in dags/ are modules, not
packages, which import-linter cannot take as roots: their imports are checked here.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")
PACKAGES = ["schemas", "connectors", "mappings", "crm_core", "sample_erps"]
DAG_FILES = sorted((ROOT / "dags").glob("*.py"))


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` on the packages under ``tree`` with ``tree``'s pyproject.toml."""
    path = [str(tree), str(tree / "dags")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("crm_core/pull/probe.py", "import airflow\n", "airflow only in dags BROKEN"),
        ("schemas/probe.py", "from crm_core.ledger import names\n", "above schemas BROKEN"),
        (
            "crm_core/golden/probe.py",
            "from sample_erps import universe\n",
            "the sample ERPs only from the demo command BROKEN",
        ),
        (
            "crm_core/store/probe.py",
            "from crm_core.pull import filecache\n",
            "crm_core's rooms: the entry points above the engines above the store BROKEN",
        ),
    ],
)
def test_an_import_that_breaks_a_layer_is_caught(
    tmp_path: Path, module: str, source: str, broken: str
) -> None:
    """A copy of the packages with one forbidden import added fails, naming the contract."""
    skip = shutil.ignore_patterns("__pycache__")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=skip)
    shutil.copytree(ROOT / "dags" / "crm_hub", tmp_path / "dags" / "crm_hub", ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / module).write_text(source)

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout


def imported_roots(path: Path) -> set[str]:
    """The top-level names of every absolute import in a Python file (lazy ones too)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_dag_files_are_on_top_and_leave_the_sample_erps_alone() -> None:
    assert DAG_FILES, "no DAG file in dags/"
    dag_modules = {path.stem for path in DAG_FILES}
    for path in DAG_FILES:
        assert "sample_erps" not in imported_roots(path), f"{path.name} imports sample_erps"
    product = [ROOT / package for package in PACKAGES] + [ROOT / "dags" / "crm_hub"]
    for path in (file for folder in product for file in folder.rglob("*.py")):
        wrong = imported_roots(path) & dag_modules
        assert not wrong, f"{path.relative_to(ROOT)} imports the DAG file {sorted(wrong)}"
