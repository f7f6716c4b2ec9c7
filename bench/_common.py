"""Shared helpers for benchmarks: best-of-N wall time, peak resident memory, and a PostgreSQL
database made as .ci/run makes the tests' one."""

from __future__ import annotations

import gc
import os
import resource
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable


def best_of(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    """Run ``fn`` ``repeat`` times; return the best wall time (s) and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0).

    Writing "5" to /proc/self/clear_refs is the kernel's documented way to reset the high-water
    mark; returns False where that is not available (then ``peak_rss_mb`` is the lifetime peak).
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def rss_mb() -> float:
    kb = _status_kb("VmRSS")
    return (kb or 0) / 1024


def peak_rss_mb() -> float:
    """Peak resident memory (MB) since the last :func:`reset_peak_rss`, else since start."""
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb / 1024


# --- PostgreSQL for benchmarks ------------------------------------------------------------------

BENCH_ROLE = BENCH_DATABASE = "contest_bench"


def _as_postgres(sql: str, *flags: str) -> subprocess.CompletedProcess:
    """``psql -c SQL`` as the postgres system user (root: su; otherwise sudo without a password),
    as .ci/run does."""
    command = ["psql", "-q", "-v", "ON_ERROR_STOP=1", *flags, "-c", sql]
    if os.geteuid() == 0:
        argv = ["su", "postgres", "-c", " ".join(shlex.quote(a) for a in command)]
    else:
        argv = ["sudo", "-n", "-u", "postgres", *command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def postgres_url() -> tuple[str | None, str]:
    """A PostgreSQL database for the benchmarks and how it was found: BENCH_PG_URL when set;
    otherwise the local cluster (started if it is down) with a role and database
    ``contest_bench`` created when missing, as .ci/run does for the tests. (None, the reason)
    when neither is possible, so the benchmark can say plainly why it skips PostgreSQL."""
    given = os.environ.get("BENCH_PG_URL")
    if given:
        if given.startswith("postgresql://"):
            given = "postgresql+psycopg://" + given[len("postgresql://"):]
        return given, "BENCH_PG_URL"
    if not shutil.which("pg_lsclusters"):
        return None, "no PostgreSQL on this machine (pg_lsclusters not found) and BENCH_PG_URL unset"
    if os.geteuid() != 0 and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode:
        return None, ("BENCH_PG_URL unset, and creating a database needs root or sudo "
                      "without a password")
    clusters = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True,
                              text=True).stdout.split("\n")[0].split()
    if len(clusters) < 4:
        return None, "no PostgreSQL cluster on this machine and BENCH_PG_URL unset"
    version, name, port, state = clusters[:4]
    if state != "online":
        started = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name,
                                  "start"], capture_output=True, text=True)
        if started.returncode:
            return None, f"the PostgreSQL cluster would not start: {started.stderr.strip()[:200]}"
        for _ in range(30):
            if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", port]).returncode == 0:
                break
            time.sleep(1)
    done = _as_postgres(
        f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{BENCH_ROLE}') "
        f"THEN CREATE ROLE {BENCH_ROLE} LOGIN PASSWORD '{BENCH_ROLE}'; END IF; END$$")
    if done.returncode:
        return None, f"could not create the role {BENCH_ROLE}: {done.stderr.strip()[:200]}"
    listed = _as_postgres(f"SELECT 1 FROM pg_database WHERE datname = '{BENCH_DATABASE}'",
                          "-tA")
    if listed.stdout.strip() != "1":
        done = _as_postgres(f"CREATE DATABASE {BENCH_DATABASE} OWNER {BENCH_ROLE}")
        if done.returncode:
            return None, f"could not create the database: {done.stderr.strip()[:200]}"
    return (f"postgresql+psycopg://{BENCH_ROLE}:{BENCH_ROLE}@127.0.0.1:{port}/{BENCH_DATABASE}",
            f"local cluster, database {BENCH_DATABASE} (created if missing)")
