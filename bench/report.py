"""The results: a markdown table (timestamped, and latest.md) and a plot of the ratios."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.load import Level
from bench.workloads import Target, Workload

MB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    workload: Workload
    service: Level
    baseline: Level

    @property
    def label(self) -> str:
        return f"{self.workload.name}, {self.workload.variant}"

    @property
    def concurrency(self) -> int:
        return self.service.concurrency

    def rate(self, level: Level) -> float:
        return level.throughput * self.workload.rows_per_request

    @property
    def throughput_ratio(self) -> float:
        base = self.rate(self.baseline)
        return self.rate(self.service) / base if base else math.nan

    @property
    def time_ratio(self) -> float:
        return self.service.percentile(50) / self.baseline.percentile(50)

    @property
    def growth_mb(self) -> float:
        return (self.service.rss_peak - self.service.rss_before) / MB

    @property
    def target(self) -> Target | None:
        target = self.workload.target
        if target is None or (target.at is not None and target.at != self.concurrency):
            return None
        return target

    @property
    def ratio(self) -> float:
        """The ratio the target is about: throughput, or time for latency targets."""
        target = self.target
        return self.time_ratio if target and target.kind == "latency" else self.throughput_ratio

    def met(self) -> bool | None:
        target = self.target
        if target is None:
            return None
        if self.service.errors or self.baseline.errors:
            return False
        if target.kind == "throughput":
            ok = self.throughput_ratio >= target.ratio
        else:
            ok = self.time_ratio <= target.ratio
        if target.under_seconds is not None:
            ok = ok and self.service.percentile(50) < target.under_seconds
        if target.flat_mb is not None:
            ok = ok and self.growth_mb <= target.flat_mb
        return ok


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def _rate(row: Row, level: Level) -> str:
    unit = " rows" if row.workload.rows_per_request > 1 else ""
    return f"{row.rate(level):,.1f}{unit}"


def table(rows: list[Row]) -> str:
    header = (
        "| workload | concurrency | service req/s | baseline req/s | ratio | p50 service / baseline"
        " (ms) | p99 service / baseline (ms) | peak RSS service / baseline (MB) | target | met? |"
    )
    lines = [header, "|" + "---|" * 10]
    for row in rows:
        met = row.met()
        errors = row.service.errors + row.baseline.errors
        verdict = "—" if met is None else ("yes" if met else "**no**")
        if errors:
            verdict += f" ({errors} errors: {row.service.first_error or row.baseline.first_error})"
        target = row.target
        ratio = f"{row.ratio:.2f}" + (" (time)" if target and target.kind == "latency" else "")
        lines.append(
            f"| {row.label} | {row.concurrency} | {_rate(row, row.service)} | "
            f"{_rate(row, row.baseline)} | {ratio} | "
            f"{_ms(row.service.percentile(50))} / {_ms(row.baseline.percentile(50))} | "
            f"{_ms(row.service.percentile(99))} / {_ms(row.baseline.percentile(99))} | "
            f"{row.service.rss_peak / MB:,.0f} (+{row.growth_mb:,.0f}) / "
            f"{row.baseline.rss_peak / MB:,.0f} | "
            f"{target.describe() if target else '—'} | {verdict} |"
        )
    return "\n".join(lines)


def load_table(rows: list[Row]) -> str:
    """CPU: the generator must not be the bottleneck; the servers' share tells who is."""
    lines = [
        "| workload | concurrency | requests service / baseline | server CPU service / baseline"
        " (cores) | generator CPU (cores, max of both) |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.label} | {row.concurrency} | {row.service.requests} / "
            f"{row.baseline.requests} | {row.service.server_cpu:.2f} / "
            f"{row.baseline.server_cpu:.2f} | "
            f"{max(row.service.generator_cpu, row.baseline.generator_cpu):.2f} |"
        )
    return "\n".join(lines)


def statements_table(
    counts: dict[str, tuple[tuple[float, float], tuple[float, float]]],
) -> str:
    """Queries executed + simple statements (BEGIN, COMMIT, the pool's reset on release)."""
    lines = [
        "| workload | service: queries + simple statements | baseline: queries + simple |",
        "|---|---|---|",
    ]
    for label, (service, baseline) in counts.items():
        lines.append(
            f"| {label} | {service[0]:g} + {service[1]:g} | {baseline[0]:g} + {baseline[1]:g} |"
        )
    return "\n".join(lines)


def plot(rows: list[Row], path: Path) -> None:
    """Per row, service/baseline throughput (higher is better) and p50 time (lower is better),
    with each target drawn where it applies."""
    labels = [f"{row.label} (c={row.concurrency})" for row in rows]
    height = max(4.0, 0.32 * len(rows) + 1.5)
    figure, (left, right) = plt.subplots(1, 2, figsize=(15, height), sharey=True)
    positions = list(range(len(rows)))
    for axis, kind, values, title in (
        (left, "throughput", [r.throughput_ratio for r in rows], "throughput, service / baseline"),
        (right, "latency", [r.time_ratio for r in rows], "p50 time, service / baseline"),
    ):
        colors = []
        for row in rows:
            target = row.target
            if target is None or target.kind != kind:
                colors.append("#9aa5b1")
            else:
                colors.append("#2e7d32" if row.met() else "#c62828")
        axis.barh(positions, values, color=colors)
        for position, row in zip(positions, rows, strict=True):
            target = row.target
            if target is not None and target.kind == kind:
                axis.plot([target.ratio] * 2, [position - 0.4, position + 0.4], "k-", lw=2)
        axis.axvline(1.0, color="#555", lw=0.8, ls=":")
        if kind == "latency":  # from "as fast" to "40 times slower": a log scale shows both
            axis.set_xscale("log")
            axis.set_xticks([0.5, 1, 2, 5, 10, 20, 50], ["0.5", "1", "2", "5", "10", "20", "50"])
        axis.set_title(
            title + ("  (higher is better)" if kind == "throughput" else "  (lower is better)")
        )
        axis.grid(axis="x", alpha=0.3)
    left.set_yticks(positions, labels, fontsize=8)
    left.invert_yaxis()
    figure.suptitle("DNC service vs raw baseline (black ticks: targets; green met, red missed)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
