"""Benchmark flowaudit on a large synthetic tenant and print the figures of issue 6.

    .venv/bin/python benchmarks/run.py                      # 40k guests, 600k sign-ins, 20 flows, 200 policies
    .venv/bin/python benchmarks/run.py --sign-ins 60000 --reps 2 --no-scale   # a quick look

Builds the tenant once into a temp dir, then runs, alternating, ``--reps`` repetitions of:
(a) the floor: a bare Python pass that decompresses and ``json.loads`` every line of every data file;
(a') the same floor with the decoder the snapshot reader uses (msgspec), so the ratio stays honest;
(b) ``flowaudit audit --format json``; (c) ``--format json,html``; (d) ``--format pdf``;
(e) ``flowaudit --help`` against ``python -c "import click, pydantic, jinja2"``.
Each run is a fresh child process; its peak RSS comes from ``os.wait4``'s rusage for that child.
Then (unless ``--no-scale``) peak RSS of (b) at 300k, 600k and 1.2M sign-ins (same guests).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_tenant import TenantSize, make_tenant  # noqa: E402

FLOOR = r"""
import gzip, json, sys
from pathlib import Path
root = Path(sys.argv[1])
manifest = json.loads((root / "manifest.json").read_text())
loads = json.loads
if sys.argv[2:] == ["msgspec"]:  # the decoder the snapshot reader uses
    import msgspec
    loads = msgspec.json.Decoder().decode
n = 0
for entry in manifest["sources"].values():
    if entry.get("file"):
        path = root / entry["file"]
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as handle:
            for line in handle:
                loads(line)
                n += 1
