"""Publication day (issue 12): a province's contestants open the published pages at once --
the public notice of the 60-name advancement list, the score lookup, a signed-in contestant's
portal page -- each next to the same server's /healthz as the ceiling, through gunicorn, on
the living demo's database: SQLite, and PostgreSQL.

Run from the repository root:  .venv/bin/python bench/publication.py  [--seconds 10 ...]

Method, for each database (a fresh SQLite file; a fresh schema in the PostgreSQL database of
BENCH_PG_URL, or else of the local cluster, where a role and database ``contest_bench`` are
created as .ci/run does -- PostgreSQL is skipped, saying why, when neither can be had):
1. ``flask db upgrade`` and ``flask demo load`` in child processes (the living demo: the
   chemical preliminary's list of 60, final after its notice, the demo contestant on it).
2. gunicorn, 2 sync workers, on 127.0.0.1 and a free port (or ``--port``), sign-in and
   lookup limits raised (every simulated contestant signs in once, from one address).
3. One phase per page, each ``--users`` Locust users (FastHttpUser) without wait, for
   ``--warmup`` then ``--seconds``; only requests started inside the window count:
   ``healthz`` (GET /healthz, one SELECT 1: the ceiling), ``notice`` (GET /notices/<list>),
   ``portal`` (GET /portal/entries/<entry> as the signed-in demo contestant: scores, rank,
   advancement, the ability chart's box), and ``lookup`` (POST /lookup, the public score
   lookup: each user first opens the form for its CSRF token, then looks up one real demo
   contestant of the published preliminary by exam number and ID number, its own of the first
   64, again and again; see SCORE_LOOKUP below). Every answer must be 200 and the page's own
   marker must be in it (the notice's list table, the portal's results, the lookup's
   results), else it counts as a failure. Each user's first request comes before the window
   (``first_p50_ms``/``first_max_ms``, its failures counted): on publication day a person
   opens a page and then opens it again and again, and that first view is where each worker
   renders the page once -- two per page, 128 for the lookups' 64 people -- before serving it
   from the page cache (app/page_cache.py). The window measures the views after it.

Figures per page: ``rps`` (good answers per second of the window), ``p50_ms``/``p90_ms``/
``p99_ms`` (nearest rank, client side: includes queueing for one of the two sync workers),
``ratio`` = rps / the ceiling's rps on the same server in the same run, ``failures``.
Top level of the last line's JSON: the worst page over both databases -- ``ratio`` the lowest,
``p99_ms`` the highest -- ``failures`` the sum, ``seconds`` the measured windows' wall time,
``floor_seconds`` the mean latency of /healthz (the worse database's), ``peak_mb`` the largest
sum of VmHWM over the gunicorn master and workers; each database's pages under its name.
Targets: every page p99 < 150 ms and ratio >= 0.50, 0 failures, on both databases
(``targets_met``). A failure, or a database that could not be set up, exits 1 after the JSON;
a missed target does not. Needs locust (``make bench`` installs it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_BENCH_DIR)
sys.path[:] = [_ROOT] + [p for p in sys.path if os.path.abspath(p or ".") != _BENCH_DIR]


def _sibling(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", os.path.join(_BENCH_DIR,
                                                                                f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_common = _sibling("_common")
_load = _sibling("judging_load")  # its gunicorn Server, databases and figures

CONTESTANT = ("contestant", "Contestant2025")
MAX_REQUESTS_PER_USER = 100_000
# The public score lookup (成绩查询): POST /lookup with the form's CSRF token, the exam number and
# the ID number of a real demo contestant on the published preliminary -- each simulated user
# its own person (``LOOKUP_PEOPLE`` of them, the first by exam number), looking their scores up
# again and again. Every lookup here finds its entry, and successful lookups are not counted
# by the limits; the server gets limits high enough for one address anyway (production keeps
# its own: LOOKUP_RATE_LIMIT / LOOKUP_RATE_LIMIT_PER_ADDRESS).
SCORE_LOOKUP = {"method": "POST", "path": "/lookup", "form_page": "/lookup",
                "marker": 'id="lookup-results"'}
LOOKUP_PEOPLE = 64
SERVER_ENV = {"LOOKUP_RATE_LIMIT": "100000 per minute",
              "LOOKUP_RATE_LIMIT_PER_ADDRESS": "100000 per minute"}


# ------------------------------------------------------------------------------------------------
# The load generator (child process: Locust + gevent)
# ------------------------------------------------------------------------------------------------

def generate(spec_path: str, out_path: str) -> None:
    """One phase: ``users`` Locust users GET one page back to back (signing in first if the
    page needs it); every request started in the window is recorded."""
    try:
        from locust import FastHttpUser, constant, task  # patches the stdlib with gevent
    except ImportError:
        raise SystemExit("this benchmark's load tool is Locust: .venv/bin/pip install locust") from None
    import gevent
    from gevent.event import Event
    from locust.env import Environment
    from locust.exception import StopUser

    spec = json.loads(Path(spec_path).read_text())
    n_users, warmup, seconds = spec["users"], spec["warmup"], spec["seconds"]
    worker_pids = spec["server_pids"]
    clk = os.sysconf("SC_CLK_TCK")

    class Phase:
        arrived = 0
        finished = 0
        start = end = None
        ready = Event()
        done = Event()
        samples: list[tuple[float, float, int]] = []
        cpu: dict = {}
        start_errors: list[str] = []
        bad_bodies: list[str] = []
        first: list[tuple[float, int]] = []  # each user's first answer: latency, status

    def begin_window() -> None:
        Phase.start = time.perf_counter() + warmup
        Phase.end = Phase.start + seconds
        db_pids: list[int] = []

        def mark(key):
            if key == "start" and spec.get("db_name"):
                db_pids.extend(_load._backend_pids(spec["db_name"]))
            usage = resource.getrusage(resource.RUSAGE_SELF)
            Phase.cpu[key] = (time.perf_counter(), usage.ru_utime + usage.ru_stime,
                              _load._cpu_ticks(worker_pids) / clk, _load._cpu_ticks(db_pids) / clk)

        gevent.spawn_later(warmup, mark, "start")
        gevent.spawn_later(warmup + seconds, mark, "end")
        Phase.ready.set()

    def arrive() -> None:
        Phase.arrived += 1
        if Phase.arrived == n_users:
            begin_window()

    def user_done() -> None:
        Phase.finished += 1
        if Phase.finished == n_users:
            Phase.done.set()

    marker = spec.get("marker")

    forms = spec.get("forms") or []

    class Visitor(FastHttpUser):
        host = spec["host"]
        wait_time = constant(0)
        # 64 sign-ins at once (a password hash each) queue for two workers: give them time.
        network_timeout = connection_timeout = 60.0
        started = 0

        def on_start(self):
            self.count = 0
            self.body = None
            try:
                if spec.get("sign_in"):
                    self.sign_in(*spec["sign_in"])
                if spec.get("form_page"):  # the form's page first: its CSRF token and cookie
                    from urllib.parse import urlencode

                    page = self.client.get(spec["form_page"], name="form page").text
                    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page or "")
                    if found is None:
                        raise RuntimeError(f"no form at {spec['form_page']}")
                    person = forms[Visitor.started % len(forms)] if forms else {}
                    Visitor.started += 1
                    self.body = urlencode({"csrf_token": found.group(1), **person})
                # The user's first view, before the window: each worker renders a page once
                # (then it serves it from the page cache); timed and reported apart.
                t0 = time.perf_counter()
                status = self.ask()
                Phase.first.append((time.perf_counter() - t0, status))
            except Exception as error:  # noqa: BLE001 - counted and reported, never hangs
                Phase.start_errors.append(repr(error)[:300])
                arrive()
                user_done()
                raise StopUser() from None
            arrive()
            Phase.ready.wait()

        def sign_in(self, username: str, password: str) -> None:
            """Through the real form; retried when no answer came (64 password checks at once
            queue for two workers on a busy machine)."""
            for attempt in range(3):
                try:
                    return self._sign_in(username, password)
                except RuntimeError:
                    if attempt == 2:
                        raise

        def _sign_in(self, username: str, password: str) -> None:
            from urllib.parse import urlencode

            page = self.client.get("/login", name="login page").text
            found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page or "")
            if found is None:
                raise RuntimeError("no sign-in form (no answer)")
            token = found.group(1)
            answer = self.client.post(
                "/login", name="login",
                data=urlencode({"csrf_token": token, "username": username, "password": password}),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            if answer.status_code != 200 or 'name="password"' in answer.text:
                raise RuntimeError(f"sign-in of {username} refused ({answer.status_code})")

        @task
        def visit(self):
            if time.perf_counter() >= Phase.end or self.count >= MAX_REQUESTS_PER_USER:
                user_done()
                raise StopUser()
            self.count += 1
            t0 = time.perf_counter()
            status = self.ask()
            t1 = time.perf_counter()
            if Phase.start <= t0 < Phase.end:
                Phase.samples.append((t0, t1 - t0, status))

        def ask(self) -> int:
            """One request of the page; its status (-200: a 200 without the page's content)."""
            if self.body is not None:
                response = self.client.post(
                    spec["path"], name=spec["page"], data=self.body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
            else:
                response = self.client.get(spec["path"], name=spec["page"])
            status = response.status_code
            if status == 200 and marker and marker not in (response.text or ""):
                status = -200  # a 200 without the page's content: a failure
                if len(Phase.bad_bodies) < 2:
                    Phase.bad_bodies.append((response.text or "")[:300])
            return status

    env = Environment(user_classes=[Visitor], host=spec["host"])
    runner = env.create_local_runner()
    runner.start(n_users, spawn_rate=n_users)
    finished_in_time = Phase.done.wait(timeout=spec["hard_limit"])
    runner.quit()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    window = None
    if "start" in Phase.cpu and "end" in Phase.cpu:
        (w0, c0, s0, d0), (w1, c1, s1, d1) = Phase.cpu["start"], Phase.cpu["end"]
        window = {"wall": w1 - w0, "client_cpu": (c1 - c0) / (w1 - w0),
                  "server_cpu": (s1 - s0) / (w1 - w0)}
        if spec.get("db_name"):
            window["database_cpu"] = (d1 - d0) / (w1 - w0)
    Path(out_path).write_text(json.dumps({
        "finished_in_time": bool(finished_in_time), "window": window, "seconds": seconds,
        "samples": Phase.samples, "first": Phase.first, "start_errors": Phase.start_errors[:5],
        "bad_bodies": Phase.bad_bodies, "client_peak_mb": usage.ru_maxrss / 1024}))


# ------------------------------------------------------------------------------------------------
# The driver
# ------------------------------------------------------------------------------------------------

def pages(url: str) -> dict[str, dict]:
    """Each page's request, read from the demo database: the preliminary's list and the demo
    contestant's entry."""
    import sqlalchemy as sa

    from app import create_app
    from app.extensions import db
    from app.models import (
        AdvancementEntryStatus,
        AdvancementList,
        Contestant,
        Entry,
        StageEntry,
        User,
    )

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": _load.SECRET})
    with app.app_context():
        listing = db.session.scalar(sa.select(AdvancementList).order_by(AdvancementList.id))
        names = sum(1 for e in listing.entries if e.status == AdvancementEntryStatus.ADVANCING)
        entry_id = db.session.scalar(sa.select(Entry.id).join(Contestant).join(
            User, User.id == Contestant.user_id).where(User.username == CONTESTANT[0]))
        people = [{"exam_number": number, "id_number": id_number}
                  for number, id_number in db.session.execute(
                      sa.select(Entry.exam_number, Contestant.id_number)
                      .join(Contestant, Contestant.id == Entry.contestant_id)
                      .join(StageEntry, StageEntry.entry_id == Entry.id)
                      .where(StageEntry.stage_id == listing.stage_id)
                      .order_by(Entry.exam_number).limit(LOOKUP_PEOPLE))]
        db.session.remove()
        db.engine.dispose()
    out = {
        "notice": {"path": f"/notices/{listing.id}", "marker": 'id="notice-list"',
                   "names": names},
        "portal": {"path": f"/portal/entries/{entry_id}", "marker": 'id="my-results"',
                   "sign_in": list(CONTESTANT)},
    }
    if SCORE_LOOKUP:
        out["lookup"] = {**SCORE_LOOKUP, "forms": people}
    return out


def _drained(server, limit: float = 60.0) -> None:
    """Wait until the server answers /healthz promptly: a previous phase's requests that the
    client gave up on may still be queued at the workers."""
    import urllib.request

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(f"{server.host}/healthz", timeout=10):
                pass
        except OSError:
            continue
        if time.perf_counter() - t0 < 0.05:
            return
        time.sleep(0.5)


def run_phase(server, tmp: Path, page: str, request: dict, args) -> dict:
    _drained(server)
    spec = {"page": page, "path": request["path"], "marker": request.get("marker"),
            "sign_in": request.get("sign_in"), "form_page": request.get("form_page"),
            "forms": request.get("forms"), "host": server.host, "db_name": server.db_name,
            "users": args.users, "warmup": args.warmup, "seconds": args.seconds,
            "server_pids": server.worker_pids(), "hard_limit": args.warmup + args.seconds + 120}
    spec_path, out_path = tmp / f"{page}.spec.json", tmp / f"{page}.out.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--_generate", str(spec_path), str(out_path)],
        cwd=_ROOT, capture_output=True, text=True, timeout=spec["hard_limit"] + 60)
    if result.returncode != 0 or not out_path.exists():
        raise SystemExit(f"load generator failed ({page}):\n{result.stdout}\n{result.stderr}")
    return json.loads(out_path.read_text())


