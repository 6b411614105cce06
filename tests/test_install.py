"""A non-editable install (built wheel) finds its rules, templates and samples without the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_carries_rules_templates_and_samples_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheel"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheel_dir), str(ROOT)], capture_output=True, text=True, timeout=300)
    if build.returncode != 0:  # no hatchling in this venv: build in isolation (needs the index)
        build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir),
                                str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = next(wheel_dir.glob("flowaudit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("auditor/_data/rules/") and n.endswith(".yaml") for n in names)
    assert any(n.startswith("auditor/_data/samples/") and n.endswith("manifest.json") for n in names)
    assert any(n.startswith("auditor/_data/templates/") for n in names) or not any(
        (ROOT / "reports" / "templates").iterdir())

    # Install the wheel (not editable) into its own target and run it from an unrelated directory,
    # with the dependencies taken from this venv.
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([sys.executable, "-c", "import auditor, auditor.resources as r; "
                            "print(auditor.__file__); print(r.rules_dir()); print(r.samples_dir())"],
                           capture_output=True, text=True, cwd=elsewhere, env=env, timeout=60)
    assert where.returncode == 0, where.stderr
    for line in where.stdout.splitlines():
        assert line.startswith(str(target)), where.stdout
    listing = subprocess.run([sys.executable, "-m", "auditor", "rules", "list"], capture_output=True, text=True,
                             cwd=elsewhere, env=env, timeout=60)
    assert listing.returncode == 0 and "SSU001" in listing.stdout, listing.stderr
    sample = sorted(p.name for p in (target / "auditor" / "_data" / "samples").iterdir()
                    if (p / "manifest.json").exists())[0]
    audited = subprocess.run([sys.executable, "-m", "auditor", "audit", "--sample", sample, "--fail-on", "none",
                              "--output-dir", str(elsewhere / "out")], capture_output=True, text=True,
                             cwd=elsewhere, env=env, timeout=120)
    assert audited.returncode == 0, audited.stderr
    assert (elsewhere / "out" / "result.json").is_file()
