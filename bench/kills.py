"""``python -m bench kills``: ``kill -9`` of ``crm-hub sync`` and of ``crm-hub push`` at
random moments (seeded), then a full count of what was lost, duplicated or written twice.

- pull (:mod:`bench.killpull`): a PostgreSQL source of N order lines into a PostgreSQL
  store, T syncs killed, the source changed between kill and rerun in every other trial;
  after each rerun the store is compared with the source. Also: each killed run shows as
  ``interrupted`` in ``crm-hub status --json``, and the rerun resumes from its position.
- push (:mod:`bench.killpush`): M CRM-side changes to the legacy ERP on PostgreSQL, T
  pushes killed, then pushed to completion; a trigger on the target counts the writes.

Every figure is expected to be 0; the last line of ``--json`` holds them.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import killpull, killpush, report

SEED = 16


def pull_table(trials: list[killpull.PullTrial]) -> str:
    """One line per pull trial."""
    head = (
        f"{'trial':>5} {'store':>6} {'killed after':>14} {'shown':>11} {'changed':>14} "
        f"{'rerun':>20} {'resumed':>7} {'rows':>9} {'lost':>5} {'dup':>4} {'stale':>5}"
    )
    lines = ["pull: crm-hub sync killed with SIGKILL", head, "-" * len(head)]
    for t in trials:
        killed = "-" if t.killed_batches is None else f"{t.killed_batches} batches"
        shown = {True: "interrupted", False: "NOT shown", None: "-"}[t.interrupted]
        changed = f"+{t.inserted} ~{t.updated}" if t.updated or t.inserted else "-"
        rerun = f"{t.rerun_mode} {t.rerun_rows:,}"
        resumed = {True: "yes", False: "NO", None: "-"}[t.resumed]
        lines.append(
            f"{t.trial:>5} {'new' if t.fresh_store else 'kept':>6} {killed:>14} {shown:>11} "
            f"{changed:>14} {rerun:>20} {resumed:>7} {t.source_rows:>9,} {t.lost:>5} "
            f"{t.duplicated:>4} {t.stale:>5}"
        )
    return "\n".join(lines)


def push_table(outcome: killpush.PushOutcome) -> str:
    """One line per push trial, then the final count."""
    head = f"{'trial':>5} {'writes before':>14} {'killed at':>10} {'shown':>11}"
    lines = ["push: crm-hub push killed with SIGKILL", head, "-" * len(head)]
    for t in outcome.trials:
        at = "-" if t.writes_at_kill is None else f"{t.writes_at_kill:,}"
        shown = {True: "interrupted", False: "NOT shown", None: "-"}[t.interrupted]
        lines.append(f"{t.trial:>5} {t.writes_before:>14,} {at:>10} {shown:>11}")
    lines.append(
        f"then {outcome.final_pushes} push(es) to the end: {outcome.changes:,} changes, "
        f"{outcome.delivered:,} delivered, {outcome.written_once:,} written once, "
        f"{outcome.written_twice} written twice, {outcome.lost} lost; outbox {outcome.states}"
    )
    return "\n".join(lines)


def figures(pull: list[killpull.PullTrial], push: killpush.PushOutcome) -> dict[str, Any]:
    """The figures of issue 16's closing note (the pull counts summed over the checks
    made after each trial's rerun)."""
    killed = [t for t in pull if t.killed_batches is not None]
    opened = [t for t in killed if t.interrupted is not None]
    resumable = [t for t in pull if t.resumed is not None]
    push_opened = [t for t in push.trials if t.interrupted is not None]
    return {
        "pull_trials": len(pull),
        "pull_killed": len(killed),
        "pull_rows": pull[-1].source_rows if pull else 0,
        "pull_rows_lost": sum(t.lost for t in pull),
        "pull_rows_duplicated": sum(t.duplicated for t in pull),
        "pull_rows_stale": sum(t.stale for t in pull),
        "pull_resumed": sum(bool(t.resumed) for t in resumable),
        "pull_resumable": len(resumable),
        "interrupted_shown": sum(bool(t.interrupted) for t in opened),
        "interrupted_runs": len(opened),
        "push_trials": len(push.trials),
        "push_killed": sum(t.writes_at_kill is not None for t in push.trials),
        "push_changes": push.changes,
        "push_written_twice": push.written_twice,
        "push_lost": push.lost,
        "push_interrupted_shown": sum(bool(t.interrupted) for t in push_opened),
        "push_interrupted_runs": len(push_opened),
    }


def run(
    rows: int, trials: int, changes: int, *, seed: int = SEED, as_json: bool = False
) -> dict[str, Any]:
    """Run the pull and the push kill trials; print and save the results."""
    say = print if not as_json else (lambda *a, **k: print(*a, **k, file=sys.stderr))
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="crmhub-bench-kills-") as tmp:
        work = Path(tmp)
        pull = killpull.run(rows, trials, rng, work, say)
        push = killpush.run(changes, trials, rng, work, say)
    result_figures = figures(pull, push)
    say("")
    say(pull_table(pull))
    say("")
    say(push_table(push))
    result = {
        "benchmark": "kills",
        "machine": report.machine(),
        "seed": seed,
        "figures": result_figures,
        "pull": [asdict(t) for t in pull],
        "push": asdict(push),
    }
    saved = report.save(f"kills-{rows}", result)
    say(f"results: {saved}")
    if as_json:
        print(json.dumps(result_figures))
    return result
