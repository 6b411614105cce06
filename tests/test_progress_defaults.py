"""Progress of an offline audit and the defaults, through the real console script: on a terminal
(a pseudo-terminal) and in a pipeline (pipes), with -q and -v before or after the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from console_support import on_terminal, run
from graphdata import write_snapshot

from auditor._format.output import RUN_MANIFEST

pytestmark = pytest.mark.usefixtures("clean_flowaudit_env")

PHASES = ("flowaudit audit: reading snapshot contoso (", "flowaudit audit: evaluating ", "flowaudit audit: evaluated ",
          "flowaudit audit: rendering json")


def written(directory: Path) -> list[str]:
    return json.loads((directory / RUN_MANIFEST).read_text(encoding="utf-8"))["files"]


# --- progress --------------------------------------------------------------------------------------

def test_pipeline_gets_one_log_line_per_phase_on_stderr(tmp_path: Path) -> None:
    proc = run("audit", "--sample", "contoso", "--fail-on", "none", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    for phase in PHASES:
        assert sum(1 for line in lines if line.startswith(phase)) == 1, (phase, proc.stderr)
    result = json.loads((tmp_path / "o" / "result.json").read_text(encoding="utf-8"))
    sources = [s for s in result["snapshot"]["sources"].values() if s["file"]]
    assert f"({len(sources)} sources, {sum(s['count'] or 0 for s in sources):,} records)" in proc.stderr
    assert f"evaluating {len(result['rules'])} rules" in proc.stderr
    assert "flowaudit audit:" not in proc.stdout  # progress never reaches stdout


@pytest.mark.parametrize("where", ["after", "before"])
def test_quiet_silences_progress_and_summary_before_or_after_the_command(tmp_path: Path, where: str) -> None:
    args = ["audit", "--sample", "contoso", "-o", str(tmp_path / "o")]
    proc = run(*(["-q", *args] if where == "before" else [*args, "-q"]), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()  # only the line that says why the exit code is 1
    assert line.startswith("flowaudit: ") and "at or above high" in line


@pytest.mark.parametrize("where", ["after", "before"])
def test_verbose_shows_per_rule_timings_before_or_after_the_command(tmp_path: Path, where: str) -> None:
    args = ["audit", "--sample", "clean", "-o", str(tmp_path / "o")]
    proc = run(*(["-v", *args] if where == "before" else [*args, "-v"]), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "o" / "result.json").read_text(encoding="utf-8"))
    timed = [line for line in proc.stderr.splitlines() if line.startswith("flowaudit: INFO: rule ")]
    assert sorted(line.split()[3] for line in timed) == sorted(r["id"] for r in result["rules"])
    assert all(line.endswith(" s") and " took " in line for line in timed)
    quiet = run(*args, cwd=tmp_path)
    assert "took" not in quiet.stderr


def test_terminal_shows_progress_bars_not_log_lines(tmp_path: Path) -> None:
    shown = on_terminal("audit", "--sample", "contoso", "--fail-on", "none", "--format", "json,md",
                        "-o", str(tmp_path / "o"), cwd=tmp_path, stdout=False)
    assert shown.returncode == 0, shown.terminal
    for bar in ("Reading sources", "Evaluating rules", "Rendering"):
        assert bar in shown.terminal, shown.terminal
    assert "records" in shown.terminal
    assert "flowaudit audit:" not in shown.terminal  # the log lines are for pipelines
    assert "\x1b[" in shown.raw  # drawn and erased with terminal controls (transient bars)
    assert shown.piped.splitlines()[-1].startswith("PASS: the gate is off (--fail-on none); ")


# --- defaults ----------------------------------------------------------------------------------

def test_no_format_on_a_terminal_writes_html_and_json_and_prints_the_report_path(tmp_path: Path) -> None:
    shown = on_terminal("audit", "--sample", "clean", "-o", str(tmp_path / "o"), cwd=tmp_path, stderr=False)
    assert shown.returncode == 0, shown.piped
    assert sorted(written(tmp_path / "o")) == ["report.html", "result.json"]
    lines = shown.terminal.splitlines()
    assert lines[-2] == f"Report: {tmp_path / 'o' / 'report.html'}"
    assert lines[-1].startswith("PASS")


def test_no_format_in_a_pipeline_writes_json_alone(tmp_path: Path) -> None:
    proc = run("audit", "--sample", "clean", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert written(tmp_path / "o") == ["result.json"]
    assert "Report:" not in proc.stdout


def test_format_from_the_environment_wins_over_the_terminal_default(tmp_path: Path) -> None:
    shown = on_terminal("audit", "--sample", "clean", "-o", str(tmp_path / "o"), cwd=tmp_path, stderr=False,
                        env={"FLOWAUDIT_FORMAT": "md"})
    assert shown.returncode == 0
    assert written(tmp_path / "o") == ["summary.md"]


def test_help_documents_the_default_formats(tmp_path: Path) -> None:
    proc = run("audit", "--help", cwd=tmp_path)
    flat = " ".join(proc.stdout.split())
    assert "[default: (html,json on a terminal, json otherwise)]" in flat
    assert "{tenant} and {date}" in flat


def test_output_dir_placeholders_use_the_tenant_and_the_snapshot_date(tmp_path: Path) -> None:
    proc = run("audit", "--sample", "clean", "-o", str(tmp_path / "out" / "{tenant}" / "{date}"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result_files = list((tmp_path / "out").rglob("result.json"))
    assert len(result_files) == 1
    result = json.loads(result_files[0].read_text(encoding="utf-8"))
    assert result_files[0].parent == tmp_path / "out" / result["tenantId"] / result["collectedAt"][:10]
    assert f"wrote {result_files[0]}" in proc.stderr


def test_a_hostile_tenant_id_stays_one_folder_inside_the_output_dir(tmp_path: Path) -> None:
    snap = write_snapshot(tmp_path / "s")
    manifest = json.loads((snap / "manifest.json").read_text(encoding="utf-8"))
    manifest["tenantId"] = "../../escaped/..\\x y"
    (snap / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    proc = run("audit", "--snapshot", str(snap), "-o", str(tmp_path / "out" / "{tenant}"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [folder] = [p for p in (tmp_path / "out").iterdir()]
    assert folder.name == "_.._escaped_.._x_y" and (folder / "result.json").is_file()
    assert not (tmp_path / "escaped").exists()


def test_an_unknown_placeholder_is_a_usage_error_before_the_audit(tmp_path: Path) -> None:
    proc = run("audit", "--sample", "clean", "-o", str(tmp_path / "{tenat}"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "unknown placeholder {tenat} (available: {tenant}, {date})" in proc.stderr
    assert not list(tmp_path.iterdir())


def test_report_resolves_the_placeholders_from_the_result(tmp_path: Path) -> None:
    run("audit", "--sample", "clean", "-o", str(tmp_path / "a"), cwd=tmp_path)
    proc = run("report", str(tmp_path / "a" / "result.json"), "--format", "md", "-o", str(tmp_path / "r" / "{date}"),
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r" / "2026-11-01" / "summary.md").is_file()


def test_live_audit_on_a_terminal_draws_the_collector_bars_then_the_audit_bars(tmp_path: Path) -> None:
    # The audit's live display starts on first use, after the collector's has ended: two at once
    # would redraw over each other.
    from collect_support import FAST_ENV, TOKEN, serve_tenant
    from graph_double import GraphDouble
    from graphdata import assignment, flow

    graph = GraphDouble(TOKEN).start()
    try:
        serve_tenant(graph, b2xUserFlows=[flow("B2X_1_a", attributes=[assignment("extension_abc_V",
                                                                                 data_type="boolean")])])
        shown = on_terminal("audit", "--graph-url", graph.url, "--auth", "token", "--format", "json",
                            "-o", str(tmp_path / "o"), "--fail-on", "none", cwd=tmp_path,
                            env={**FAST_ENV, "FLOWAUDIT_ACCESS_TOKEN": TOKEN})
    finally:
        graph.stop()
    assert shown.returncode == 0, shown.terminal
    assert "Traceback" not in shown.terminal and "live display" not in shown.terminal
    assert "b2xUserFlows" in shown.terminal and "Evaluating rules" in shown.terminal
    assert shown.terminal.index("b2xUserFlows") < shown.terminal.index("Reading sources")
    assert shown.terminal.splitlines()[-1].startswith("PASS: the gate is off")
