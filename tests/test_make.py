"""The make targets install what they need and no more, and the README's quick start stays two commands.

`make -n` prints what a target would run on a fresh machine (a venv that does not exist yet)
without running it: the install lines are what a new user's machine would execute.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(target: str, tmp_path: Path) -> list[str]:
    proc = subprocess.run(["make", "-n", target, f"VENV={tmp_path / 'fresh-venv'}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def installs(lines: list[str]) -> list[str]:
    return [line for line in lines if " -m pip install " in line]


def test_demo_installs_the_package_without_the_test_extras(tmp_path: Path) -> None:
    lines = dry_run("demo", tmp_path)
    assert [line.split()[-1] for line in installs(lines)] == ["."]
    assert not any("[test]" in line or "playwright" in line for line in lines)
    assert any("flowaudit audit --sample contoso" in line for line in lines)


@pytest.mark.parametrize("target", ["test", "lint"])
def test_test_and_lint_install_the_test_extras(tmp_path: Path, target: str) -> None:
    assert [line.split()[-1] for line in installs(dry_run(target, tmp_path))] == ["'.[test]'"]


def test_bench_needs_only_the_package(tmp_path: Path) -> None:
    assert [line.split()[-1] for line in installs(dry_run("bench", tmp_path))] == ["."]


def test_readme_quick_start_is_two_commands_and_says_what_each_target_installs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quick, re.DOTALL)
    assert block
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.split("#")[0].strip()]
    assert commands == ["make demo", "make test"]
    targets = readme.split("### Make targets", 1)[1].split("\n## ", 1)[0]
    for target in ("demo", "test", "lint", "bench", "clean"):
        assert f"`make {target}`" in targets