def figures(out: dict, ceiling_rps: float | None) -> dict:
    summary = _load.summarise(out)
    failures = sum(n for s, n in summary["statuses"].items() if s != "200")
    first = sorted(latency for latency, _status in out.get("first", []))
    first_failures = sum(1 for _latency, status in out.get("first", []) if status != 200)
    if first:
        summary["first_p50_ms"] = round(first[len(first) // 2] * 1000, 2)
        summary["first_max_ms"] = round(first[-1] * 1000, 2)
    summary["failures"] = (failures + first_failures + len(out["start_errors"])
                           + (0 if out["finished_in_time"] else 1))
    if ceiling_rps:
        summary["ratio"] = round(summary["rps"] / ceiling_rps, 3)
    if out["start_errors"]:
        summary["start_errors"] = out["start_errors"]
    if out["bad_bodies"]:
        summary["bad_bodies"] = out["bad_bodies"]
    return summary


def bench_database(kind: str, args, tmp: Path, pg_base: str | None) -> dict:
    url = _load.fresh_database(kind, tmp, pg_base)
    try:
        t = time.perf_counter()
        _load._flask_cli(url, "db", "upgrade")
        _load._flask_cli(url, "demo", "load")
        setup_s = time.perf_counter() - t
        requests = pages(url)
        out = {}
        with _load.Server(url, tmp, port=args.port, env=SERVER_ENV) as server:
            ceiling = figures(run_phase(server, tmp, "healthz", {"path": "/healthz"}, args), None)
            for page, request in requests.items():
                out[page] = figures(run_phase(server, tmp, page, request, args), ceiling["rps"])
                out[page]["path"] = request["path"]
            peak_mb = server.peak_mb()
    finally:
        _load.drop_database(kind, url, pg_base)
    return {"ceiling": ceiling, "pages": out, "setup_seconds": round(setup_s, 1),
            "server_peak_mb": round(peak_mb, 1), "list_names": requests["notice"]["names"]}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--_generate":
        generate(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per page")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured warm-up per page")
    parser.add_argument("--users", type=int, default=64, help="concurrent users (at least 64)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--port", type=int, default=None,
                        help="the server's port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args()
    if importlib.util.find_spec("locust") is None:
        raise SystemExit("this benchmark's load tool is Locust: .venv/bin/pip install locust")

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results, skipped = {}, {}
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    pg_base = None
    if "postgresql" in kinds:
        pg_base, how = _common.postgres_url()
        if pg_base is None:
            skipped["postgresql"] = how
            kinds.remove("postgresql")
            print(f"postgresql SKIPPED: {how}", flush=True)
        else:
            print(f"postgresql: {how}", flush=True)
    with tempfile.TemporaryDirectory(prefix="publication_") as tmp_name:
        for kind in kinds:
            tmp = Path(tmp_name) / kind
            tmp.mkdir()
            r = bench_database(kind, args, tmp, pg_base)
            results[kind] = r
            c = r["ceiling"]
            print(f"{kind:10s} ceiling GET /healthz: {c['rps']:8.1f} req/s  p99 {c['p99_ms']:7.2f} ms",
                  flush=True)
            for page, f in r["pages"].items():
                print(f"{kind:10s} {page:8s} {f['path']:24s} {f['rps']:8.1f} req/s  "
                      f"p50 {f['p50_ms']:7.2f} ms  p99 {f['p99_ms']:7.2f} ms  ratio "
                      f"{f['ratio']:.3f}  failures {f['failures']}  (server CPU "
                      f"{f.get('server_cpu_cores')} cores, client {f.get('client_cpu_cores')}"
                      + (f", database {f['database_cpu_cores']}" if "database_cpu_cores" in f
                         else "") + ")"
                      + (f"  first view p50 {f['first_p50_ms']:.0f} ms, max "
                         f"{f['first_max_ms']:.0f} ms" if "first_p50_ms" in f else ""),
                      flush=True)

    every = [(kind, page, f) for kind, r in results.items() for page, f in r["pages"].items()]
    worst_ratio = min(every, key=lambda x: x[2]["ratio"]) if every else None
    worst_p99 = max(every, key=lambda x: x[2]["p99_ms"]) if every else None
    worse_db = (max(results, key=lambda k: results[k]["ceiling"]["mean_ms"] or 0)
                if results else None)
    if SCORE_LOOKUP is None:
        skipped["lookup"] = ("the public score lookup is not on this branch yet: a slot "
                             "(SCORE_LOOKUP in bench/publication.py) waits for it")
    summary = {
        "bench": "publication",
        "tool": "locust (FastHttpUser, library mode)",
        "server": "gunicorn, 2 sync workers, 127.0.0.1",
        "users": args.users,
        "seconds": round((1 + len(results and next(iter(results.values()))["pages"]))
                         * args.seconds * len(results), 1),
        "peak_mb": max((r["server_peak_mb"] for r in results.values()), default=None),
        "peak_is": "largest sum of VmHWM over the gunicorn master and its 2 workers",
        "floor_seconds": (round((results[worse_db]["ceiling"]["mean_ms"] or 0) / 1000, 6)
                          if worse_db else None),
        "floor_is": "mean latency of GET /healthz (one SELECT 1) on the same server at the same "
                    f"concurrency, {worse_db}",
        "ratio": worst_ratio[2]["ratio"] if worst_ratio else None,
        "ratio_is": (f"{worst_ratio[1]} on {worst_ratio[0]}: its rps / the ceiling's rps"
                     if worst_ratio else None),
        "p99_ms": worst_p99[2]["p99_ms"] if worst_p99 else None,
        "p99_is": f"{worst_p99[1]} on {worst_p99[0]}" if worst_p99 else None,
        "failures": sum(f["failures"] for _k, _p, f in every),
        "total_seconds": round(time.perf_counter() - started, 1),
        "loadavg_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "targets": {"p99_ms_below": 150, "ratio_at_least": 0.50, "failures": 0},
        "targets_met": bool(every) and "postgresql" not in skipped and all(
            f["p99_ms"] < 150 and f["ratio"] >= 0.50 and f["failures"] == 0
            for _k, _p, f in every),
        "skipped": skipped,
    }
    for kind, r in results.items():
        summary[kind] = {"ceiling": {k: r["ceiling"][k] for k in (
                             "rps", "p50_ms", "p99_ms", "mean_ms", "client_cpu_cores",
                             "server_cpu_cores") if k in r["ceiling"]},
                         **{page: {k: v for k, v in f.items() if k != "statuses" or
                                   set(v) != {"200"}} for page, f in r["pages"].items()},
                         "list_names": r["list_names"], "setup_seconds": r["setup_seconds"],
                         "server_peak_mb": r["server_peak_mb"]}
    print(json.dumps(summary, ensure_ascii=False, default=str))
    if summary["failures"] or not results:
        sys.exit(1)


if __name__ == "__main__":
    main()
