"""Benchmark issue 13's targets in one run: page updates, start-up, memory and the KPI command.

    .venv/bin/python scripts/page_benchmark.py --data DIR [--repeats 30] [--warm-repeats 2]
        [--kpi-runs 3] [--kpi-from 2022-04 --kpi-to 2023-03] [--redis] [--skip-kpi]

On the data folder ``DIR`` (never written to) it:

1. starts ``python app.py`` as a user does, signs headless Chromium in as an administrator and
   *records* every page's update: the ``/_dash-update-component`` bodies the browser posts after
   the From month is changed (Chrome's performance log), in the order it posts them;
2. starts the README's deployment (``gunicorn -w 2``) and *replays* those bodies over HTTP
   with the ``filter-state`` chain fed by each response, as the renderer does, for ``--repeats``
   filter combinations never sent before (a new force, period and LPA each time), then the same
   combination again ``--warm-repeats`` times. A page's update is timed on its critical path
   (each wave of callbacks posted at once, as the browser posts them; the next wave when the
   last answer of the one before is in) and as the sum of its callbacks' times in the worker
   (gunicorn's access log, ``%(D)s``); every request names the worker that served it, so a
   repeat on the other worker is told apart from a repeat on the same one;
3. times each server from process start to the first 200 on ``/login``, and reads each
   process's peak RSS (``VmHWM``) after every page has been visited;
4. times the KPI command (``python -m queries kpis``, 12 months, every force) and a pandas
   peer — the independent pandas computation the tests check the SQL against
   (``tests/oracle.py``), reading the same parquet — as whole processes, in turn A B A B…,
   and prints the ratio pair by pair;
5. prints the machine, the versions and the load average beside each table (the machine is shared).

``--redis`` runs the replay a second time against gunicorn with ``REDIS_URL`` set to a
``redis-server`` this script starts on loopback (no persistence), to show a repeat served by
the worker that did not compute it. The figures are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import copy
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from browser_benchmark import PAGES, PASSWORD  # noqa: E402  (the same pages and account as the browser one)

from tests.conftest import (  # noqa: E402  (the tests' own ways to start, sign in and drive the app)
    _free_port,
    add_user,
    app_env,
    browser_sign_in,
    headless_chromium,
    sign_in,
    wait_until_serving,
)
from tests.dash_requests import id_text, parse_id, split_outputs  # noqa: E402

UPDATE_PATH = "/_dash-update-component"
STATE_PROP = "filter-state.data"  # ui.filters.ID_STATE: the store every page callback reads
USER = "bench-admin"
# Every request carries its number, so gunicorn's access log can say which worker served it and
# how long it spent there (%(D)s: microseconds in the worker, queueing excluded).
REQUEST_HEADER = "X-Bench-Request"
ACCESS_FORMAT = "%({x-bench-request}i)s %(p)s %(s)s %(D)s"
TARGET_COLD_P95_MS = 150
TARGET_WARM_MS = 30
TARGET_START_S = 5
TARGET_RSS_GB = 1.5
TARGET_KPI_RATIO = 0.05

# The browser is "done" when the filter bar has resolved and no Dash loading flag is up
# (scripts/browser_benchmark.py waits for the same, and for the charts on screen).
SETTLED = """
const summary = document.getElementById('filter-summary');
return !!summary && summary.textContent.startsWith('Showing')
  && document.querySelectorAll("[data-dash-is-loading='true']").length === 0;
