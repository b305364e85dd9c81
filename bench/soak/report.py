"""The report: latencies and outcomes per operation, errors by kind, the reconciled figures,
every mismatch, and PASS or FAIL.
"""

from __future__ import annotations

import argparse
import contextlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from bench.mail import SmtpSink
from bench.soak.database import Drain
from bench.soak.faults import FaultLog
from bench.soak.ledger import Ledger
from bench.soak.reconcile import Reconciliation
from bench.soak.transport import Stats

SUCCESS_LABELS = {"AddToDncSuccess", "RemoveFromDncSuccess", "AddManyOk", "ok"}


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def print_report(
    args: argparse.Namespace,
    stats: Stats,
    ledger: Ledger,
    faults: FaultLog,
    sink: SmtpSink,
    out: Reconciliation,
    run_seconds: float,
    drain: Drain,
    log_errors: Counter[str],
) -> bool:
    line = "-" * 100
    print(line)
    print(
        f"DNC soak: {args.clients} clients, {args.minutes:g} min, {args.servers} servers, "
        f"PostgreSQL {urlsplit(args.database_url).path.lstrip('/')}, seed {args.seed}"
    )
    if faults.smtp_refusal:
        begin, end = faults.smtp_refusal
        refusals = ", ".join(f"{n} x {code}" for code, n in sorted(sink.refused.items()))
        print(f"fault: SMTP refused (4xx) from {begin:.1f}s to {end:.1f}s: {refusals or 'none'}")
    for index, down, up in faults.kills:
        print(f"fault: server {index} SIGKILLed at {down:.1f}s, ready again at {up:.1f}s")
    if not args.faults:
        print("faults: off (--no-faults)")
    ops = sorted(stats.latencies)
    total = sum(len(stats.latencies[op]) for op in ops if not op.startswith("final:"))
    print(line)
    print(f"{'operation':34} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}  outcomes")
    for op in ops:
        values = stats.latencies[op]
        outcomes = ", ".join(f"{label} {n}" for label, n in stats.outcomes[op].most_common(4))
        print(
            f"{op:34} {len(values):>9,} {percentile(values, 0.5) * 1000:>8.1f} "
            f"{percentile(values, 0.99) * 1000:>8.1f}  {outcomes}"
        )
    everything = [v for op in ops if not op.startswith("final:") for v in stats.latencies[op]]
    print(
        f"{'all (during the run)':34} {total:>9,} {percentile(everything, 0.5) * 1000:>8.1f} "
        f"{percentile(everything, 0.99) * 1000:>8.1f}  "
        f"{total / run_seconds:.1f} requests/s over {run_seconds:.1f}s"
    )
    print(line)
    kinds = Counter[str]()
    for op, labels in stats.outcomes.items():
        for label, n in labels.items():
            if label not in SUCCESS_LABELS:
                kinds[f"{op.split(':')[0]}: {label}"] += n
    print("errors by kind (expected ones included):")
    for kind, n in kinds.most_common():
        print(f"  {n:>8,}  {kind}")
    for kind, n in stats.transport.most_common():
        print(f"  {n:>8,}  transport {kind}")
    print(line)
    figures = out.figures
    print(
        f"entries: {figures.get('entries', 0):,} ({figures.get('entries_active', 0):,} ACTIVE, "
        f"{figures.get('entries_removed', 0):,} REMOVED); events {figures.get('events', 0):,}; "
        f"numbers that must be on no list: {figures.get('absent_numbers', 0):,}"
    )
    print(
        f"outbox: {figures.get('outbox_rows', 0):,} rows (expected "
        f"{figures.get('outbox_expected', 0):,}), {figures.get('outbox_status')}, "
        f"{figures.get('outbox_retried', 0):,} needed retries (max attempts "
        f"{figures.get('outbox_max_attempts', 0)}); {drain.backlog:,} still unsent when the "
        f"clients stopped, drained {'in' if drain.done else 'NOT within'} {drain.seconds:.1f}s"
        f"{'' if drain.done else f' {drain.counts}'}"
    )
    rows = figures.get("outbox_rows", 0)
    print(
        f"email rates: {rows / run_seconds:.1f}/s written during the run, "
        f"{(rows - drain.backlog) / run_seconds:.1f}/s delivered during the run, "
        f"{drain.backlog / max(drain.seconds, 0.001):.1f}/s while draining"
    )
    print(
        f"SMTP: {figures.get('smtp_received', 0):,} messages received, "
        f"{figures.get('smtp_unique', 0):,} distinct Message-IDs, "
        f"{figures.get('smtp_duplicates', 0):,} duplicates (allowed only after a SIGKILL)"
    )
    lost = sum(n for kind, n in stats.transport.items() if kind.startswith("ambiguous"))
    print(
        f"answers lost in transit: {lost} requests; {figures.get('uncertain_requests', 0)} of "
        f"them could have written (the others could not: a duplicate, a decided race, a refusal); "
        f"the database shows {figures.get('uncertain_written', 0)} entries/removals from them"
    )
    if log_errors:
        print("server log ERROR lines (by message):")
        for message, n in log_errors.most_common(8):
            print(f"  {n:>6}  {message}")
    print(line)
    problems = [f"in-run: {a}" for a in ledger.anomalies] + out.failures
    count = ledger.anomaly_count + figures.get("failure_count", 0)
    if not drain.done:
        problems.append(f"outbox not drained within {args.drain_timeout}s: {drain.counts}")
        count += 1
    for problem in problems[:80]:
        print(f"MISMATCH {problem}")
    if count > len(problems[:80]):
        print(f"... and {count - len(problems[:80])} more")
    print("PASS" if not count else f"FAIL ({count} mismatches)")
    return not count


def server_log_errors(paths: Iterable[Path]) -> Counter[str]:
    counts = Counter[str]()
    pattern = re.compile(r" (ERROR|CRITICAL) \[[^\]]*\] (.*)")
    for path in paths:
        with contextlib.suppress(OSError):
            for line in path.read_text(errors="replace").splitlines():
                match = pattern.search(line)
                if match:
                    counts[re.sub(r"[0-9a-f-]{36}|\d+", "#", match.group(2))[:120]] += 1
    return counts
