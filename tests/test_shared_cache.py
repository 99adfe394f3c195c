"""The shared cache (issue 13): two gunicorn servers with one Redis serve each other's page views.

Real parts only: Debian's ``redis-server`` on a free loopback port with nothing written to disk,
the app under gunicorn as a deployment runs it (twice, on two ports, one REDIS_URL), and page
updates posted to ``/_dash-update-component`` as the browser's renderer sends them, with the
page's own component ids and initial values. Each server's users are its own (``*-on-a``,
``*-on-b``), so an audit row says which server answered it.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, _free_port, add_user, app_env, sign_in, stop, wait_until_serving
from tests.dash_requests import body_for, find, id_text, parse_id, split_outputs

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
STATE = "filter-state"
# The accounts: each signs in on one server only. Users of one role and force limit share results.
ACCOUNTS = {
    "gold-on-a": ("gold", None),
    "gold-on-b": ("gold", None),
    "wessex-on-a": ("officer", "Wessex"),
    "wessex-on-b": ("officer", "Wessex"),
}


def filter_state(period_from: str, period_to: str, force: str = "Dorset") -> dict:
    return {
        "period_from": period_from,
        "period_to": period_to,
        "force": force,
        "lpa": None,
        "local_authority": None,
    }


class RedisServer:
    """Debian's redis-server on a free loopback port, saving nothing; :meth:`stop` and :meth:`start` again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        with (self.folder / "redis.log").open("a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(Exception):
                if self.client().ping():
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                stop(self.process)
                raise RuntimeError(f"redis-server did not start:\n{(self.folder / 'redis.log').read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@dataclass
class Server:
    """One gunicorn server of the app: its address and its log."""

    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def gunicorn_servers(data_dir: Path, env: dict, folder: Path, count: int = 2, workers: int = 1):
    """``count`` gunicorn servers on ``data_dir``, each on its own port, as the README deploys it."""
    processes, servers = [], []
    try:
        for n in range(count):
            port = _free_port()
            log_path = folder / f"gunicorn-{n}.log"
            command = [sys.executable, "-m", "gunicorn", "--chdir", str(REPO_ROOT), "--no-control-socket"]
            command += ["-w", str(workers), "-b", f"127.0.0.1:{port}", "app:server"]
            with log_path.open("w") as log:
                processes.append(
                    subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
                )
            servers.append(Server(f"http://127.0.0.1:{port}", log_path))
        for server, process in zip(servers, processes, strict=True):
            wait_until_serving(server.url, process, server.log_path)
        yield servers
    finally:
        for process in processes:
            stop(process)


# --------------------------------------------------------------------------- the browser's requests


def _walk_components(node, found: dict[str, dict]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk_components(item, found)
    elif isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict) and "id" in props:
            found[id_text(props["id"])] = props
        for value in (props if isinstance(props, dict) else node).values():
            _walk_components(value, found)


def page_components(session, base_url: str, dependencies: list[dict], path: str) -> dict[str, dict]:
    """Every component with an id on the page at ``path`` (id as Dash writes it → its props), as the
    router serves the page."""
    body = body_for(find(dependencies, "_pages_content.children"), {0: path, 1: ""}, changed=[0])
    response = session.post(base_url + "/_dash-update-component", json=body, timeout=60)
    assert response.status_code == 200, response.text[:300]
    found: dict[str, dict] = {}
    _walk_components(response.json()["response"], found)
    return found


def _matches(pattern: dict, component_id: str | dict) -> bool:
    if not isinstance(component_id, dict) or set(component_id) != set(pattern):
        return False
    return all(isinstance(v, list) or component_id[k] == v for k, v in pattern.items())


def _is_pattern(component: str | dict) -> bool:
    return isinstance(component, dict) and any(isinstance(v, list) for v in component.values())


def page_update_bodies(dependencies: list[dict], components: dict[str, dict], state: dict) -> list[dict]:
    """The bodies the renderer posts when the filter state changes on a page: one per callback that
    reads the state and writes the page's components, ids and initial values taken from the page."""
    ids = [parse_id(text) for text in components]
    bodies = []
    for dependency in dependencies:
        if not any(spec["id"] == STATE for spec in dependency["inputs"]) or "MATCH" in dependency["output"]:
            continue
        multi, outputs = split_outputs(dependency["output"])
        if any(not _is_pattern(c) and id_text(c) not in components for c, _prop in outputs):
            continue  # writes components of another page or of the app shell
        if not any(not _is_pattern(c) or any(_matches(c, i) for i in ids) for c, _prop in outputs):
            continue  # its patterns match nothing here: another page's

        def items(component, prop, with_value: bool):
            def one(concrete):
                item = {"id": concrete, "property": prop}
                if with_value:
                    item["value"] = (
                        state if concrete == STATE else components.get(id_text(concrete), {}).get(prop)
                    )
                return item

            if _is_pattern(component):
                return [one(c) for c in ids if _matches(component, c)]
            return one(component)

        out_items = [items(c, prop, False) for c, prop in outputs]
        bodies.append(
            {
                "output": dependency["output"],
                "outputs": out_items if multi else out_items[0],
                "inputs": [items(parse_id(s["id"]), s["property"], True) for s in dependency["inputs"]],
                "state": [items(parse_id(s["id"]), s["property"], True) for s in dependency.get("state", [])],
                "changedPropIds": [f"{STATE}.data"],
            }
        )
    return bodies


def post(session, base_url: str, body: dict, path: str = "/"):
    return session.post(
        base_url + "/_dash-update-component", json=body, headers={"Referer": base_url + path}, timeout=120
    )


def audit_rows(instance: Path, user: str) -> list[dict]:
    """The user's audit rows, oldest first, each with its detail parsed."""
    import sqlite3

    with sqlite3.connect(instance / "audit.sqlite") as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("select * from audit where user = ? order by id", (user,))]
    for row in rows:
        row["detail"] = json.loads(row["detail"]) if row["detail"] else {}
    return rows


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def two_forces(tmp_path_factory) -> Path:
    """Dorset and Wessex (the generator's first peer), Apr 2020 – Mar 2023: a Wessex-limited user's data."""
    from data.generate import generate

    out = tmp_path_factory.mktemp("shared-cache-data") / "extracts"
    generate(out, forces=2)
    return out


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(two_forces, redis_server, tmp_path_factory):
    """Two gunicorn servers (A, B) of the app with one REDIS_URL, one instance folder (accounts, audit)."""
    folder = tmp_path_factory.mktemp("shared-cache-servers")
    instance = folder / "instance"
    env = app_env(two_forces, instance, REDIS_URL=redis_server.url)
    for name, (role, force) in ACCOUNTS.items():
        add_user(env, name, role, force)
    with gunicorn_servers(two_forces, env, folder) as (server_a, server_b):
        sessions = {
            name: sign_in(server_a.url if name.endswith("-on-a") else server_b.url, name) for name in ACCOUNTS
        }
        dependencies = sessions["gold-on-a"].get(server_a.url + "/_dash-dependencies", timeout=30).json()
        yield {
            "a": server_a,
            "b": server_b,
            "instance": instance,
            "sessions": sessions,
            "dependencies": dependencies,
        }