"""
# dbc.Input(debounce=True) sends its value on blur or Enter: set it as React sees typing, then Enter.
SET_MONTH = """
const input = document.getElementById(arguments[0]);
const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
setter.call(input, arguments[1]);
input.dispatchEvent(new Event('input', {bubbles: true}));
"""


# --------------------------------------------------------------------------------------------
# Machine and processes
# --------------------------------------------------------------------------------------------


def machine_line() -> str:
    import duckdb

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return (
        f"machine: {platform.machine()} {cpu_model}, {os.cpu_count()} CPUs, {memory_gib:.1f} GiB RAM, "
        f"{platform.platform()}; Python {platform.python_version()}, DuckDB {duckdb.__version__}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def load_text() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


@dataclass
class Server:
    """A started app: its process, URL, log files and the seconds from start to the first /login."""

    name: str
    process: subprocess.Popen
    url: str
    log_path: Path
    access_log: Path | None
    start_s: float = 0.0

    def pids(self) -> list[tuple[str, int]]:
        """(role, pid) of every process serving requests: gunicorn's workers, or app.py itself."""
        import psutil

        if self.access_log is None:
            return [("app.py", self.process.pid)]
        children = psutil.Process(self.process.pid).children()
        return [("master", self.process.pid)] + [(f"worker {c.pid}", c.pid) for c in children]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(kind: str, data_dir: Path, env: dict, work: Path, workers: int = 2) -> Server:
    """``python app.py`` or ``gunicorn -w N`` (the README's deployment line), timed to the first /login."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = work / f"{kind}.log"
    access_log = None
    if kind == "app.py":
        command = [sys.executable, "app.py", "--data", str(data_dir), "--port", str(port)]
    else:
        access_log = work / f"{kind}-access.log"
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c", "gunicorn.conf.py", "--chdir", str(REPO), "--no-control-socket",
            "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--access-logfile", str(access_log), "--access-logformat", ACCESS_FORMAT,
            "app:server",
        ]  # fmt: skip
    log = log_path.open("w")
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(url, process, log_path, timeout=180, poll_s=0.05)
    except RuntimeError as exc:
        raise SystemExit(f"{kind} did not start:\n{str(exc)[-3000:]}") from None
    return Server(kind, process, url, log_path, access_log, time.perf_counter() - started)


def peak_rss_gb(pid: int) -> float:
    """The process's peak resident set (VmHWM), GB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e9
    return float("nan")


def signed_in_session(base_url: str):
    """A requests session of the benchmark's administrator, its purpose for records given."""
    session = sign_in(base_url, USER, PASSWORD)
    if session.last_sign_in.status_code != 302:
        raise SystemExit(
            f"sign-in failed: {session.last_sign_in.status_code} {session.last_sign_in.text[:300]}"
        )
    return session


# --------------------------------------------------------------------------------------------
# Filter combinations never sent before
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Combination:
    """One filter selection: the values the filter bar's controls send."""

    force: str
    period_from: str
    period_to: str
    lpa: str | None

    def describe(self) -> str:
        return f"{self.force} {self.period_from}..{self.period_to} {self.lpa or 'all LPAs'}"


def data_choices(data_dir: Path) -> dict[str, tuple[list[str], list[str]]]:
    """force → (its LPAs, its months), read from the incidents parquet (what the filter bar offers)."""
    import duckdb

    files = sorted(str(p) for p in (data_dir / "incidents").glob("*.parquet") if p.name[0] not in "_.")
    rows = (
        duckdb.connect()
        .execute(
            "select force, list(distinct lpa order by lpa), strftime(min(received_at), '%Y-%m'), "
            "strftime(max(received_at), '%Y-%m') from read_parquet($files) group by force order by force",
            {"files": files},
        )
        .fetchall()
    )
    choices = {}
    for force, lpas, first, last in rows:
        months = []
        year, month = int(first[:4]), int(first[5:])
        while f"{year:04d}-{month:02d}" <= last:
            months.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        choices[force] = ([lpa for lpa in lpas if lpa], months)
    return choices


class Combinations:
    """Draws combinations never drawn before in this run: a new force, period and LPA each time
    (a force is drawn in turn from all the data holds, so every force is seen)."""

    def __init__(self, choices: dict[str, tuple[list[str], list[str]]], seed: int = 13):
        self.choices = choices
        self.random = random.Random(seed)
        self.seen: set[Combination] = set()
        self.forces = list(choices)
        self.turn = 0

    def mark_seen(self, combination: Combination) -> None:
        self.seen.add(combination)

    def new(self) -> Combination:
        for _ in range(10_000):
            force = self.forces[self.turn % len(self.forces)]
            lpas, months = self.choices[force]
            # Mostly the gold group's 12 months; shorter periods keep one force's choices many.
            length = min(len(months), self.random.choice((12, 12, 12, 6, 3, 1)))
            end = self.random.randrange(length - 1, len(months))
            lpa = self.random.choice([None, None, *lpas]) if lpas else None
            combination = Combination(force, months[end - length + 1], months[end], lpa)
            if combination not in self.seen:
                self.seen.add(combination)
                self.turn += 1
                return combination
        raise SystemExit("no filter combination left that was not sent before")


