"""Load benchmark of judging (issue 5): judges saving marks concurrently through gunicorn, on
SQLite and on PostgreSQL, next to the same server's trivial endpoint as the ceiling.

Run from the repository root:  .venv/bin/python bench/judging_load.py  [--seconds 10 ...]

The load tool is Locust (PyPI, ``pip install locust``), used as a library: its FastHttpUser
(geventhttpclient) drives 16 users, one per judge, each with its own cookies.  Locust runs in a
child process of this script (it monkey-patches the standard library with gevent at import,
which the database set-up and the checks here must not see); this process builds the databases,
starts and stops gunicorn, and checks the stored marks afterwards.

Method, for each database (a fresh SQLite file; a fresh schema in the PostgreSQL database of
``--pg-url`` / BENCH_PG_URL, else of the local cluster's ``contest_bench``, made as .ci/run
does -- or PostgreSQL skipped, saying why):
1. ``flask db upgrade`` and ``flask demo load --configuration-only`` in child processes, as an
   operator would; then
   ``prepare_practical`` puts ``--workstations`` contestants in the demo's chemical advanced
   stage and draws them, and new judge accounts (no enterprise, so every workstation is theirs)
   join the practical's panel next to judge1..judge5 until it has ``--users`` judges.
2. gunicorn, 2 sync workers, on 127.0.0.1 and a free port (control socket in a temp dir), with
   sign-in limits raised.  Stopped in a ``finally``.
3. Ceiling: ``--users`` Locust users send GET /healthz (JSON after one ``SELECT 1``: the
   server's trivial endpoint, so the ceiling includes one database round trip) back to back for
   ``--warmup`` then ``--seconds``; only requests started inside the measured window count.
4. Saves: each user signs in as its own judge through the real sign-in form (once), reads the
   CSRF token from a sheet page's ``data-csrf``, waits for all users to be signed in, then saves
   marks on its own workstations back to back, as the sheet page's autosave does: the whole
   form each time (blank items as ""), one more item filled per save, workstation after
   workstation; once all are filled it goes round again changing one mark per save.  The
   version comes from the previous answer; a 409 makes it re-read ``data-version`` from the
   sheet page and retry.  Latency is timed around each save request (client side, so it
   includes queueing for one of the two workers: sync workers serve one request at a time).
5. Lost updates: after the server has stopped, every sheet's stored marks and version must equal
   the last values and version the server acknowledged with 200 for that sheet; each sheet
   that differs counts once.  Sheets whose last save failed without an answer would be
   indeterminate and are counted apart (``indeterminate``); any such sheet is a failure too.
   Each judge owns its sheets, so 409s should not happen and are counted; ``--second-devices K``
   also signs the first K judges in on a second device that saves the same sheets in the same
   order, so saves collide, 409s are re-read and retried, and the check then compares the stored
   sheet with the acknowledgement of highest version over both devices.

Figures: ``rps`` = saves answered 200 per second of the measured window; ``p50_ms``/``p99_ms``
over those saves (nearest rank); ``ceiling_rps`` likewise for /healthz; ``ratio`` = rps /
ceiling_rps.  Top level of the last line's JSON: the worse database -- ``rps``, ``ceiling_rps``
and ``ratio`` from the one with the lower ratio (named in ``worse``), ``p50_ms``/``p99_ms`` the
higher of the two, ``lost_updates`` the sum -- with every database's own figures under "sqlite"
and "postgresql".  ``seconds`` = the wall time of all the
measured windows together; ``floor_seconds`` = the mean latency of the ceiling's requests (the
worse database's), see ``floor_is``; ``peak_mb`` = the largest sum, over the gunicorn master and
its workers, of each process's VmHWM (peak resident memory), see ``peak_is``.  CPU used in each
window by the gunicorn workers, by the load generator and (PostgreSQL) by the server processes
serving the benchmark's database is printed too: all of it shares the machine's 2 cores, so a
client near 100% of one core would cap the ceiling.

Targets (issue 5): p99 under 100 ms and ratio at least 0.30, with lost_updates 0.  A lost update,
a failed sign-in or a save answered with an error makes the run exit 1 (after its JSON line);
missed performance targets do not (``targets_met`` says so).  Needs locust in .venv.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_BENCH_DIR)
sys.path[:] = [_ROOT] + [p for p in sys.path if os.path.abspath(p or ".") != _BENCH_DIR]

SECRET = "bench-judging-load-secret"
PASSWORD = "Judge2025"  # the demo judges' password; the new judges get the same
SAVE_URL = "/judge/components/{component}/sheets/{ws}/save"
SHEET_URL = "/judge/components/{component}/sheets/{ws}"
MAX_REQUESTS_PER_USER = 100_000  # a bound on count as well as time


# ------------------------------------------------------------------------------------------------
# The load generator (child process: Locust + gevent)
# ------------------------------------------------------------------------------------------------

def _cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def _backend_pids(database: str) -> list[int]:
    """The PostgreSQL server processes serving ``database`` (their title names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres:") and f" {database} " in title:
                pids.append(int(entry.name))
    return pids


def generate(spec_path: str, out_path: str) -> None:
    """Run one phase ("ceiling" or "save") with Locust as described in ``spec_path``."""
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
        signed_in = 0
        start = end = None  # perf_counter bounds of the measured window
        ready = Event()
        finished = 0
        done = Event()
        samples: list[tuple[float, float, int]] = []  # (start, latency s, status)
        cpu: dict = {}
        rereads = 0
        fail_login = 0
        start_errors: list[str] = []

    def begin_window() -> None:
        now = time.perf_counter()
        Phase.start = now + warmup
        Phase.end = Phase.start + seconds
        db_pids: list[int] = []

        def mark(key):
            if key == "start" and spec.get("db_name"):
                db_pids.extend(_backend_pids(spec["db_name"]))
            usage = resource.getrusage(resource.RUSAGE_SELF)
            Phase.cpu[key] = (time.perf_counter(), usage.ru_utime + usage.ru_stime,
                              _cpu_ticks(worker_pids) / clk, _cpu_ticks(db_pids) / clk)

        gevent.spawn_later(warmup, mark, "start")
        gevent.spawn_later(warmup + seconds, mark, "end")
        Phase.ready.set()

    def arrive() -> None:
        """One more user is ready (signed in, or given up); the last one opens the window."""
        Phase.signed_in += 1
        if Phase.signed_in == n_users:
            begin_window()

    def user_done() -> None:
        Phase.finished += 1
        if Phase.finished == n_users:
            Phase.done.set()

    def record(t0: float, t1: float, status: int) -> None:
        if Phase.start <= t0 < Phase.end:
            Phase.samples.append((t0, t1 - t0, status))

    class Probe(FastHttpUser):
        host = spec["host"]
        wait_time = constant(0)
        network_timeout = connection_timeout = 15.0

        def on_start(self):
            self.count = 0
            arrive()
            Phase.ready.wait()

        @task
        def probe(self):
            if time.perf_counter() >= Phase.end or self.count >= MAX_REQUESTS_PER_USER:
                user_done()
                raise StopUser()
            self.count += 1
            t0 = time.perf_counter()
            response = self.client.get("/healthz", name="healthz")
            record(t0, time.perf_counter(), response.status_code)

    # One device per judge; with --second-devices K the first K judges also work from a second
    # device on the same sheets, so saves collide and the optimistic lock is exercised.
    judges = list(spec.get("judges", []))
    judges = judges + judges[:spec.get("second_devices", 0)]
    items = spec.get("items", [])
    component = spec.get("component")
    sheets_out: list[dict] = []  # one record per device and sheet

    def value_for(item: dict, rng, current: str | None) -> str:
        """A valid mark for ``item``, different from ``current``."""
        for _ in range(20):
            kind, maximum = item["kind"], float(item["maximum"])
            if kind == "measurement" and item["all_or_nothing"]:
                value = rng.choice(["0", f"{maximum:g}"])
            elif kind == "measurement":
                value = f"{rng.randint(0, int(maximum * 100)) / 100:.2f}"
            elif kind == "judgement":
                value = str(rng.randint(0, 3))
            elif kind == "deduction":
                value = str(rng.randint(0, 2))
            else:  # disqualifying: never (it would need a reason)
                return "0"
            if value != current:
                return value
        return value

    class Judge(FastHttpUser):
        host = spec["host"]
        wait_time = constant(0)
        network_timeout = connection_timeout = 15.0

        def on_start(self):
            try:
                self.sign_in()
            except Exception as error:  # noqa: BLE001 - counted and reported, never hangs
                Phase.fail_login += 1
                Phase.start_errors.append(repr(error)[:300])
                arrive()
                user_done()
                raise StopUser() from None
            arrive()
            Phase.ready.wait()

        def sign_in(self):
            import random
            from urllib.parse import urlencode

            me = judges.pop()
            self.username = me["username"]
            self.stations = me["workstations"]
            self.rng = random.Random(self.username)
            self.count = 0
            self.position = 0  # index into the (station, item) walk
            self.changeable = [i for i in items if i["kind"] != "disqualifying"]
            page = self.client.get("/login", name="login page").text
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            answer = self.client.post(
                "/login", name="login",
                data=urlencode({"csrf_token": token, "username": self.username,
                                "password": PASSWORD}),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            if answer.status_code != 200 or 'name="password"' in answer.text:
                raise RuntimeError(f"sign-in of {self.username} refused ({answer.status_code})")
            self.csrf, _version = self.read_sheet(self.stations[0])
            self.sheets = {ws: {"version": 0, "values": {i["code"]: "" for i in items},
                                "acked": None, "acked_version": None, "uncertain": False}
                           for ws in self.stations}
            for ws, sheet in self.sheets.items():
                sheet["sheet"] = f"{self.username}|{ws}"
                sheets_out.append(sheet)

        def read_sheet(self, ws: str) -> tuple[str, int]:
            page = self.client.get(SHEET_URL.format(component=component, ws=ws),
                                   name="sheet page").text
            csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
            version = int(re.search(r'data-version="(\d+)"', page).group(1))
            return csrf, version

        def next_values(self) -> tuple[str, dict]:
            """Fill the next blank item of the current sheet; once every sheet is filled, go
            round changing one mark per save."""
            n_fill = len(self.stations) * len(items)
            k = self.position
            self.position += 1
            if k < n_fill:
                ws, item = self.stations[k // len(items)], items[k % len(items)]
            else:
                k -= n_fill
                ws = self.stations[k % len(self.stations)]
                item = self.changeable[(k // len(self.stations)) % len(self.changeable)]
            values = dict(self.sheets[ws]["values"])
            values[item["code"]] = value_for(item, self.rng, values[item["code"]] or None)
            return ws, values

        @task
        def save(self):
            if time.perf_counter() >= Phase.end or self.count >= MAX_REQUESTS_PER_USER:
                user_done()
                raise StopUser()
            ws, values = self.next_values()
            sheet = self.sheets[ws]
            url = SAVE_URL.format(component=component, ws=ws)
            for _attempt in range(5):
                self.count += 1
                body = {"version": sheet["version"], "values": values, "reasons": {},
                        "overrun_minutes": 0}
                t0 = time.perf_counter()
                response = self.client.post(url, json=body, name="save",
                                            headers={"X-CSRFToken": self.csrf})
                record(t0, time.perf_counter(), response.status_code)
                status = response.status_code
                if status == 200:
                    sheet["version"] = response.json()["version"]
                    sheet["values"] = values
                    sheet["acked"], sheet["acked_version"] = values, sheet["version"]
                    sheet["uncertain"] = False
                    return
                if status == 409:  # stale: re-read the version, as the page's reload does
                    Phase.rereads += 1
                    self.csrf, sheet["version"] = self.read_sheet(ws)
                    continue
                if status == 0 or status >= 500:  # no answer: the save may or may not be in
                    sheet["uncertain"] = True
                    self.csrf, sheet["version"] = self.read_sheet(ws)
                return  # 4xx other than 409: refused, nothing stored
            return

    env = Environment(user_classes=[Judge if spec["mode"] == "save" else Probe], host=spec["host"])
    runner = env.create_local_runner()
    runner.start(n_users, spawn_rate=n_users)
    hard_limit = spec["hard_limit"]
    finished_in_time = Phase.done.wait(timeout=hard_limit)
    runner.quit()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    window = None
    if "start" in Phase.cpu and "end" in Phase.cpu:
        (w0, c0, s0, d0), (w1, c1, s1, d1) = Phase.cpu["start"], Phase.cpu["end"]
        window = {"wall": w1 - w0, "client_cpu": (c1 - c0) / (w1 - w0),
                  "server_cpu": (s1 - s0) / (w1 - w0)}
        if spec.get("db_name"):
            window["database_cpu"] = (d1 - d0) / (w1 - w0)
    result = {
        "finished_in_time": bool(finished_in_time),
        "window": window,
        "seconds": seconds,
        "samples": Phase.samples,
        "rereads": Phase.rereads,
        "failed_logins": Phase.fail_login,
        "start_errors": Phase.start_errors[:5],
        "client_peak_mb": usage.ru_maxrss / 1024,
        "sheets": sheets_out,
    }
    Path(out_path).write_text(json.dumps(result))


# ------------------------------------------------------------------------------------------------
# The driver
# ------------------------------------------------------------------------------------------------

def _flask_cli(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi.py", "SECRET_KEY": SECRET}
    result = subprocess.run([sys.executable, "-m", "flask", *args], cwd=_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def _schema_name() -> str:
    return f"bench_judging_load_{os.getpid()}"


def fresh_database(kind: str, tmp: Path, pg_base: str) -> str:
    """A new SQLite file, or a new schema in the PostgreSQL database (as tests/conftest.py's
    fresh_database_url does)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'judging_load.db'}"
    from urllib.parse import quote

    import sqlalchemy as sa

    name = _schema_name()
    engine = sa.create_engine(pg_base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    return f"{pg_base}{'&' if '?' in pg_base else '?'}options={quote(f'-csearch_path={name}')}"


def drop_database(kind: str, url: str, pg_base: str) -> None:
    if kind != "postgresql":
        return
    import sqlalchemy as sa

    engine = sa.create_engine(pg_base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{_schema_name()}" CASCADE'))
    engine.dispose()


def prepare(url: str, n_workstations: int, n_judges: int) -> dict:
    """Migrate, load the demo, draw the practical and fill its panel; return what the load
    generator needs (component id, judges with their workstations, marking items)."""
    _flask_cli(url, "db", "upgrade")
    _flask_cli(url, "demo", "load", "--configuration-only")
    from app import create_app
    from app.extensions import db
    from app.models import Component, PanelRole, Role
    from app.services import accounts, judging, score_sheets
    from tests.judging_setup import prepare_practical

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET})
    with app.app_context():
        component_id = prepare_practical(n_workstations, seed="bench-judging-load")
        component = db.session.get(Component, component_id)
        organiser = accounts.get_by_username("organiser")
        have = sum(1 for a in judging.panel(component) if a.panel_role == PanelRole.JUDGE)
        for k in range(have + 1, n_judges + 1):
            user = accounts.create_user(f"benchjudge{k:02d}", f"评测裁判{k:02d}", Role.JUDGE,
                                        PASSWORD, actor=organiser)
            judging.assign_judge(component, user, actor=organiser)
        db.session.commit()
        judges = [{"username": a.user.username,
                   "workstations": [p.workstation_number for p in judging.judge_places(a)]}
                  for a in judging.panel(component) if a.panel_role == PanelRole.JUDGE]
        items = [{"code": i.code, "kind": i.kind.value, "maximum": str(i.maximum),
                  "all_or_nothing": bool(i.all_or_nothing)}
                 for i in score_sheets.marking_items(component)]
        db.session.remove()
        db.engine.dispose()
    return {"component": component_id, "judges": judges[:n_judges], "items": items}


def stored_sheets(url: str, component_id: int) -> dict[str, tuple[int, dict]]:
    """Every sheet of the component as stored: "username|workstation" → (version, marks)."""
    import sqlalchemy as sa

    from app import create_app
    from app.extensions import db
    from app.models import Mark, MarkingItem, ScoreSheet, StageEntry, User

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET})
    out: dict[str, tuple[int, dict]] = {}
    with app.app_context():
        rows = db.session.execute(
            sa.select(User.username, StageEntry.workstation_number, ScoreSheet.version,
                      MarkingItem.code, Mark.value)
            .select_from(ScoreSheet).join(User, ScoreSheet.judge_id == User.id)
            .join(StageEntry, ScoreSheet.stage_entry_id == StageEntry.id)
            .outerjoin(Mark, Mark.sheet_id == ScoreSheet.id)
            .outerjoin(MarkingItem, Mark.item_id == MarkingItem.id)
            .where(ScoreSheet.component_id == component_id))
        for username, ws, version, code, value in rows:
            _, marks = out.setdefault(f"{username}|{ws}", (version, {}))
            if code is not None and value is not None:
                marks[code] = value
        db.session.remove()
        db.engine.dispose()
    return out


def last_acks(records: list[dict]) -> dict[str, dict]:
    """Per sheet, the acknowledgement with the highest version over all devices (each save
    sends the whole form, so that one alone says what must be stored); a sheet is uncertain
    when any device's save on it went unanswered."""
    out: dict[str, dict] = {}
    for record in records:
        key = record["sheet"]
        best = out.get(key)
        if best is None or (record["acked_version"] or -1) > (best["acked_version"] or -1):
            out[key] = {**record, "uncertain": record["uncertain"] or bool(best and best["uncertain"])}
        elif record["uncertain"]:
            best["uncertain"] = True
    return out


def lost_updates(acked: dict[str, dict], stored: dict[str, tuple[int, dict]]) -> dict:
    """Compare each sheet's last acknowledged values and version with what is stored."""
    from decimal import Decimal

    lost = indeterminate = checked = 0
    examples = []
    for key, sheet in acked.items():
        if sheet["uncertain"]:
            indeterminate += 1
            continue
        if sheet["acked"] is None:
            if key in stored and stored[key][1]:  # never acknowledged, yet marks stored
                lost += 1
                examples.append({"sheet": key, "stored": {k: str(v) for k, v in stored[key][1].items()}})
            continue
        checked += 1
        expected = {code: Decimal(v) for code, v in sheet["acked"].items() if v != ""}
        version, marks = stored.get(key, (None, {}))
        if version != sheet["acked_version"] or marks != expected:
            lost += 1
            if len(examples) < 5:
                examples.append({"sheet": key, "acked_version": sheet["acked_version"],
                                 "stored_version": version,
                                 "acked": {k: str(v) for k, v in expected.items()},
                                 "stored": {k: str(v) for k, v in marks.items()}})
    return {"lost_updates": lost, "indeterminate": indeterminate, "sheets_checked": checked,
            "examples": examples}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _vm_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def sa_url(url: str):
    import sqlalchemy as sa

    return sa.engine.make_url(url)


class Server:
    """gunicorn, 2 sync workers, on 127.0.0.1; stopped on exit."""

    def __init__(self, url: str, tmp: Path, workers: int = 2, worker_class: str = "sync",
                 threads: int = 1, port: int | None = None, env: dict | None = None):
        self.url, self.tmp, self.workers = url, tmp, workers
        self.db_name = (sa_url(url).database if url.startswith("postgresql") else None)
        self.worker_class, self.threads = worker_class, threads
        self.port = port or _free_port()
        self.host = f"http://127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        env = {**os.environ, "DATABASE_URL": self.url, "SECRET_KEY": SECRET,
               "LOGIN_RATE_LIMIT": "100000 per minute",
               "LOGIN_RATE_LIMIT_PER_ADDRESS": "100000 per minute", **self.extra_env}
        self.log = open(self.tmp / "gunicorn.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(self.workers),
             "--worker-class", self.worker_class, "--threads", str(self.threads),
             "--bind", f"127.0.0.1:{self.port}",
             "--control-socket", str(self.tmp / "gunicorn.ctl"), "--timeout", "60", "wsgi:app"],
            cwd=_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        import urllib.request

        while True:
            if self.proc.poll() is not None:
                raise SystemExit("gunicorn exited:\n" + (self.tmp / "gunicorn.log").read_text())
            try:
                with urllib.request.urlopen(f"{self.host}/healthz", timeout=2) as answer:
                    if answer.status == 200 and len(self.worker_pids()) >= self.workers:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not answer /healthz within 60 s")
            time.sleep(0.2)
        return self

    def worker_pids(self) -> list[int]:
        return _children(self.proc.pid) if self.proc else []

    def peak_mb(self) -> float:
        """Sum of the peak resident memory (VmHWM) of the master and each worker."""
        return sum(_vm_kb(p, "VmHWM") for p in [self.proc.pid, *self.worker_pids()]) / 1024

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def run_phase(server: Server, tmp: Path, mode: str, args, setup: dict | None = None) -> dict:
    spec = {"mode": mode, "host": server.host, "db_name": server.db_name, "users": args.users + args.second_devices,
            "second_devices": args.second_devices, "warmup": args.warmup,
            "seconds": args.seconds, "server_pids": server.worker_pids(),
            "hard_limit": args.warmup + args.seconds + 120}
    if setup:
        spec.update(setup)
    spec_path, out_path = tmp / f"{mode}.spec.json", tmp / f"{mode}.out.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--_generate", str(spec_path), str(out_path)],
        cwd=_ROOT, capture_output=True, text=True, timeout=spec["hard_limit"] + 60)
    if result.returncode != 0 or not out_path.exists():
        raise SystemExit(f"load generator failed ({mode}):\n{result.stdout}\n{result.stderr}")
    out = json.loads(out_path.read_text())
    out["stderr_tail"] = [line for line in result.stderr.splitlines()
                          if "CPU usage" in line or "Error" in line][-5:]
    return out


def _pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(1, int(-(-q * len(sorted_values) // 1)))  # nearest rank
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarise(out: dict) -> dict:
    samples = out["samples"]
    ok = sorted(lat for _, lat, status in samples if status == 200)
    statuses: dict[str, int] = {}
    for _, _, status in samples:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    wall = out["seconds"]
    figures = {
        "requests": len(samples), "ok": len(ok), "statuses": statuses,
        "rps": round(len(ok) / wall, 1),
        "p50_ms": round(_pct(ok, 0.50) * 1000, 2), "p90_ms": round(_pct(ok, 0.90) * 1000, 2),
        "p99_ms": round(_pct(ok, 0.99) * 1000, 2),
        "mean_ms": round(sum(ok) / len(ok) * 1000, 2) if ok else None,
        "max_ms": round(ok[-1] * 1000, 2) if ok else None,
    }
    if out.get("window"):
        figures["client_cpu_cores"] = round(out["window"]["client_cpu"], 2)
        figures["server_cpu_cores"] = round(out["window"]["server_cpu"], 2)
        if "database_cpu" in out["window"]:
            figures["database_cpu_cores"] = round(out["window"]["database_cpu"], 2)
    return figures


def bench_database(kind: str, args, tmp: Path) -> dict:
    url = fresh_database(kind, tmp, args.pg_url)
    try:
        t = time.perf_counter()
        setup = prepare(url, args.workstations, args.users)
        setup_s = time.perf_counter() - t
        if len(setup["judges"]) < args.users:
            raise SystemExit(f"only {len(setup['judges'])} judges on the panel")
        with Server(url, tmp, worker_class=args.worker_class, threads=args.threads) as server:
            ceiling_out = run_phase(server, tmp, "ceiling", args)
            save_out = run_phase(server, tmp, "save", args, setup)
            peak_mb = server.peak_mb()
        stored = stored_sheets(url, setup["component"])
    finally:
        drop_database(kind, url, args.pg_url)
    ceiling = summarise(ceiling_out)
    saves = summarise(save_out)
    if args.dump:  # every measured request: start (s from the window's start), latency, status
        for name, out in (("ceiling", ceiling_out), ("saves", save_out)):
            start = min((t for t, _, _ in out["samples"]), default=0.0)
            Path(args.dump, f"{kind}-{name}.tsv").write_text("".join(
                f"{t - start:.4f}\t{lat * 1000:.2f}\t{status}\n" for t, lat, status in out["samples"]))
    check = lost_updates(last_acks(save_out["sheets"]), stored)
    ratio = saves["rps"] / ceiling["rps"] if ceiling["rps"] else 0.0
    return {
        "rps": saves["rps"], "ceiling_rps": ceiling["rps"], "p50_ms": saves["p50_ms"],
        "p99_ms": saves["p99_ms"], "lost_updates": check["lost_updates"] + check["indeterminate"],
        "ratio": round(ratio, 3),
        "conflicts_409": saves["statuses"].get("409", 0),
        "errors": sum(n for s, n in saves["statuses"].items() if s not in ("200", "409")),
        "saves": saves, "ceiling": ceiling,
        "ceiling_mean_s": (ceiling["mean_ms"] or 0) / 1000,
        "lost_update_check": check,
        "failed_logins": save_out["failed_logins"],
        "start_errors": save_out["start_errors"],
        "client_warnings": save_out["stderr_tail"] + ceiling_out["stderr_tail"],
        "finished_in_time": save_out["finished_in_time"] and ceiling_out["finished_in_time"],
        "server_peak_mb": round(peak_mb, 1),
        "client_peak_mb": round(max(save_out["client_peak_mb"], ceiling_out["client_peak_mb"]), 1),
        "setup_seconds": round(setup_s, 1),
        "judges": len(setup["judges"]), "workstations": args.workstations,
    }


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--_generate":
        generate(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured warm-up per phase")
    parser.add_argument("--users", type=int, default=16, help="concurrent judges (and probes)")
    parser.add_argument("--workstations", type=int, default=40)
    parser.add_argument("--second-devices", type=int, default=0,
                        help="judges who also save from a second device on the same sheets "
                             "(extra users; collisions answer 409 and are retried)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"],
                        help="gunicorn worker class (2 workers either way)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--pg-url", default=None,
                        help="default: BENCH_PG_URL, else a database made on the local cluster "
                             "as .ci/run does (bench/_common.postgres_url)")
    parser.add_argument("--dump", help="a directory to write every measured request to "
                                       "(DATABASE-ceiling.tsv, DATABASE-saves.tsv)")
    args = parser.parse_args()
    import importlib.util

    if importlib.util.find_spec("locust") is None:
        raise SystemExit("this benchmark's load tool is Locust: .venv/bin/pip install locust")

    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    skipped = {}
    if "postgresql" in kinds and args.pg_url is None:
        spec = importlib.util.spec_from_file_location("bench_common",
                                                      os.path.join(_BENCH_DIR, "_common.py"))
        common = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(common)
        args.pg_url, how = common.postgres_url()
        if args.pg_url is None:
            skipped["postgresql"] = how
            kinds.remove("postgresql")
        print(f"postgresql: {how}" if args.pg_url else f"postgresql SKIPPED: {how}", flush=True)

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results = {}
    with tempfile.TemporaryDirectory(prefix="judging_load_") as tmp_name:
        for kind in kinds:
            tmp = Path(tmp_name) / kind
            tmp.mkdir()
            r = bench_database(kind, args, tmp)
            results[kind] = r
            print(f"{kind:10s} saves: {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms  "
                  f"p99 {r['p99_ms']:6.2f} ms  lost updates {r['lost_updates']}  "
                  f"409s {r['conflicts_409']}  errors {r['errors']}  "
                  f"(server CPU {r['saves'].get('server_cpu_cores')} cores, "
                  f"client {r['saves'].get('client_cpu_cores')}"
                  + (f", database {r['saves']['database_cpu_cores']}"
                     if "database_cpu_cores" in r["saves"] else "") + ")", flush=True)
            c = r["ceiling"]
            print(f"{kind:10s} ceiling GET /healthz: {c['rps']:8.1f} req/s  p50 {c['p50_ms']:6.2f} ms  "
                  f"p99 {c['p99_ms']:6.2f} ms  (server CPU {c.get('server_cpu_cores')} cores, "
                  f"client {c.get('client_cpu_cores')}"
                  + (f", database {c['database_cpu_cores']}" if "database_cpu_cores" in c else "")
                  + f")  ratio {r['ratio']:.3f}", flush=True)

    worst_kind = min(results, key=lambda k: results[k]["ratio"])
    worst = results[worst_kind]
    n_windows = 2 * len(results)
    summary = {
        "bench": "judging_load",
        "tool": "locust (FastHttpUser, library mode)",
        "server": f"gunicorn, 2 {args.worker_class} workers"
                  + (f" × {args.threads} threads" if args.threads > 1 else "") + ", 127.0.0.1",
        "users": args.users,
        "second_devices": args.second_devices,
        "worse": worst_kind,
        "rps": worst["rps"], "ceiling_rps": worst["ceiling_rps"],
        "p50_ms": max(r["p50_ms"] for r in results.values()),
        "p99_ms": max(r["p99_ms"] for r in results.values()),
        "lost_updates": sum(r["lost_updates"] for r in results.values()),
        "ratio": worst["ratio"],
        "seconds": round(n_windows * args.seconds, 1),
        "floor_seconds": round(worst["ceiling_mean_s"], 6),
        "floor_is": ("mean latency of GET /healthz (JSON after one SELECT 1) on the same server "
                     f"at the same concurrency, {worst_kind}"),
        "ceiling_endpoint": "GET /healthz (one SELECT 1)",
        "peak_mb": max(r["server_peak_mb"] for r in results.values()),
        "peak_is": "largest sum of VmHWM over the gunicorn master and its 2 workers",
        "client_peak_mb": max(r["client_peak_mb"] for r in results.values()),
        "total_seconds": round(time.perf_counter() - started, 1),
        # Other work on the machine skews every figure (the ratio less, being measured in the
        # same run): the 1-minute load average before and after, on 2 cores.
        "loadavg_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "targets": {"p99_ms_below": 100, "ratio_at_least": 0.30, "lost_updates": 0},
        "targets_met": all(r["p99_ms"] < 100 and r["ratio"] >= 0.30 and r["lost_updates"] == 0
                           for r in results.values()),
    }
    for kind, r in results.items():
        summary[kind] = {k: v for k, v in r.items()
                         if k not in ("ceiling_mean_s",)}
    summary["skipped"] = skipped
    summary["valid"] = all(r["failed_logins"] == 0 and r["errors"] == 0 and r["finished_in_time"]
                           for r in results.values())
    print(json.dumps(summary, ensure_ascii=False, default=str))
    # Performance misses are figures to read; a lost update or a broken run is a failure.
    if summary["lost_updates"] or not summary["valid"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