def _bodies(cluster, path: str, state: dict) -> list[dict]:
    components = page_components(
        cluster["sessions"]["gold-on-a"], cluster["a"].url, cluster["dependencies"], path
    )
    bodies = page_update_bodies(cluster["dependencies"], components, state)
    assert bodies, f"no callback of {path} reads the filter state"
    return bodies


def _one(cluster, path: str, state: dict, output_contains: str) -> dict:
    matches = [b for b in _bodies(cluster, path, state) if output_contains in b["output"]]
    assert len(matches) == 1, [b["output"][:80] for b in _bodies(cluster, path, state)]
    return matches[0]


def _last_row(cluster, user: str, action: str) -> dict:
    rows = [r for r in audit_rows(cluster["instance"], user) if r["action"] == action]
    assert rows, f"no {action!r} row for {user}"
    return rows[-1]


# --------------------------------------------------------------------------- tests


def test_a_view_computed_by_one_server_is_served_from_redis_by_the_other(cluster, redis_server):
    state = filter_state("2021-04", "2022-03")
    overview = _one(cluster, "/", state, "overview-headline")
    keys_before = set(redis_server.client().keys("*"))
    computed = post(cluster["sessions"]["gold-on-a"], cluster["a"].url, overview)
    assert computed.status_code == 200, computed.text[:300]
    assert "cache" not in _last_row(cluster, "gold-on-a", "view overview")["detail"]
    new_keys = set(redis_server.client().keys("*")) - keys_before
    assert len(new_keys) == 1, "server A kept its result in Redis"

    served = post(cluster["sessions"]["gold-on-b"], cluster["b"].url, overview)
    assert served.status_code == 200
    assert served.json() == computed.json(), "the other server answers exactly what the first computed"
    row = _last_row(cluster, "gold-on-b", "view overview")
    assert row["detail"].get("cache") == "hit" and row["outcome"] == "done"
    assert row["filters"] == "?from=2021-04&to=2022-03&force=Dorset", (
        "the audit row is as complete as a miss's"
    )
    assert "cache='hit'" in cluster["b"].log()
    assert set(redis_server.client().keys("*")) - keys_before == new_keys, "B computed nothing of its own"
    # Keys are hashes: no force, month or figure can be read from Redis's key list.
    assert all(re.fullmatch(rb"cpd-view:[0-9a-f]{64}", key) for key in redis_server.client().keys("*"))