# --------------------------------------------------------------------------------------------
# Recording the browser's callbacks
# --------------------------------------------------------------------------------------------


@dataclass
class RecordedCall:
    """One POST the browser sent after the filter change, and the wave it belongs to."""

    body: dict
    wave: int
    outputs: set[str]
    browser_ms: float
    label: str  # unique on its page: two MATCH callbacks of one shape are told apart by a number


def callback_label(body: dict) -> str:
    """A short name for a callback: its first output (pattern ids by their type and area)."""
    _multi, outputs = split_outputs(body["output"])
    component, prop = outputs[0]
    if isinstance(component, dict):
        # The type, then the values that name which one (area, graph, kpi); wildcards left out.
        component = "/".join(str(v) for v in component.values() if isinstance(v, str))
    more = f" +{len(outputs) - 1}" if len(outputs) > 1 else ""
    return f"{component}.{prop}{more}"


def output_props(body: dict) -> set[str]:
    _multi, outputs = split_outputs(body["output"])
    props = set()
    for component, prop in outputs:
        props.add(f"{id_text(component)}.{prop}" if isinstance(component, str) else f"{component}.{prop}")
    outs = body["outputs"] if isinstance(body["outputs"], list) else [body["outputs"]]
    for item in outs:
        for one in item if isinstance(item, list) else [item]:
            props.add(f"{id_text(one['id'])}.{one['property']}")
    return props


def wait_settled(driver, timeout: float = 300, quiet_s: float = 1.5) -> None:
    """Until the page has settled and no request has been sent for ``quiet_s``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script(SETTLED):
            time.sleep(quiet_s)
            if driver.execute_script(SETTLED):
                return
        time.sleep(0.1)
    raise SystemExit(f"{driver.current_url} did not settle within {timeout:.0f} s")


def update_posts(driver) -> list[tuple[dict, float]]:
    """The /_dash-update-component bodies in the performance log since it was last read, in the
    order sent, with the browser's time from send to the end of the response (ms)."""
    sent: dict[str, tuple[float, dict | None]] = {}
    finished: dict[str, float] = {}
    order: list[str] = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            request = params["request"]
            # Dash 4 adds a query string (``?endId=…``) to the path.
            if request.get("method") == "POST" and urlsplit(request["url"]).path == UPDATE_PATH:
                text = request.get("postData")
                if text is None and request.get("hasPostData"):
                    text = driver.execute_cdp_cmd(
                        "Network.getRequestPostData", {"requestId": params["requestId"]}
                    )["postData"]
                sent[params["requestId"]] = (params["timestamp"], json.loads(text) if text else None)
                order.append(params["requestId"])
        elif message["method"] in ("Network.loadingFinished", "Network.loadingFailed"):
            finished[params["requestId"]] = params["timestamp"]
    posts = []
    for request_id in order:
        stamp, body = sent[request_id]
        if body is not None:
            posts.append((body, (finished.get(request_id, stamp) - stamp) * 1000))
    return posts


def waves(posts: list[tuple[dict, float]]) -> list[RecordedCall]:
    """Each post's wave: 0 for the filter callback; one more than the latest call that wrote a
    property it was fired by (the renderer fires a callback once every input it waits on is in)."""
    calls: list[RecordedCall] = []
    for body, browser_ms in posts:
        changed = set(body.get("changedPropIds", []))
        parents = [c.wave for c in calls if c.outputs & changed]
        label = callback_label(body)
        same_shape = sum(1 for c in calls if c.label.split(" #")[0] == label)
        label = f"{label} #{same_shape + 1}" if same_shape else label
        wave = max(parents) + 1 if parents else 0
        calls.append(RecordedCall(body, wave, output_props(body), browser_ms, label))
    return calls


