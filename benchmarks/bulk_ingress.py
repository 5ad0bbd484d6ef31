"""Benchmark the ingress module against a real local livekit-server, and print a markdown table.

    .venv/bin/python benchmarks/bulk_ingress.py [--count 500] [--reps 3] [--uri-reps N] [--tasks 20]
                                                [--port 22880] [--redis-port 22380] [--dir /tmp/bench-lk]
                                                [--only-overhead]

Measures, each ``--reps`` times (the table shows medians):

- first converge: ``--count`` ingresses declared in ONE task (bulk form, benchmarks/bulk_ingress.yml);
- no-op rerun of the same task;
- the same declaration without the collection: an ansible.builtin.uri loop, one CreateIngress call per
  item, with a token minted beforehand (benchmarks/uri_ingress.yml);
- per-task time of single-object tasks (room_info, ingress_info, ingress) against ansible.builtin.ping,
  ``--tasks`` tasks of each in one playbook;
- import cost of ``livekit.api`` against this collection's module_utils (median of 5 fresh interpreters).

Starts its own livekit-server + redis-server with scripts/local_livekit.py and stops them at the end.
Task times come from the ansible.posix.json callback; wall times are the whole ansible-playbook run.
"""

import argparse
import datetime
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TARGETS = {"noop": 3.0, "noop_vs_uri": 20.0, "task_vs_ping": 1.5}


def sync_collection():
    env = dict(os.environ)
    env.setdefault("RTCSTACK_COLLECTIONS", os.path.expanduser("~/.cache/rtcstack/coll-bench"))
    out = subprocess.check_output([os.path.join(ROOT, "scripts", "sync-collection.sh")], env=env, text=True)
    return out.strip()


def server(action, args):
    argv = [sys.executable, os.path.join(ROOT, "scripts", "local_livekit.py"), action, "--dir", args.dir]
    if action == "start":
        argv += ["--port", str(args.port), "--redis-port", str(args.redis_port)]
        info = json.loads(subprocess.check_output(argv, text=True).strip().splitlines()[-1])
        with open(info["key_file"]) as f:
            info["api_key"], info["api_secret"] = f.read().strip().split(": ", 1)
        return info
    subprocess.call(argv)
    return None


def parse_time(text):
    text = text.rstrip("Z")
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in text else "%Y-%m-%dT%H:%M:%S"
    return datetime.datetime.strptime(text, fmt)


