"""`collect -o PATH` never destroys anything and never crashes on a path it cannot write: each case
runs the installed console script, and checks the exit code, the one line, and what is on disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from collect_support import TOKEN, collect_cli, manifest, run_cli, serve_tenant
from graph_double import GraphDouble
from graphdata import flow, user, write_snapshot

from auditor.snapshot import open_snapshot


@pytest.fixture
def graph() -> Iterator[GraphDouble]:
    with GraphDouble(TOKEN) as server:
        serve_tenant(server, b2xUserFlows=[flow("B2X_1_new")])
        yield server


def _tree(root: Path) -> dict[str, str]:
    """Every file under root with a hash of its content (what must survive a refused run)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def _one_line(process: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    assert process.returncode == code, process.stderr
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, process.stderr
    assert "Traceback" not in process.stderr + process.stdout
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_a_directory_that_is_not_a_snapshot_is_refused_and_kept(graph: GraphDouble, tmp_path: Path) -> None:
    target = tmp_path / "reports"
    (target / "2026").mkdir(parents=True)
    (target / "notes.md").write_text("my notes")
    (target / "2026" / "q1.pdf").write_bytes(b"%PDF-1.7 ...")
    before = _tree(tmp_path)
    _one_line(collect_cli(target, graph), 2, str(target), "not a flowaudit snapshot")
    assert _tree(tmp_path) == before
    assert not graph.requests  # refused before any call to Graph


def test_a_regular_file_is_refused_and_kept(graph: GraphDouble, tmp_path: Path) -> None:
    for name in ("notes.txt", "archive.zip"):
        target = tmp_path / name
        target.write_bytes(b"PK\x03\x04 not really a zip" if name.endswith(".zip") else b"keep me")
        before = _tree(tmp_path)
        _one_line(collect_cli(target, graph), 2, str(target), "not a flowaudit snapshot")
        assert _tree(tmp_path) == before


def test_a_zip_that_is_not_a_snapshot_is_refused(graph: GraphDouble, tmp_path: Path) -> None:
    target = tmp_path / "photos.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("manifest.json", '{"format": "something-else"}')
    before = _tree(tmp_path)
    _one_line(collect_cli(target, graph), 2, "not a flowaudit snapshot")
    assert _tree(tmp_path) == before


def test_a_snapshot_holding_other_files_is_refused(graph: GraphDouble, tmp_path: Path) -> None:
    target = write_snapshot(tmp_path / "snap", b2xUserFlows=[flow("B2X_1_old")])
    (target / "result.json").write_text("{}")  # the user kept a result inside it
    before = _tree(tmp_path)
    _one_line(collect_cli(target, graph), 2, "other files", "result.json")
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("kind", ["directory", "zip"])
def test_an_earlier_snapshot_is_replaced_whole(graph: GraphDouble, tmp_path: Path, kind: str) -> None:
    target = write_snapshot(tmp_path / "snap", zip_file=kind == "zip", b2xUserFlows=[flow("B2X_1_old")],
                            selfServiceSignUpUsers=[user("old-guest")])
    neighbour = tmp_path / "keep.txt"
    neighbour.write_text("unrelated")
    process = collect_cli(target, graph, "--quiet")
    assert process.returncode == 0 and process.stderr == "", process.stderr
    snapshot = open_snapshot(target)
    assert [f["id"] for f in snapshot.records("b2xUserFlows")] == ["B2X_1_new"]
    assert snapshot.records("selfServiceSignUpUsers") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, "keep.txt"])  # no temp left over
    assert neighbour.read_text() == "unrelated"