def record_pages(
    base: str, recorded_combination: Combination, new_from: str
) -> dict[str, list[RecordedCall]]:
    """Open every page on ``recorded_combination``, change the From month to ``new_from`` as a
    user does, and keep the posts that change fired."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = headless_chromium(logs=("performance",))
    driver.set_page_load_timeout(300)
    recorded = {}
    try:
        browser_sign_in(driver, base, USER, PASSWORD)
        c = recorded_combination
        search = f"?from={c.period_from}&to={c.period_to}&force={c.force}"
        for path in PAGES:
            driver.get(base + path + search)
            wait_settled(driver)
            update_posts(driver)  # the page's first render: not what a filter change fires
            driver.execute_script(SET_MONTH, "filter-from", new_from)
            driver.find_element(By.ID, "filter-from").send_keys(Keys.ENTER)
            time.sleep(0.5)
            wait_settled(driver)
            calls = waves(update_posts(driver))
            if not calls or STATE_PROP not in calls[0].outputs:
                raise SystemExit(f"{path}: the From change fired no filter callback ({len(calls)} posts)")
            recorded[path] = calls
    finally:
        driver.quit()
    return recorded


# --------------------------------------------------------------------------------------------
# Replaying them over HTTP
# --------------------------------------------------------------------------------------------


def with_values(body: dict, values: dict[str, object]) -> dict:
    """``body`` with every input and state whose ``id.property`` is in ``values`` set to it."""
    body = copy.deepcopy(body)
    for key in ("inputs", "state"):
        for item in body.get(key, []):
            for one in item if isinstance(item, list) else [item]:
                name = f"{id_text(one['id'])}.{one['property']}"
                if name in values:
                    one["value"] = values[name]
    return body


def response_values(payload: dict) -> dict[str, object]:
    """``id.property`` → value of what a callback returned (Dash's multi-output response)."""
    values = {}
    for component, props in payload.get("response", {}).items():
        name = id_text(parse_id(component)) if component.startswith("{") else component
        for prop, value in props.items():
            values[f"{name}.{prop}"] = value
    return values


@dataclass
class Call:
    """One replayed POST: which callback, wave, the client's time, and (gunicorn) the worker's."""

    label: str
    wave: int
    request_id: str
    status: int
    client_ms: float
    sent_bytes: int = 0
    received_bytes: int = 0
    server_ms: float | None = None
    worker: int | None = None


@dataclass
class Update:
    """One page update replayed: its critical path and its calls."""

    path: str
    combination: Combination
    kind: str  # "cold", "warm 1", "warm 2"…
    critical_ms: float
    calls: list[Call] = field(default_factory=list)

    def server_sum_ms(self) -> float:
        return sum(c.server_ms if c.server_ms is not None else c.client_ms for c in self.calls)


class Replayer:
    """Posts a page's recorded callbacks, wave by wave, with the filter changed to a combination."""

    def __init__(self, server: Server, recorded: dict[str, list[RecordedCall]]):
        self.server = server
        self.recorded = recorded
        self.sessions = [signed_in_session(server.url)]
        cookies = self.sessions[0].cookies
        width = max(sum(1 for c in calls if c.wave == w) for calls in recorded.values() for w in range(5))
        for _ in range(max(width, 1) - 1):
            import requests

            session = requests.Session()
            session.cookies.update(cookies)
            self.sessions.append(session)
        self.pool = concurrent.futures.ThreadPoolExecutor(len(self.sessions))
        self.counter = 0

    def post(self, session, path: str, body: dict, label: str, wave: int) -> tuple[Call, dict]:
        self.counter += 1
        request_id = f"r{self.counter}"
        headers = {REQUEST_HEADER: request_id, "Referer": self.server.url + path}
        started = time.perf_counter()
        response = session.post(self.server.url + UPDATE_PATH, json=body, headers=headers, timeout=600)
        client_ms = (time.perf_counter() - started) * 1000
        if response.status_code not in (200, 204):
            raise SystemExit(f"{path} {label}: {response.status_code} {response.text[:500]}")
        payload = response.json() if response.status_code == 200 else {}
        call = Call(label, wave, request_id, response.status_code, client_ms)
        call.sent_bytes, call.received_bytes = len(response.request.body or b""), len(response.content)
        return call, payload

    def update(self, path: str, combination: Combination, kind: str) -> Update:
        calls = self.recorded[path]
        c = combination
        values: dict[str, object] = {
            "filter-from.value": c.period_from,
            "filter-to.value": c.period_to,
            "filter-force.value": c.force,
            "filter-lpa.value": c.lpa or "__all__",
            "filter-local-authority.value": "__all__",
        }
        result = Update(path, combination, kind, 0.0)
        started = time.perf_counter()
        for wave in range(max(call.wave for call in calls) + 1):
            in_wave = [call for call in calls if call.wave == wave]
            futures = [
                self.pool.submit(
                    self.post, self.sessions[i], path, with_values(call.body, values), call.label, wave
                )
                for i, call in enumerate(in_wave)
            ]
            for future in futures:
                call, payload = future.result()
                result.calls.append(call)
                values.update(response_values(payload))
            if wave == 0 and STATE_PROP not in values:
                raise SystemExit(f"{path}: the filter callback did not set the state for {c.describe()}")
        result.critical_ms = (time.perf_counter() - started) * 1000
        return result


def read_access_log(server: Server, updates: list[Update]) -> None:
    """Fill each call's worker and time in the worker from gunicorn's access log."""
    if server.access_log is None:
        return
    time.sleep(0.5)  # gunicorn writes the line after the response
    entries = {}
    for line in server.access_log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] != "-":
            entries[parts[0]] = (int(parts[1].strip("<>")), int(parts[3]) / 1000)  # %(p)s is "<pid>"
    for update in updates:
        for call in update.calls:
            if call.request_id in entries:
                call.worker, call.server_ms = entries[call.request_id]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def cache_hits(instance: Path, after_id: int) -> tuple[int, int, int]:
    """(last audit id, page views served from the cache, page views) since ``after_id``."""
    import sqlite3

    path = next(instance.rglob("audit.sqlite"))  # auth.audit.audit_path() of that instance
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "select id, action, detail from audit where id > ? and (action like 'view %' "
            "or action like 'compare forces %')",
            (after_id,),
        ).fetchall()
        last = db.execute("select coalesce(max(id), 0) from audit").fetchone()[0]
    hits = sum(1 for _id, _action, detail in rows if detail and '"cache": "hit"' in detail)
    return last, hits, len(rows)