print(n)
"""


@dataclass
class Run:
    seconds: float  # wall clock
    cpu_seconds: float  # user + system of the child: robust when other work shares the machine
    max_rss_kib: int
    code: int


@dataclass
class Case:
    name: str
    argv: list[str]
    runs: list[Run] = field(default_factory=list)
    skipped: str | None = None
    env: dict[str, str] | None = None

    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    def median_cpu(self) -> float:
        return statistics.median(r.cpu_seconds for r in self.runs)

    def peak_rss_mib(self) -> float:
        return max(r.max_rss_kib for r in self.runs) / 1024


def run_child(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run one fresh child; wall time and that child's own peak RSS (KiB on Linux) via wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **env} if env else None)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"benchmark child failed ({proc.returncode}): {' '.join(argv)}\n{stderr[-2000:]}")
    return Run(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode)


def tenant_at(path: Path, size: TenantSize) -> Path:
    """Generate the tenant, or reuse one a previous run left in --workdir with the same sizes."""
    manifest = path / "manifest.json"
    if manifest.is_file():
        sources = json.loads(manifest.read_text(encoding="utf-8"))["sources"]
        if sources["signIns"]["count"] == size.sign_ins and \
                sources["selfServiceSignUpUsers"]["count"] == size.guests:
            print(f"reusing {path}", flush=True)
            return path
    return make_tenant(path, size)


def format_available(name: str) -> str | None:
    """None when the output module exists, else why the case is skipped."""
    module = {"html": "auditor._format.html", "pdf": "auditor._format.pdf"}[name]
    if importlib.util.find_spec(module) is None:
        return f"{module} is not present in this build yet"
    return None


def pdf_pages(path: Path) -> int | None:
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    return len(PdfReader(str(path)).pages)


def machine() -> dict[str, str]:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    return {"cores": str(os.cpu_count()), "memory": mem, "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="flowaudit benchmarks (issue 6)")
    defaults = TenantSize()
    parser.add_argument("--guests", type=int, default=defaults.guests)
    parser.add_argument("--sign-ins", type=int, default=defaults.sign_ins)
    parser.add_argument("--flows", type=int, default=defaults.flows)
    parser.add_argument("--policies", type=int, default=defaults.policies)
    parser.add_argument("--connectors", type=int, default=defaults.connectors)
    parser.add_argument("--attributes", type=int, default=defaults.attributes)
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each case (alternating)")
    parser.add_argument("--no-scale", action="store_true", help="skip the 300k/600k/1.2M memory series")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--workdir", type=Path, help="keep the snapshots here instead of a temp dir")
    parser.add_argument("--before", "--baseline", type=Path,
                        help="a checkout of an earlier flowaudit (e.g. `git archive` of a commit): its audit "
                             "--format json is measured too, alternating with the others (before/after in one run)")
    parser.add_argument("--audit-only", action="store_true", help="only the floors and the json audit(s)")
    args = parser.parse_args(argv)

    flowaudit = shutil.which("flowaudit", path=str(Path(sys.executable).parent)) or shutil.which("flowaudit")
    if not flowaudit:
        raise SystemExit("flowaudit is not installed in this environment")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="flowaudit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    size = TenantSize(guests=args.guests, sign_ins=args.sign_ins, flows=args.flows, connectors=args.connectors,
                      attributes=args.attributes, policies=args.policies)
    figures: dict = {"machine": machine(), "size": size.__dict__}
    print(f"machine: {figures['machine']}", flush=True)

    start = time.perf_counter()
    snapshot = tenant_at(work / "tenant", size)
    figures["generateSeconds"] = round(time.perf_counter() - start, 1)
    figures["snapshotMiB"] = round(sum(p.stat().st_size for p in snapshot.iterdir()) / 2**20, 1)
    print(f"generated {snapshot} in {figures['generateSeconds']} s ({figures['snapshotMiB']} MiB on disk)",
          flush=True)

    out = work / "out"

    def audit_into(folder: Path, program: list[str] = [flowaudit]) -> list[str]:  # noqa: B006 - read only
        return [*program, "audit", "--snapshot", str(snapshot), "--fail-on", "none", "-q", "--reproducible",
                "--output-dir", str(folder)]

    audit = audit_into(out)
    cases = [
        Case("a floor: gunzip + json.loads", [sys.executable, "-c", FLOOR, str(snapshot)]),
        Case("a' floor: gunzip + msgspec decode", [sys.executable, "-c", FLOOR, str(snapshot), "msgspec"]),
        Case("b audit --format json", [*audit, "--format", "json"]),
        Case("c audit --format json,html", [*audit, "--format", "json,html"], skipped=format_available("html")),
        # its own folder: an output set of pdf alone would remove the result.json read below
        Case("d audit --format pdf", [*audit_into(work / "out-pdf"), "--format", "pdf"],
             skipped=format_available("pdf")),
        Case("e flowaudit --help", [flowaudit, "--help"]),
        Case("e python -c 'import click, pydantic, jinja2'",
             [sys.executable, "-c", "import click, pydantic, jinja2"]),
    ]
    if args.audit_only:
        for case in cases[3:]:
            case.skipped = "--audit-only"
    if args.before:
        cases.append(Case(f"b0 audit --format json, before ({args.before})",
                          [*audit_into(work / "out-before", [sys.executable, "-m", "auditor"]), "--format", "json"],
                          env={"PYTHONPATH": str(args.before.resolve())}))
    for rep in range(args.reps):
        for case in cases:
            if case.skipped:
                continue
            case.runs.append(run_child(case.argv, work, case.env))
            last = case.runs[-1]
            print(f"  rep {rep + 1} {case.name}: {last.seconds:.2f} s wall, {last.cpu_seconds:.2f} s cpu, "
                  f"{last.max_rss_kib / 1024:.0f} MiB", flush=True)

    print("\nmedians (fresh child per run):")
    results = {}
    for case in cases:
        if case.skipped:
            print(f"  {case.name:48s} skipped: {case.skipped}")
            results[case.name] = {"skipped": case.skipped}
            continue
        results[case.name] = {"medianSeconds": round(case.median(), 3), "medianCpuSeconds": round(case.median_cpu(), 3),
                              "peakRssMiB": round(case.peak_rss_mib(), 1),
                              "runs": [round(r.seconds, 3) for r in case.runs]}
        print(f"  {case.name:48s} {case.median():8.3f} s wall {case.median_cpu():8.3f} s cpu   "
              f"peak RSS {case.peak_rss_mib():7.1f} MiB")
    figures["cases"] = results
    floor, fast_floor, audit_json = cases[0], cases[1], cases[2]
    figures["auditOverFloor"] = round(audit_json.median() / floor.median(), 2)
    figures["auditOverFloorCpu"] = round(audit_json.median_cpu() / floor.median_cpu(), 2)
    print(f"\n(b)/(a) audit json / json.loads floor = {figures['auditOverFloor']:.2f} wall, "
          f"{figures['auditOverFloorCpu']:.2f} cpu")
    figures["auditOverMsgspecFloor"] = round(audit_json.median() / fast_floor.median(), 2)
    figures["auditOverMsgspecFloorCpu"] = round(audit_json.median_cpu() / fast_floor.median_cpu(), 2)
    print(f"(b)/(a') audit json / msgspec floor (the reader's decoder) = {figures['auditOverMsgspecFloor']:.2f} wall, "
          f"{figures['auditOverMsgspecFloorCpu']:.2f} cpu  (target <= 1.1)")
    if args.before:
        before = cases[-1]
        figures["beforeOverFloor"] = round(before.median() / floor.median(), 2)
        figures["beforeOverFloorCpu"] = round(before.median_cpu() / floor.median_cpu(), 2)
        print(f"(b0)/(a) before: audit json / json.loads floor = {figures['beforeOverFloor']:.2f} wall, "
              f"{figures['beforeOverFloorCpu']:.2f} cpu; after/before = "
              f"{audit_json.median() / before.median():.2f} wall")
    if not cases[5].skipped:
        figures["helpOverImports"] = round(cases[5].median() / cases[6].median(), 2)
        figures["helpOverImportsCpu"] = round(cases[5].median_cpu() / cases[6].median_cpu(), 2)
        print(f"(e) flowaudit --help / bare imports = {figures['helpOverImports']:.2f} wall, "
              f"{figures['helpOverImportsCpu']:.2f} cpu  (target <= 1.5)")
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    figures["findings"] = len(result["findings"])
    figures["resultJsonMiB"] = round((out / "result.json").stat().st_size / 2**20, 2)
    print(f"findings: {figures['findings']}, result.json {figures['resultJsonMiB']} MiB")
    if (out / "report.html").is_file():
        figures["htmlMiB"] = round((out / "report.html").stat().st_size / 2**20, 2)
        print(f"report.html {figures['htmlMiB']} MiB  (target <= 15 MB)")
    if (work / "out-pdf" / "report.pdf").is_file():
        figures["pdfPages"] = pdf_pages(work / "out-pdf" / "report.pdf")
        figures["pdfMiB"] = round((work / "out-pdf" / "report.pdf").stat().st_size / 2**20, 2)
        print(f"report.pdf {figures['pdfPages']} pages, {figures['pdfMiB']} MiB  (target <= 60 pages)")

    if not args.no_scale:
        print("\nmemory against the number of sign-ins (audit --format json, one run each):")
        scale = {}
        for count in (args.sign_ins // 2, args.sign_ins, args.sign_ins * 2):
            path = snapshot if count == args.sign_ins else \
                tenant_at(work / f"tenant-{count}", TenantSize(**{**size.__dict__, "sign_ins": count}))
            run = run_child([*audit[:3], str(path), *audit[4:], "--format", "json"], work)
            scale[count] = {"seconds": round(run.seconds, 2), "cpuSeconds": round(run.cpu_seconds, 2),
                            "peakRssMiB": round(run.max_rss_kib / 1024, 1)}
            print(f"  {count:>9,} sign-ins: {run.seconds:7.2f} s wall, {run.cpu_seconds:7.2f} s cpu, "
                  f"peak RSS {run.max_rss_kib / 1024:7.1f} MiB", flush=True)
        figures["scale"] = scale

    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