def test_an_area_page_full_update_is_served_by_the_other_server(cluster):
    bodies = _bodies(cluster, "/detention", filter_state("2021-10", "2022-09"))
    first = [post(cluster["sessions"]["gold-on-a"], cluster["a"].url, b, "/detention") for b in bodies]
    assert all(r.status_code in (200, 204) for r in first), [r.text[:200] for r in first]
    again = [post(cluster["sessions"]["gold-on-b"], cluster["b"].url, b, "/detention") for b in bodies]
    assert [r.status_code for r in again] == [r.status_code for r in first]
    for body, one, other in zip(bodies, first, again, strict=True):
        assert one.content == other.content, body["output"][:80]
    # The cards, trends and breakdowns; the page's own distributions; the peers.
    for action in ("view detention", "view detention distributions", "compare forces detention"):
        assert _last_row(cluster, "gold-on-b", action)["detail"].get("cache") == "hit", action


def test_another_forces_user_never_gets_the_first_users_result(cluster):
    state = filter_state("2021-07", "2022-06")  # names Dorset; a Wessex-limited user's server makes it Wessex
    overview = _one(cluster, "/", state, "overview-headline")
    dorset = post(cluster["sessions"]["gold-on-a"], cluster["a"].url, overview)
    wessex = post(cluster["sessions"]["wessex-on-b"], cluster["b"].url, overview)
    assert dorset.status_code == wessex.status_code == 200
    row = _last_row(cluster, "wessex-on-b", "view overview")
    assert "cache" not in row["detail"], "computed for Wessex, not served from Dorset's entry"
    assert row["force"] == "Wessex" and "force=Wessex" in row["filters"]
    assert wessex.json() != dorset.json()
    # Another user of the same scope (an officer limited to Wessex) shares Wessex's result.
    again = post(cluster["sessions"]["wessex-on-a"], cluster["a"].url, overview)
    assert again.json() == wessex.json()
    assert _last_row(cluster, "wessex-on-a", "view overview")["detail"].get("cache") == "hit"


def test_records_exports_and_the_audit_log_are_never_cached():
    import dash._callback

    import app  # noqa: F401  (registers every page's callbacks)
    from ui.callbacks import cached_by_default

    cached = {}
    for output, entry in dash._callback.GLOBAL_CALLBACK_MAP.items():
        wrapper = getattr(entry.get("callback"), "__wrapped__", None)
        if hasattr(wrapper, "is_cached"):
            cached[output] = wrapper.is_cached
    never = (
        "records-modal",  # an area's records
        "repeat-cohort",
        "language-table",
        "data-quality-records",
        "data-quality-history",  # the ingest log, refusals included
        "audit-results",
        "audit-chain",
        "audit-download",
        "records-purpose-status",
        "url.search",  # the filter bar and the drill-down's address
        '"type":"area-focus"}.data',
        '"type":"chart-table"}.children',
    )
    always = ("overview-headline", "data-quality-filter-note", '"type":"area-cards"', '"type":"peer-section"')
    for output, is_cached in cached.items():
        if any(word in output for word in never):
            assert not is_cached, output
        if any(word in output for word in always):
            assert is_cached, output
    assert sum(cached.values()) >= 2 + 2 * 6, "the overview, data quality, and every area's view and peers"
    assert not cached_by_default("view records detention", "officer", records=True)
    assert not cached_by_default("view audit log", "admin", records=False)
    assert not cached_by_default("export audit log", "admin", records=False)