def replay_pages(
    server: Server, instance: Path, recorded, combinations: Combinations, repeats: int, warm_repeats: int
) -> tuple[list[Update], dict[str, tuple[int, int]], dict[str, str]]:
    replayer = Replayer(server, recorded)
    updates: list[Update] = []
    hit_counts: dict[str, tuple[int, int]] = {}
    loads: dict[str, str] = {}
    last_id, _, _ = cache_hits(instance, 0)
    for path in PAGES:
        for _ in range(repeats):
            combination = combinations.new()
            updates.append(replayer.update(path, combination, "cold"))
            last_id, _, _ = cache_hits(instance, last_id)
            for n in range(warm_repeats):
                updates.append(replayer.update(path, combination, f"warm {n + 1}"))
            last_id, hits, views = cache_hits(instance, last_id)
            old_hits, old_views = hit_counts.get(path, (0, 0))
            hit_counts[path] = (old_hits + hits, old_views + views)
        loads[path] = load_text()
        print(
            f"  {server.name} {path}: {repeats} combinations done, {loads[path]}", file=sys.stderr, flush=True
        )
    read_access_log(server, updates)
    replayer.pool.shutdown()
    return updates, hit_counts, loads


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def met(value: float, target: float) -> str:
    return "met" if value <= target else "**not met**"


