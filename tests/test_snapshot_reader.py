"""Snapshot reader: valid snapshots stream, invalid ones fail with the file, line and problem."""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from graphdata import flow, sign_in, write_snapshot

from auditor.errors import InputError
from auditor.snapshot import open_snapshot


def test_directory_and_zip_read_the_same_records(tmp_path: Path) -> None:
    flows = [flow("B2X_1_a"), flow("B2X_1_b")]
    directory = write_snapshot(tmp_path / "dir", b2xUserFlows=flows, signIns=[sign_in("u1")])
    archive = write_snapshot(tmp_path / "zipped", zip_file=True, b2xUserFlows=flows, signIns=[sign_in("u1")])
    assert archive.suffix == ".zip"
    for path in (directory, archive):
        snap = open_snapshot(path)
        assert [f["id"] for f in snap.iter_records("b2xUserFlows")] == ["B2X_1_a", "B2X_1_b"]
        assert snap.source("signIns").file == "signIns.jsonl.gz"
        assert len(snap.records("signIns")) == 1


def test_zip_with_snapshot_inside_a_folder_is_accepted(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "snap", b2xUserFlows=[flow("B2X_1_a")])
    archive = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for member in snap.iterdir():
            zf.write(member, f"snap/{member.name}")
    assert open_snapshot(archive).first_record("b2xUserFlows")["id"] == "B2X_1_a"


def test_plain_jsonl_and_gzip_are_both_read(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s", signIns=[sign_in("u1"), sign_in("u2")])
    # rewrite sign-ins uncompressed and point the manifest at it
    lines = gzip.decompress((snap / "signIns.jsonl.gz").read_bytes())
    (snap / "signIns.jsonl").write_bytes(lines)
    manifest = json.loads((snap / "manifest.json").read_text())
    manifest["sources"]["signIns"]["file"] = "signIns.jsonl"
    (snap / "manifest.json").write_text(json.dumps(manifest))
    assert [r["userId"] for r in open_snapshot(snap).iter_records("signIns")] == ["u1", "u2"]


def _broken(tmp_path: Path, mutate) -> Path:
    snap = write_snapshot(tmp_path / "s", b2xUserFlows=[flow("B2X_1_a")])
    mutate(snap)
    return snap


def _edit_manifest(change):
    def mutate(snap: Path) -> None:
        data = json.loads((snap / "manifest.json").read_text())
        change(data)
        (snap / "manifest.json").write_text(json.dumps(data))
    return mutate


@pytest.mark.parametrize("mutate, expected", [
    (lambda s: (s / "manifest.json").unlink(), "no manifest.json"),
    (lambda s: (s / "manifest.json").write_text("{not json"), "manifest.json: invalid JSON"),
    (_edit_manifest(lambda d: d.update(format="something-else")), "not a flowaudit snapshot manifest"),
    (_edit_manifest(lambda d: d.update(version=7)), "unsupported snapshot version 7"),
    (_edit_manifest(lambda d: d.pop("collectedAt")), "field 'collectedAt'"),
    (_edit_manifest(lambda d: d["sources"]["b2xUserFlows"].update(status="great")), "unknown status 'great'"),
    (_edit_manifest(lambda d: d["sources"]["b2xUserFlows"].update(file="../../etc/passwd.jsonl")),
     "field 'sources.b2xUserFlows.file': '../../etc/passwd.jsonl' is not this source's data file"),
    (lambda s: (s / "b2xUserFlows.jsonl").unlink(),
     "b2xUserFlows.jsonl: missing from the snapshot (manifest.json names it as the data file of source b2xUserFlows)"),
])
def test_invalid_snapshots_name_the_file_and_problem(tmp_path: Path, mutate, expected: str) -> None:
    snap = _broken(tmp_path, mutate)
    with pytest.raises(InputError, match=expected.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        open_snapshot(snap)


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s", b2xUserFlows=[flow("B2X_1_a"), flow("B2X_1_b")])
    path = snap / "b2xUserFlows.jsonl"
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][:20] + "\n")
    opened = open_snapshot(snap)
    with pytest.raises(InputError, match=r"b2xUserFlows\.jsonl: line 2: invalid JSON"):
        list(opened.iter_records("b2xUserFlows"))


def test_json_line_that_is_not_an_object(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s", b2xUserFlows=[flow("B2X_1_a")])
    (snap / "b2xUserFlows.jsonl").write_text("[1, 2]\n")
    with pytest.raises(InputError, match=r"line 1: expected a JSON object"):
        list(open_snapshot(snap).iter_records("b2xUserFlows"))


def test_corrupt_gzip_names_the_file(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s", signIns=[sign_in("u1")])
    (snap / "signIns.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(InputError, match=r"signIns\.jsonl\.gz"):
        list(open_snapshot(snap).iter_records("signIns"))


def test_zip_that_is_not_a_snapshot(tmp_path: Path) -> None:
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(InputError, match="zip file is not a flowaudit snapshot"):
        open_snapshot(archive)


def test_file_that_is_neither_directory_nor_zip(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(InputError, match="not a snapshot directory or zip file"):
        open_snapshot(path)


def test_writer_leaves_nothing_behind_when_it_fails(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from auditor.snapshot.writer import SnapshotWriter

    def records():
        yield {"id": "1"}
        raise RuntimeError("Graph went away")

    with pytest.raises(RuntimeError), SnapshotWriter(tmp_path / "snap", tenant_id="t",
                                                     collected_at=datetime.now(timezone.utc)) as writer:
        writer.write_source("b2xUserFlows", records())
    assert list(tmp_path.iterdir()) == []


def test_writer_replaces_an_existing_snapshot_atomically(tmp_path: Path) -> None:
    first = write_snapshot(tmp_path / "snap", b2xUserFlows=[flow("B2X_1_old")])
    second = write_snapshot(tmp_path / "snap", b2xUserFlows=[flow("B2X_1_new")])
    assert first == second
    assert open_snapshot(second).first_record("b2xUserFlows")["id"] == "B2X_1_new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap"]
    shutil.rmtree(second)


def test_output_files_respect_the_umask(tmp_path: Path) -> None:
    import os

    from auditor._format.output import RUN_MANIFEST, publish

    old = os.umask(0o027)
    try:
        publish(tmp_path, [("report.html", b"<p>ok</p>")], replace_set=True)
    finally:
        os.umask(old)
    assert (tmp_path / "report.html").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [RUN_MANIFEST, "report.html"]