def test_a_new_data_version_is_computed_again(cluster, two_forces):
    state = filter_state("2022-01", "2022-12")
    overview = _one(cluster, "/", state, "overview-headline")
    before = post(cluster["sessions"]["gold-on-a"], cluster["a"].url, overview)
    assert post(cluster["sessions"]["gold-on-b"], cluster["b"].url, overview).json() == before.json()
    from data.generate import generate

    generate(two_forces, forces=2, seed=7, overwrite=True)  # a new extract: other figures
    time.sleep(1.5)  # each server looks for changed data once a second at most
    after = post(cluster["sessions"]["gold-on-b"], cluster["b"].url, overview)
    assert after.status_code == 200
    assert "cache" not in _last_row(cluster, "gold-on-b", "view overview")["detail"], "recomputed"
    assert after.json() != before.json()
    # …and the new result is shared in turn.
    assert post(cluster["sessions"]["gold-on-a"], cluster["a"].url, overview).json() == after.json()
    assert _last_row(cluster, "gold-on-a", "view overview")["detail"].get("cache") == "hit"


def test_an_entry_that_is_not_json_is_never_unpickled(cluster, redis_server, tmp_path):
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    overview = _one(cluster, "/", filter_state("2021-04", "2022-03"), "overview-headline")
    assert post(cluster["sessions"]["gold-on-a"], cluster["a"].url, overview).status_code == 200
    client = redis_server.client()
    for key in client.keys("cpd-view:*"):
        client.set(key, b"!" + pickle.dumps(Payload()))  # what cachelib's own serializer would unpickle
    response = post(cluster["sessions"]["gold-on-b"], cluster["b"].url, overview)
    assert response.status_code == 200 and "overview-headline" in response.text
    assert not marker.exists()
    assert "is not a cached result" in cluster["b"].log()
    assert "cache" not in _last_row(cluster, "gold-on-b", "view overview")["detail"]


def test_with_redis_down_the_app_still_answers(cluster, redis_server):
    overview = _one(cluster, "/", filter_state("2020-10", "2021-09"), "overview-headline")
    redis_server.stop()
    try:
        response = post(cluster["sessions"]["gold-on-a"], cluster["a"].url, overview)
        assert response.status_code == 200 and "overview-headline" in response.text
        assert "Redis did not answer" in cluster["a"].log()
        row = _last_row(cluster, "gold-on-a", "view overview")
        assert row["outcome"] == "done" and "cache" not in row["detail"]
        # While Redis rests the app does not ask it again: one warning, not one per callback.
        assert post(cluster["sessions"]["gold-on-a"], cluster["a"].url, overview).status_code == 200
        assert cluster["a"].log().count("Redis did not answer") == 1
    finally:
        redis_server.start()


def test_without_redis_url_a_process_serves_repeats_from_its_own_cache(cluster, two_forces, tmp_path):
    env = {k: v for k, v in app_env(two_forces, cluster["instance"]).items() if k != "REDIS_URL"}
    overview = _one(cluster, "/", filter_state("2021-03", "2022-02"), "overview-headline")
    with gunicorn_servers(two_forces, env, tmp_path, count=1) as (alone,):
        session = sign_in(alone.url, "gold-on-a")
        first, repeat = (post(session, alone.url, overview) for _ in range(2))
        assert first.status_code == repeat.status_code == 200 and first.content == repeat.content
        assert "this process only (no REDIS_URL)" in alone.log()
    assert _last_row(cluster, "gold-on-a", "view overview")["detail"].get("cache") == "hit"