def report_updates(name: str, updates: list[Update], hit_counts, loads: dict[str, str]) -> None:
    rows = []
    worst_path, worst_p95 = None, -1.0
    for path in PAGES:
        cold = [u for u in updates if u.path == path and u.kind == "cold"]
        warm = [u for u in updates if u.path == path and u.kind != "cold"]
        if not cold:
            continue
        cold_critical = [u.critical_ms for u in cold]
        cold_sum = [u.server_sum_ms() for u in cold]
        # A repeat is "served before" when every call landed on a worker that had served it (its own
        # cache holds it); otherwise at least one call met a worker that had not.
        first_time_on_worker = {id(u) for u, _c, seen_here in repeated_calls(updates, path) if not seen_here}
        same = [u.critical_ms for u in warm if id(u) not in first_time_on_worker]
        other = [u.critical_ms for u in warm if id(u) in first_time_on_worker]
        sent_kb = statistics.median(sum(c.sent_bytes for c in u.calls) for u in cold) / 1000
        received_kb = statistics.median(sum(c.received_bytes for c in u.calls) for u in cold) / 1000
        p95 = percentile(cold_critical, 0.95)
        if p95 > worst_p95:
            worst_path, worst_p95 = path, p95
        hits, views = hit_counts.get(path, (0, 0))
        warm_all = [u.critical_ms for u in warm]
        rows.append(
            [
                path,
                str(len(cold[0].calls)),
                f"{statistics.median(cold_critical):.0f}",
                f"{p95:.0f}",
                f"{statistics.median(cold_sum):.0f}",
                f"{statistics.median(warm_all):.0f}" if warm_all else "–",
                f"{percentile(warm_all, 0.95):.0f}" if warm_all else "–",
                f"{statistics.median(same):.0f} (n={len(same)})" if same else "–",
                f"{statistics.median(other):.0f} (n={len(other)})" if other else "–",
                f"{hits}/{views}",
                f"{sent_kb:.0f} / {received_kb:.0f}",
                loads.get(path, ""),
            ]
        )
    print_table(
        f"Page updates, {name}: ms; cold = a combination never sent before, warm = the same again",
        [
            "page", "calls", "cold p50", "cold p95", "cold sum p50", "warm p50", "warm p95",
            "warm p50, every call on a worker that had served it",
            "warm p50, some call on a worker that had not",
            "repeated views from the cache", "kB sent / received", "load after the page",
        ],
        rows,
    )  # fmt: skip
    in_worker = bool(updates) and updates[0].calls[0].server_ms is not None
    print(
        f"critical path: each wave of callbacks posted at once; sum: every callback's time "
        f"{'in the worker (access log)' if in_worker else 'at the client'}. "
        f"Targets: cold p95 ≤ {TARGET_COLD_P95_MS} ms, repeat ≤ {TARGET_WARM_MS} ms on any worker."
    )
    if worst_path:
        report_calls(worst_path, [u for u in updates if u.path == worst_path])


def repeated_calls(updates: list[Update], path: str):
    """(update, call, whether that worker had served this call before) for every repeated call of a
    page, in the order sent: a worker that has computed a result keeps it in its own cache."""
    served_by: dict[tuple[Combination, str], set[int]] = {}
    for u in updates:
        if u.path != path:
            continue
        for c in u.calls:
            if c.worker is None:
                continue
            workers = served_by.setdefault((u.combination, c.label), set())
            if u.kind != "cold":
                yield u, c, c.worker in workers
            workers.add(c.worker)


def report_calls(path: str, updates: list[Update]) -> None:
    labels: list[tuple[int, str]] = []
    for u in updates:
        for c in u.calls:
            if (c.wave, c.label) not in labels:
                labels.append((c.wave, c.label))
    repeats = {id(c): seen_here for _u, c, seen_here in repeated_calls(updates, path)}

    def median_text(values: list[float]) -> str:
        return f"{statistics.median(values):.0f}" if values else "–"

    rows = []
    for wave, label in labels:
        cold, same, other = [], [], []
        for u in updates:
            for c in u.calls:
                if c.label != label or c.wave != wave:
                    continue
                if u.kind == "cold":
                    cold.append(c)
                elif id(c) in repeats:
                    (same if repeats[id(c)] else other).append(c.server_ms)
        client = [c.client_ms for c in cold]
        in_worker = [c.server_ms for c in cold if c.server_ms is not None]
        rows.append(
            [label, str(wave), median_text(client), f"{percentile(client, 0.95):.0f}", median_text(in_worker),
             median_text(same), median_text(other)]
        )  # fmt: skip
    print_table(
        f"Where the time goes on the slowest page, {path} (ms per callback; wave 0 is the filter bar's)",
        ["callback (first output)", "wave", "cold at the client p50", "cold p95", "cold in the worker p50",
         "repeat, worker served it before p50", "repeat, worker had not p50"],
        rows,
    )  # fmt: skip