class Runner:
    def __init__(self, collections, workdir, extra_vars):
        self.workdir = workdir
        self.vars_file = os.path.join(workdir, "vars.json")
        fd = os.open(self.vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(extra_vars, f)
        self.env = dict((k, v) for k, v in os.environ.items() if not k.startswith("LIVEKIT_"))
        self.env.update(ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                        ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_RETRY_FILES_ENABLED="0",
                        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])

    def play(self, playbook):
        """Run ``playbook``; return (wall seconds, [(task name, seconds, changed)], CPU seconds of all processes)."""
        argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
                "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@" + self.vars_file, playbook]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        proc = subprocess.Popen(argv, env=self.env, cwd=self.workdir, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = proc.communicate()
        except BaseException:
            # Interrupted: stop ansible-playbook and its workers too.
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if proc.returncode != 0:
            raise SystemExit("%s failed:\n%s\n%s" % (playbook, stdout[-4000:], stderr[-2000:]))
        report = json.loads(stdout[stdout.index("{"):])
        tasks = []
        for play in report["plays"]:
            for task in play["tasks"]:
                duration = task["task"]["duration"]
                seconds = (parse_time(duration["end"]) - parse_time(duration["start"])).total_seconds()
                changed = any(h.get("changed") for h in task["hosts"].values())
                tasks.append((task["task"]["name"], seconds, changed))
        return wall, tasks, cpu


def api(info):
    sys.path.insert(0, os.environ["BENCH_COLLECTIONS"])
    from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitClient

    return LiveKitClient(info["url"], info["api_key"], info["api_secret"], timeout=60)


def delete_all_ingresses(client):
    for item in client.call("Ingress", "ListIngress", {}).get("items") or []:
        client.call("Ingress", "DeleteIngress", {"ingress_id": item["ingress_id"]})


KINDS = [
    ("ping", "ansible.builtin.ping: {}"),
    ("room_info", "rtcstack.livekit.room_info:\n        names: [bench-room]"),
    ("ingress_info", "rtcstack.livekit.ingress_info:\n        names: [bench-one]"),
    ("ingress", "rtcstack.livekit.ingress:\n        name: bench-one\n        input_type: rtmp\n"
                "        participant_identity: bench"),
]


def overhead_playbook(path, tasks, kinds):
    """``tasks`` tasks of each of ``kinds`` (interleaved, so that a change of machine load hits every
    kind alike), after one warm-up task when there are several kinds."""
    lines = ["---", "- name: Per-task time of single-object tasks", "  hosts: localhost", "  gather_facts: false",
             "  module_defaults:", "    group/rtcstack.livekit.livekit:", '      url: "{{ lk_url }}"',
             '      api_key: "{{ lk_api_key }}"', '      api_secret: "{{ lk_api_secret }}"', "  tasks:"]
    if len(kinds) > 1:
        lines += ["    - name: warm-up", "      ansible.builtin.ping: {}"]
    for i in range(tasks):
        for kind, body in kinds:
            lines += ["    - name: %s %d" % (kind, i), "      " + body]
    if not tasks:
        lines[-1] += " []"
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def import_costs(collections, runs=5):
    """Median seconds of ``python -c 'import X'`` minus a bare interpreter, for each X."""
    env = dict(os.environ, PYTHONPATH=collections)
    statements = [
        ("bare interpreter", "pass"),
        ("ansible.module_utils.basic (every module imports it)", "import ansible.module_utils.basic"),
        ("our module_utils (_resource, _api, _token; includes basic)",
         "import ansible_collections.rtcstack.livekit.plugins.module_utils._resource"),
        ("livekit.protocol.ingress", "import livekit.protocol.ingress"),
        ("livekit.api", "import livekit.api"),
    ]
    results = []
    for label, statement in statements:
        samples = []
        for _run in range(runs):
            start = time.monotonic()
            subprocess.check_call([sys.executable, "-c", statement], env=env)
            samples.append(time.monotonic() - start)
        results.append((label, statement, statistics.median(samples)))
    return results


def fmt(seconds):
    return "%.2f s" % seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--uri-reps", type=int, help="repetitions of the slow uri loop (default: --reps)")
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--port", type=int, default=22880)
    parser.add_argument("--redis-port", type=int, default=22380)
    parser.add_argument("--dir", default="/tmp/bench-lk")
    parser.add_argument("--only-overhead", action="store_true",
                        help="skip the 500-object runs; measure only per-task overhead and imports")
    args = parser.parse_args(argv)
    uri_reps = max(1, min(args.reps, args.uri_reps or args.reps))
    # A SIGTERM ends the run through the finally below, which stops the servers.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))

    load_before = os.getloadavg()[0]
    collections = sync_collection()
    os.environ["BENCH_COLLECTIONS"] = collections
    info = server("start", args)
    try:
        client = api(info)
        from ansible_collections.rtcstack.livekit.plugins.module_utils._token import mint_token

        token = mint_token(info["api_key"], info["api_secret"], {"video": {"ingressAdmin": True}}, ttl=6 * 3600)
        ingresses = [dict(name="bench-%04d" % i, input_type="rtmp", room_name="bench-room-%d" % (i % 50),
                          participant_identity="encoder-%04d" % i) for i in range(args.count)]
        workdir = tempfile.mkdtemp(prefix="bench-ingress-")
        runner = Runner(collections, workdir, dict(lk_url=info["url"], lk_api_key=info["api_key"],
                                                   lk_api_secret=info["api_secret"], lk_token=token,
                                                   bench_ingresses=ingresses))
        bulk, uri = os.path.join(HERE, "bulk_ingress.yml"), os.path.join(HERE, "uri_ingress.yml")
        baseline = os.path.join(workdir, "ping.yml")
        with open(baseline, "w") as f:
            f.write("---\n- name: Baseline\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
                    "    - name: One ping\n      ansible.builtin.ping: {}\n")
        rows = {"first": [], "noop": [], "uri": [], "ping": []}
        for rep in range(0 if args.only_overhead else args.reps):
            wall, tasks, cpu = runner.play(baseline)
            rows["ping"].append((wall, tasks[0][1]))
            delete_all_ingresses(client)
            wall, tasks, cpu = runner.play(bulk)
            assert tasks[0][2], "the first converge reported no change"
            rows["first"].append((wall, tasks[0][1]))
            wall, tasks, cpu = runner.play(bulk)
            assert not tasks[0][2], "the no-op rerun reported a change"
            rows["noop"].append((wall, tasks[0][1]))
            start = time.monotonic()
            client.call("Ingress", "ListIngress", {})
            list_call = time.monotonic() - start
            delete_all_ingresses(client)
            if rep < uri_reps:
                wall, tasks, cpu = runner.play(uri)
                rows["uri"].append((wall, tasks[0][1]))
                made = len(client.call("Ingress", "ListIngress", {}).get("items") or [])
                assert made == args.count, "the uri loop made %d ingresses" % made
            print("rep %d: first %.2f s, no-op %.2f s, uri loop %s (wall); ListIngress of %d: %.3f s; load %.1f"
                  % (rep + 1, rows["first"][-1][0], rows["noop"][-1][0],
                     fmt(rows["uri"][-1][0]) if rep < uri_reps else "skipped", args.count, list_call,
                     os.getloadavg()[0]), file=sys.stderr)
        delete_all_ingresses(client)

        # One room and one ingress for the single-object tasks.
        client.call("RoomService", "CreateRoom", {"name": "bench-room", "empty_timeout": 3600})
        client.call("Ingress", "CreateIngress", {"name": "bench-one", "input_type": "RTMP_INPUT",
                                                 "participant_identity": "bench"})
        mixed = overhead_playbook(os.path.join(workdir, "overhead.yml"), args.tasks, KINDS)
        # CPU time is less sensitive than wall time to other work on the machine: one playbook per
        # kind, minus a playbook without tasks, divided by the number of tasks.
        empty = overhead_playbook(os.path.join(workdir, "empty.yml"), 0, KINDS[:1])
        alone = dict((kind, overhead_playbook(os.path.join(workdir, "only-%s.yml" % kind), args.tasks,
                                              [(kind, body)])) for kind, body in KINDS)
        kinds = [kind for kind, body in KINDS]
        per_task = dict((k, []) for k in kinds)
        per_task_cpu = dict((k, []) for k in kinds)
        walls = []
        for _rep in range(args.reps):
            wall, tasks, cpu = runner.play(mixed)
            walls.append(wall)
            for name, seconds, changed in tasks[1:]:
                assert not changed, "%s changed something" % name
                per_task[name.rsplit(" ", 1)[0]].append(seconds)
            base = runner.play(empty)[2]
            for kind in kinds:
                per_task_cpu[kind].append((runner.play(alone[kind])[2] - base) / args.tasks)
        delete_all_ingresses(client)
        imports = import_costs(collections)
    finally:
        server("stop", args)

    ping = statistics.median(per_task["ping"])
    if not args.only_overhead:
        med = dict((k, (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))) for k, v in rows.items())
        noop_wall, uri_wall = med["noop"][0], med["uri"][0]
        print("\n%d ingresses, %d repetitions (uri loop: %d), medians; wall = whole ansible-playbook run, task = the task alone "
              "(ansible.posix.json callback). livekit-server and redis on loopback, %d CPUs, load average %.1f "
              "before and %.1f after.\n" % (args.count, args.reps, uri_reps, os.cpu_count(), load_before, os.getloadavg()[0]))
        print("| measurement | wall | task | target | met |")
        print("| --- | --- | --- | --- | --- |")
        print("| baseline: ansible-playbook with one ping task, same vars | %s | %s | | |" % (
            fmt(med["ping"][0]), fmt(med["ping"][1])))
        print("| first converge, one bulk task | %s | %s | | |" % (fmt(med["first"][0]), fmt(med["first"][1])))
        print("| no-op rerun, one bulk task | %s | %s | <= %.0f s | %s |" % (
            fmt(noop_wall), fmt(med["noop"][1]), TARGETS["noop"], "yes" if noop_wall <= TARGETS["noop"] else "NO"))
        print("| ansible.builtin.uri loop, one CreateIngress per item | %s | %s | | |" % (
            fmt(uri_wall), fmt(med["uri"][1])))
        ratio = uri_wall / noop_wall
        print("| uri loop / no-op rerun | %.1fx | %.1fx | >= %.0fx | %s |" % (
            ratio, med["uri"][1] / med["noop"][1], TARGETS["noop_vs_uri"],
            "yes" if ratio >= TARGETS["noop_vs_uri"] else "NO"))
        print("| uri loop / first converge | %.1fx | %.1fx | | |" % (
            uri_wall / med["first"][0], med["uri"][1] / med["first"][1]))
    print("\nPer task: wall from %d interleaved tasks of each in one playbook x %d runs (median of %d tasks; "
          "whole playbook median %s); CPU (user+sys of ansible-playbook, its workers and the modules) from "
          "a playbook of %d tasks of one kind minus a playbook without tasks, / %d, median of %d runs.\n"
          % (args.tasks, args.reps, args.tasks * args.reps, fmt(statistics.median(walls)), args.tasks,
             args.tasks, args.reps))
    ping_cpu = statistics.median(per_task_cpu["ping"])
    print("| task | wall per task | vs ping | CPU per task | vs ping | target | met (wall) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for kind in kinds:
        value, cpu = statistics.median(per_task[kind]), statistics.median(per_task_cpu[kind])
        if kind == "ping":
            print("| ansible.builtin.ping | %.3f s | 1.00x | %.3f s | 1.00x | | |" % (value, cpu))
            continue
        ok = value / ping <= TARGETS["task_vs_ping"]
        print("| rtcstack.livekit.%s (one object) | %.3f s | %.2fx | %.3f s | %.2fx | <= %.1fx | %s |" % (
            kind, value, value / ping, cpu, cpu / ping_cpu, TARGETS["task_vs_ping"], "yes" if ok else "NO"))
    print("\nImport cost, `python -c 'import X'`, median of 5 fresh interpreters, bare interpreter subtracted.\n")
    print("| import | seconds | over bare interpreter |")
    print("| --- | --- | --- |")
    bare = imports[0][2]
    for label, _statement, seconds in imports:
        print("| %s | %.3f s | %+.3f s |" % (label, seconds, seconds - bare))


if __name__ == "__main__":
    sys.exit(main())
