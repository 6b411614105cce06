"""The snapshot fuzzer (tests/snapshot_fuzz.py, where the mutations and the oracle are documented).

``make test`` runs a small seeded sample (seconds); the full run is on demand::

    FLOWAUDIT_FUZZ_CASES=2000 .venv/bin/python -m pytest tests/test_fuzz_snapshots.py -s
    .venv/bin/python tests/snapshot_fuzz.py --cases 2000 --seed 1

A failure lists each case with its sample, mutation and what the oracle saw; ``--case N`` (with the
same ``--seed``) reproduces one.
"""

from __future__ import annotations

import os

import snapshot_fuzz

# In-process cases are ~50 ms; a console-script case ~1 s. The default keeps make test fast.
CASES = int(os.environ.get("FLOWAUDIT_FUZZ_CASES", "120"))
SEED = int(os.environ.get("FLOWAUDIT_FUZZ_SEED", "1"))
CONSOLE_EVERY = int(os.environ.get("FLOWAUDIT_FUZZ_CONSOLE_EVERY", "50" if CASES <= 200 else "25"))


def test_mutated_snapshots_never_crash_and_never_pass_falsely() -> None:
    totals = snapshot_fuzz.run(CASES, SEED, console_every=CONSOLE_EVERY)
    print("\n" + totals.summary())
    assert totals.cases == CASES
    assert totals.console_runs >= 1  # some cases went through the real console script
    assert not totals.failures, totals.summary()


def test_the_same_seed_gives_the_same_mutants(tmp_path) -> None:
    import random

    first = snapshot_fuzz.mutate(random.Random("1:7"), "contoso", tmp_path / "a")
    second = snapshot_fuzz.mutate(random.Random("1:7"), "contoso", tmp_path / "b")
    assert first[1].describe() == second[1].describe()