def test_an_empty_directory_is_used(graph: GraphDouble, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    process = collect_cli(target, graph, "--quiet")
    assert process.returncode == 0, process.stderr
    assert manifest(target)["format"] == "flowaudit-snapshot"


@pytest.mark.parametrize("where", ["parent-is-a-file", "grandparent-is-a-file", "under-proc", "symlink",
                                   "dangling-symlink", "device"])
def test_an_unusable_output_path_exits_2_with_one_line(graph: GraphDouble, tmp_path: Path, where: str) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    target = {"parent-is-a-file": afile / "snap", "grandparent-is-a-file": afile / "a" / "snap",
              "under-proc": Path("/proc/flowaudit-test/snap"), "symlink": tmp_path / "link",
              "dangling-symlink": tmp_path / "dangling", "device": Path("/dev/null")}[where]
    if where == "symlink":
        write_snapshot(tmp_path / "real", b2xUserFlows=[])
        target.symlink_to(tmp_path / "real")
    if where == "dangling-symlink":
        target.symlink_to(tmp_path / "nowhere")
    before = _tree(tmp_path)
    _one_line(collect_cli(target, graph), 2, str(target))
    assert _tree(tmp_path) == before
    assert not graph.requests


def test_live_audit_save_snapshot_under_a_file_exits_2(graph: GraphDouble, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    process = run_cli(["audit", "--graph-url", graph.url, "--auth", "token", "--save-snapshot", str(afile / "snap"),
                       "--output-dir", str(tmp_path / "out"), "--fail-on", "none", "--quiet"],
                      env={"FLOWAUDIT_ACCESS_TOKEN": TOKEN})
    _one_line(process, 2, str(afile))
    assert afile.read_text() == "x"


# -- a file system that is full or read-only (a private mount namespace: nothing outside changes) --

def _namespace_available() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=16k tmpfs /mnt"],
                           capture_output=True, check=False)
    return probe.returncode == 0


needs_namespace = pytest.mark.skipif(not _namespace_available(),
                                     reason="needs root and unshare -m to mount a small tmpfs privately")


def _in_namespace(mount: Path, options: str, command: list[str], before: str = "",
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with a private tmpfs at ``mount``; stdout ends with what the tmpfs holds after."""
    import shlex

    script = (f"mount -t tmpfs -o {options} tmpfs {shlex.quote(str(mount))} || exit 99; {before} "
              f"{shlex.join(command)}; rc=$?; echo '--- left on the file system:'; "
              f"find {shlex.quote(str(mount))} -mindepth 1 | sort; exit $rc")
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          env=env, check=False)


def _collect_command(target: Path, graph: GraphDouble) -> list[str]:
    from collect_support import console_script

    return [*console_script(), "collect", "-o", str(target), "--graph-url", graph.url, "--auth", "token", "--quiet"]


@needs_namespace
def test_no_space_left_keeps_the_earlier_snapshot(graph: GraphDouble, tmp_path: Path) -> None:
    from collect_support import FAULT_ENV

    # A tenant larger than the file system: the users do not fit.
    serve_tenant(graph, selfServiceSignUpUsers=[user(f"{i:08d}-0000-4000-8000-{i:012d}", name="G" * 200)
                                                for i in range(400)])
    earlier = write_snapshot(tmp_path / "earlier", b2xUserFlows=[flow("B2X_1_old")])
    mount = tmp_path / "small"
    mount.mkdir()
    target = mount / "snap"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FLOWAUDIT_")}, **FAULT_ENV,
           "FLOWAUDIT_ACCESS_TOKEN": TOKEN}
    process = _in_namespace(mount, "size=96k", _collect_command(target, graph),
                            before=f"cp -r {earlier} {target} &&", env=env)
    assert process.returncode == 2, process.stdout + process.stderr
    line = _one_line(process, 2, str(target), "no space left")
    assert "snap" in line
    left = process.stdout.split("--- left on the file system:\n", 1)[1].split()
    # only the earlier snapshot, intact: no temporary directory, no half-written file
    assert sorted(Path(p).relative_to(mount).as_posix() for p in left) == sorted(
        ["snap", *(f"snap/{p.name}" for p in earlier.iterdir())])


@needs_namespace
def test_a_read_only_file_system_exits_2(graph: GraphDouble, tmp_path: Path) -> None:
    from collect_support import FAULT_ENV

    mount = tmp_path / "ro"
    mount.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FLOWAUDIT_")}, **FAULT_ENV,
           "FLOWAUDIT_ACCESS_TOKEN": TOKEN}
    process = _in_namespace(mount, "ro,size=16k", _collect_command(mount / "snap", graph), env=env)
    _one_line(process, 2, "read-only")
    assert process.stdout.split("--- left on the file system:\n", 1)[1].strip() == ""
    assert not graph.requests