def report_processes(rows: list[list[str]]) -> None:
    print_table(
        f"Start-up and memory (targets: first /login ≤ {TARGET_START_S} s, "
        f"peak RSS ≤ {TARGET_RSS_GB} GB a process)",
        ["server", "process", "start → first 200 on /login s", "peak RSS GB (VmHWM)", "load"],
        rows,
    )


# --------------------------------------------------------------------------------------------
# The KPI command against the pandas peer
# --------------------------------------------------------------------------------------------


def pandas_peer(data_dir: Path, period_from: str, period_to: str) -> int:
    """The pandas peer: every table read whole into pandas, then tests/oracle.py's KPIs, every force."""
    import pandas as pd

    from data.contract import TABLES
    from tests.oracle import oracle_kpis

    frames = {}
    for name in TABLES:
        files = sorted(p for p in (data_dir / name).glob("*.parquet") if p.name[0] not in "_.")
        if files:
            frames[name] = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
    values = oracle_kpis(frames, period_from, period_to)
    print(json.dumps(values, default=float))
    return 0


def timed_process(command: list[str]) -> tuple[float, float, float, int]:
    """(wall s, user+sys CPU s, peak RSS GB, exit code) of one whole process, output discarded."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024 / 1e9, process.returncode


def compare_kpis(data_dir: Path, period_from: str, period_to: str, runs: int, warmups: int) -> None:
    project = [sys.executable, "-m", "queries", "kpis", "--data", str(data_dir), "--from", period_from,
               "--to", period_to, "--json"]  # fmt: skip
    peer = [sys.executable, str(Path(__file__).resolve()), "--pandas-peer", "--data", str(data_dir),
            "--kpi-from", period_from, "--kpi-to", period_to]  # fmt: skip
    for _ in range(warmups):  # the OS file cache filled, so neither pays the first read from disk
        timed_process(project)
        timed_process(peer)
    results = {"project": [], "pandas peer": []}
    ratios = []
    for _ in range(runs):
        a = timed_process(project)
        b = timed_process(peer)
        for name, run in (("project", a), ("pandas peer", b)):
            if run[3] != 0:
                raise SystemExit(f"the {name} command exited with {run[3]}")
            results[name].append(run)
        ratios.append(a[0] / b[0])
    rows = []
    for name, runs_of in results.items():
        walls = [r[0] for r in runs_of]
        rows.append(
            [
                name,
                f"{min(walls):.2f} / {statistics.median(walls):.2f} / {max(walls):.2f}",
                f"{statistics.median(r[1] for r in runs_of):.2f}",
                f"{max(r[2] for r in runs_of):.2f}",
            ]
        )
    ratio = statistics.median(ratios)
    spread = f"{min(ratios):.3f} / {ratio:.3f} / {max(ratios):.3f}"
    rows.append(["ratio project / peer (pair by pair)", spread,
                 "", ""])  # fmt: skip
    print_table(
        f"KPI command, {period_from}..{period_to}, every force, whole processes A B A B… ({runs} pairs after "
        f"{warmups} warm-up each; {load_text()}). "
        f"Target ≤ {TARGET_KPI_RATIO}×: {met(ratio, TARGET_KPI_RATIO)}",
        ["command", "wall s min / median / max", "CPU s median", "peak RSS GB"],
        rows,
    )
    print(
        f"project: {' '.join(project[1:])}\n"
        "pandas peer: tests/oracle.py's oracle_kpis over every table read whole"
    )


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def redis_server(work: Path):
    port = _free_port()
    process = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the data folder (read only)")
    parser.add_argument("--repeats", type=int, default=30, help="new filter combinations per page")
    parser.add_argument("--warm-repeats", type=int, default=2, help="repeats of each combination")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kpi-runs", type=int, default=3, help="pairs of KPI command and pandas peer")
    parser.add_argument("--kpi-warmups", type=int, default=1, help="unmeasured pairs first")
    parser.add_argument("--kpi-from", default="2022-04")
    parser.add_argument("--kpi-to", default="2023-03")
    parser.add_argument("--skip-kpi", action="store_true")
    parser.add_argument("--redis", action="store_true", help="replay again with a shared Redis cache")
    parser.add_argument("--redis-repeats", type=int, default=10)
    parser.add_argument("--pandas-peer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data_dir = Path(args.data).resolve()
    if args.pandas_peer:
        return pandas_peer(data_dir, args.kpi_from, args.kpi_to)

    began = time.perf_counter()
    print(machine_line())
    print(f"data: {data_dir}; {load_text()}")
    work = Path(tempfile.mkdtemp(prefix="cpd-page-bench-"))
    process_rows = []
    try:
        choices = data_choices(data_dir)
        combinations = Combinations(choices)
        print(f"{len(choices)} forces; {sum(len(lpas) for lpas, _ in choices.values())} LPAs")
        # The recorded combination: the first force's last 12 months; the From change moves it a month.
        force = next(iter(choices))
        months = choices[force][1]
        recorded_combination = Combination(force, months[-12], months[-1], None)
        combinations.mark_seen(recorded_combination)
        combinations.mark_seen(Combination(force, months[-11], months[-1], None))

        instance = work / "app-instance"
        instance.mkdir()
        env = app_env(data_dir, instance)
        add_user(env, USER, "admin", password=PASSWORD)
        app_py = start_server("app.py", data_dir, env, work)
        try:
            recorded = record_pages(app_py.url, recorded_combination, months[-11])
            for role, pid in app_py.pids():
                rss = f"{peak_rss_gb(pid):.2f}"
                process_rows.append(["python app.py", role, f"{app_py.start_s:.2f}", rss,
                                     load_text()])  # fmt: skip
        finally:
            app_py.stop()
        rows = [
            [path, str(len(calls)), " · ".join(f"{c.wave}:{c.label}" for c in calls),
             f"{max(c.browser_ms for c in calls):.0f}"]
            for path, calls in recorded.items()
        ]  # fmt: skip
        print_table(
            "What one From change fires, recorded in Chromium on python app.py (wave:callback)",
            ["page", "posts", "callbacks", "slowest post in the browser ms (one cold sample)"],
            rows,
        )

        settings = [("gunicorn", "per-process cache", args.repeats, None)]
        if args.redis:
            settings.append(("gunicorn-redis", "shared Redis cache", args.redis_repeats, work))
        for name, cache, repeats, redis_work in settings:
            with contextlib.ExitStack() as stack:
                extra = {"REDIS_URL": stack.enter_context(redis_server(redis_work))} if redis_work else {}
                instance = work / f"{name}-instance"
                instance.mkdir()
                env = app_env(data_dir, instance, **extra)
                add_user(env, USER, "admin", password=PASSWORD)
                server = start_server(name, data_dir, env, work, args.workers)
                stack.callback(server.stop)
                updates, hits, loads = replay_pages(
                    server, instance, recorded, combinations, repeats, args.warm_repeats
                )
                report_updates(f"gunicorn -w {args.workers}, {cache}", updates, hits, loads)
                for role, pid in server.pids():
                    rss = f"{peak_rss_gb(pid):.2f}"
                    start = f"{server.start_s:.2f}"
                    process_rows.append(
                        [f"gunicorn -w {args.workers} ({cache})", role, start, rss, load_text()]
                    )
        report_processes(process_rows)
        if not args.skip_kpi:
            compare_kpis(data_dir, args.kpi_from, args.kpi_to, args.kpi_runs, args.kpi_warmups)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nwhole run: {time.perf_counter() - began:.0f} s; {load_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
