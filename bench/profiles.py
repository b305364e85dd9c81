"""Where the service's CPU goes: py-spy samples it from outside while a workload runs.

py-spy reads the process's stacks from outside, pausing it only for each sample (a few
microseconds, 200 times a second), so a profiled run measures what an unprofiled one does.
Idle stacks (the event loop waiting) are left out: every sample is CPU time. The raw samples
are kept, and summed up three ways: by package, by the service's own functions (inclusive),
and by the functions the CPU was in (self). Time in C (asyncpg's protocol, uvloop) counts
for the Python function that called it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.servers import Server

RATE = 200  # samples per second
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
TOP = 25


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


def start(server: Server, out: Path) -> subprocess.Popen[bytes]:
    """Sample `server` until `finish`; raw collapsed stacks go to `out`."""
    argv = [py_spy(), "record", "--pid", str(server.process.pid), "--rate", str(RATE)]
    argv += ["--full-filenames", "--format", "raw", "--output", str(out)]
    return subprocess.Popen(  # noqa: S603 (py-spy, our arguments)
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def finish(sampler: subprocess.Popen[bytes]) -> None:
    """Stop sampling; py-spy writes its file on SIGINT."""
    if sampler.poll() is None:
        os.kill(sampler.pid, signal.SIGINT)
        try:
            sampler.wait(30)
        except subprocess.TimeoutExpired:
            sampler.kill()
            sampler.wait()


def _where(path: str) -> str:
    """A frame's file, shortened: the project's own path, or the package inside site-packages."""
    for marker in ("/site-packages/", "/lib/python3."):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "/lib/python3." else tail
    for root in ("/api/", "/models/", "/bench/"):
        if root in path:
            return root.strip("/") + "/" + path.split(root, 1)[1]
    return path


def _package(where: str) -> str:
    top = where.split("/", 1)[0]
    return top.removesuffix(".py") if "/" in where else "(stdlib) " + top.removesuffix(".py")


def summarize(raw: Path) -> str:
    """The samples of `raw` as a markdown report: shares of the service's CPU time."""
    selfs: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = []
        for frame in stack.split(";"):
            match = _FRAME.match(frame)
            if match:
                frames.append((_where(match["file"]), match["function"]))
        if not frames:
            continue
        leaf_file, leaf_function = frames[-1]
        selfs[f"{leaf_file}:{leaf_function}"] += count
        packages[_package(leaf_file)] += count
        own = {
            f"{f}:{fn}"
            for f, fn in frames
            if f.startswith(("api/", "models/")) and f != "api/cli.py"
        }
        for name in own:
            inclusive[name] += count
    if not total:
        return "(no samples)\n"

    def table(title: str, counts: Counter[str]) -> list[str]:
        rows = [f"| {title} | share of CPU samples |", "|---|---|"]
        rows += [f"| `{name}` | {n / total:.1%} |" for name, n in counts.most_common(TOP)]
        return [*rows, ""]

    return "\n".join(
        [
            f"{total:,} CPU samples at {RATE} Hz ({total / RATE:.1f} s of CPU).",
            "",
            *table("package the CPU was in (self)", packages),
            *table("the service's own function, with what it calls (inclusive)", inclusive),
            *table("function the CPU was in (self)", selfs),
        ]
    )
