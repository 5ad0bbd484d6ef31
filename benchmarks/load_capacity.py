"""Capacity of the lab: climb a ladder of load test plans until one fails the gates, print markdown tables.

    .venv/bin/python benchmarks/load_capacity.py [--steps 10,20,30,40,60,80] [--duration 60]
                                                 [--join-rate 10] [--resolution 640x360] [--lead 10]
                                                 [--pause 15] [--all-steps] [--total-timeout 3600] [--out FILE.md]
                                                 [--port 24880] [--redis-port 24380] [--prometheus-port 24883]
                                                 [--dir /tmp/bench-capacity]

Starts its own livekit-server (Prometheus metrics on) + redis-server on loopback with
scripts/local_livekit.py, then for each step (participants N, ascending):

- the plan is shaped like the operators' load-test table: one room per 250 participants, 10 % of the
  participants publish (at least one per room), half of them (rounded up) with video (camera +
  microphone), the others audio only, everybody else subscribes; VP8 640x360 with simulcast;
- TWO generator processes run it at once: ansible-playbook benchmarks/load_capacity.yml on the two
  local hosts of benchmarks/load_capacity.inventory.yml (rtcstack.livekit.load_test with
  hosts_total=2, host_index 0/1 and one start_at a few seconds ahead, then
  rtcstack.livekit.load_test_report on their result files);
- the step passes when both generators completed, nobody failed to join, packet loss is 0 % and the
  subscribe p99 is under 400 ms. Climbing stops after the first step that does not pass (with
  ``--all-steps`` every step runs, so each gate's breaking point shows).

Output (stdout and ``--out``, default benchmarks/results/load-capacity-<time>.md, git-ignored): the
steps in the operators' column layout, and per step the generators' CPU and peak RSS (from the
module's ``generator`` block), the SFU's CPU (Prometheus ``process_cpu_seconds_total``), the start
skew of the two generators and the load average before / after. The JSON and HTML report of every
step is kept next to ``--out``.

Bounded: every step has a hard timeout (lead + participants / join rate + duration + 180 s) and the
whole ladder ``--total-timeout``. Traffic goes only to 127.0.0.1. The API secret stays in the key file
and reaches ansible only through a vars file of mode 0600 (never a command line); it is never printed.
"""

import argparse
import datetime
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PLAYBOOK = os.path.join(HERE, "load_capacity.yml")
INVENTORY = os.path.join(HERE, "load_capacity.inventory.yml")
GENERATORS = ("gen0", "gen1")  # the hosts of the inventory, in order
DEFAULT_STEPS = "10,20,30,40,60,80"
ROOM_SIZE = 250          # the operators' rooms hold 250 participants
PUBLISHER_SHARE = 0.10   # 10 % of the participants publish, half of those with video
MAX_SUBSCRIBE_P99_MS = 400.0
STEP_SLACK = 180.0       # per step on top of lead + joins + duration: ansible start, leave, report
MIB = 1048576.0

_running = []  # the ansible-playbook process of the current step, for the signal handler


# ---- plans -----------------------------------------------------------------------------------------


def plan_for(participants, duration, join_rate, resolution):
    rooms = max(1, int(math.ceil(participants / float(ROOM_SIZE))))
    publishers = max(rooms, int(participants * PUBLISHER_SHARE + 0.5))
    video = int(math.ceil(publishers / 2.0))
    return dict(rooms=rooms, participants=participants, publishers=publishers, video_publishers=video,
                audio_publishers=publishers - video, resolution=resolution, join_rate=join_rate, duration=duration)


def step_bound(plan, lead):
    return lead + plan["participants"] / float(plan["join_rate"]) + plan["duration"] + STEP_SLACK


def parse_steps(text):
    try:
        steps = sorted(set(int(x) for x in text.split(",") if x.strip()))
    except ValueError:
        raise SystemExit("--steps takes participant counts separated by commas, e.g. 10,20,30") from None
    if not steps or steps[0] < 2 * len(GENERATORS):
        raise SystemExit("--steps: every step needs at least %d participants (two on each of the %d generators)"
                         % (2 * len(GENERATORS), len(GENERATORS)))
    return steps


# ---- the server ------------------------------------------------------------------------------------


def sync_collection():
    env = dict(os.environ)
    env.setdefault("RTCSTACK_COLLECTIONS", os.path.expanduser("~/.cache/rtcstack/coll-capacity"))
    return subprocess.check_output([os.path.join(ROOT, "scripts", "sync-collection.sh")], env=env, text=True).strip()


def server(action, args):
    argv = [sys.executable, os.path.join(ROOT, "scripts", "local_livekit.py"), action, "--dir", args.dir]
    if action == "start":
        argv += ["--port", str(args.port), "--redis-port", str(args.redis_port),
                 "--prometheus-port", str(args.prometheus_port),
                 # Without it livekit-server gives the clients public STUN servers (its built-in default).
                 "--stun-server", "127.0.0.1:3478"]
        info = json.loads(subprocess.check_output(argv, text=True).strip().splitlines()[-1])
        with open(info["key_file"]) as f:
            info["api_key"], info["api_secret"] = f.read().strip().split(": ", 1)
        return info
    subprocess.call(argv, stdout=sys.stderr)
    return None


def versions():
    out = {}
    with open(os.path.join(ROOT, "scripts", "versions.env")) as f:
        for line in f:
            if line.startswith("LIVEKIT_SERVER_VERSION="):
                out["server"] = line.split("=", 1)[1].strip()
    try:
        from importlib.metadata import version

        out["sdk"] = version("livekit")
    except Exception:
        out["sdk"] = "?"
    return out


# ---- machine ---------------------------------------------------------------------------------------


def cpu_times():
    """(busy, total) jiffies of the whole machine from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def busy_pct(before, after):
    if not before or not after or after[1] <= before[1]:
        return None
    return 100.0 * (after[0] - before[0]) / (after[1] - before[1])


def memory_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1048576.0
    except OSError:
        pass
    return None


# ---- one step --------------------------------------------------------------------------------------


class Secrets:
    """Every text the script keeps or prints passes through here first."""

    def __init__(self, secret):
        self.secret = secret
        self.found = []

    def clean(self, text, where):
        if self.secret and self.secret in text:
            self.found.append(where)
            text = text.replace(self.secret, "<redacted>")
        return text


def kill_group(proc, grace=10.0):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_step(k, plan, info, args, collections, workdir, artifacts, secrets, timeout):
    name = "capacity-%d" % plan["participants"]
    step_dir = os.path.join(artifacts, "step-%02d-%d" % (k, plan["participants"]))
    os.makedirs(step_dir, exist_ok=True)
    vars_file = os.path.join(workdir, "vars-%d.json" % k)
    fd = os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(dict(cap_url=info["url"], cap_api_key=info["api_key"], cap_api_secret=info["api_secret"],
                       cap_plan=plan, cap_prefix="cap%d-%d-%d" % (os.getpid(), k, plan["participants"]),
                       cap_lead=args.lead, cap_metrics_url=info.get("metrics_url"), cap_step_dir=step_dir,
                       cap_name=name, ansible_python_interpreter=sys.executable), f)
    env = dict((key, v) for key, v in os.environ.items() if not key.startswith("LIVEKIT_"))
    env.update(ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_FORKS="4",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", INVENTORY,
            "-e", "@" + vars_file, PLAYBOOK]
    step = dict(k=k, plan=plan, name=name, dir=step_dir, problems=[], load_before=os.getloadavg()[0])
    cpu_before = cpu_times()
    started = time.monotonic()
    log_path = os.path.join(step_dir, "ansible.log")
    with open(log_path + ".raw", "w") as log:
        proc = subprocess.Popen(argv, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        _running.append(proc)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            rc = None
            step["problems"].append("the step did not end within its bound of %.0f s and was stopped" % timeout)
        finally:
            _running.remove(proc)
            os.unlink(vars_file)
    step.update(wall_s=time.monotonic() - started, load_after=os.getloadavg()[0],
                machine_busy_pct=busy_pct(cpu_before, cpu_times()), rc=rc)
    with open(log_path + ".raw") as f:
        text = secrets.clean(f.read(), log_path)
    with open(log_path, "w") as f:
        f.write(text)
    os.unlink(log_path + ".raw")
    if rc not in (0, None):
        step["problems"].append("ansible-playbook exited with %d (see %s)" % (rc, log_path))

    # The generators' results (written also when a generator failed) and the merged report.
    results = {}
    for host in GENERATORS:
        path = os.path.join(step_dir, "%s-result.json" % host)
        try:
            with open(path) as f:
                results[host] = json.loads(secrets.clean(f.read(), path))
        except (OSError, ValueError):
            step["problems"].append("%s wrote no result" % host)
    report = os.path.join(step_dir, "report", name + ".json")
    try:
        with open(report) as f:
            step["summary"] = json.loads(secrets.clean(f.read(), report))["summary"]
    except (OSError, ValueError, KeyError):
        step["summary"] = None
        step["problems"].append("no report was written (see %s)" % log_path)
    if os.path.exists(report.replace(".json", ".html")):
        with open(report.replace(".json", ".html")) as f:
            secrets.clean(f.read(), report.replace(".json", ".html"))
    step["results"] = results
    judge(step)
    return step


def judge(step):
    """Append why the step fails the gates to step['problems'] (empty: it passed)."""
    s, problems = step["summary"], step["problems"]
    for host, r in sorted(step["results"].items()):
        if not r.get("complete"):
            problems.append("%s did not complete" % host)
    if s is None:
        return
    p = s["participants"]
    if p["failed"] or p["connected"] < p["planned"]:
        problems.append("%d of %d participants joined (%d failed)" % (p["connected"], p["planned"], p["failed"]))
    if s["loss_pct"] is None:
        problems.append("no packet was received")
    elif s["loss_pct"] > 0:
        problems.append("loss %.3f%% (%d packets)" % (s["loss_pct"], s["packets_lost"]))
    p99 = s["subscribe_ms"]["p99"]
    if p99 is None:
        problems.append("no subscribe time was measured")
    elif p99 >= MAX_SUBSCRIBE_P99_MS:
        problems.append("subscribe p99 %.0f ms >= %.0f ms" % (p99, MAX_SUBSCRIBE_P99_MS))
    if s["tracks"]["subscribed"] < s["tracks"]["expected_subscriptions"]:
        problems.append("%d of %d tracks subscribed" % (s["tracks"]["subscribed"], s["tracks"]["expected_subscriptions"]))


def sfu_cpu(step):
    """Mean SFU CPU cores over the run (first to last sample between started_at and ended_at), and the
    largest between two consecutive samples (the report's max_cpu_cores)."""
    s = step["summary"]
    samples = []
    for r in step["results"].values():
        samples += [x for x in r.get("server_samples") or [] if x.get("cpu_seconds") is not None]
    samples.sort(key=lambda x: x["t"])
    if s:
        inside = [x for x in samples if s["window"]["start"] - 1 <= x["t"] <= s["window"]["end"] + 1]
        samples = inside if len(inside) >= 2 else samples
    mean = None
    if len(samples) >= 2 and samples[-1]["t"] > samples[0]["t"]:
        mean = (samples[-1]["cpu_seconds"] - samples[0]["cpu_seconds"]) / (samples[-1]["t"] - samples[0]["t"])
    peak = max([v.get("max_cpu_cores") or 0 for v in (s or {}).get("servers", {}).values()] or [0]) or None
    return mean, peak


# ---- tables ----------------------------------------------------------------------------------------


def duration_text(seconds):
    return "%d min" % (seconds // 60) if seconds % 60 == 0 else "%g s" % seconds


def ms(value):
    return "n/a" if value is None else "%d ms" % round(value)


def operators_row(step):
    plan, s = step["plan"], step["summary"]
    rooms = plan["rooms"]
    rooms_text = ("%d x %d" % (rooms, plan["participants"] // rooms)) if rooms > 1 else "1"
    rooms_text += " (%d generators)" % len(GENERATORS)
    if s is None:
        result = "no result: %s" % "; ".join(step["problems"])
    else:
        sub = s["subscribe_ms"]
        result = "loss %s, subscribe p50 %s, p90 %s, p99 %s" % (
            "n/a" if s["loss_pct"] is None else "%.2f%%" % s["loss_pct"], ms(sub["p50"]), ms(sub["p90"]), ms(sub["p99"]))
        if s["participants"]["failed"]:
            result += ", %d failed joins" % s["participants"]["failed"]
    return [step["name"], str(plan["participants"]), "%d (%d)" % (plan["publishers"], plan["video_publishers"]),
            rooms_text, duration_text(plan["duration"]), result]


def usage_row(step):
    s = step["summary"] or {}
    u = s.get("generator_usage") or {}
    mean, peak = sfu_cpu(step)
    skews = ", ".join("%s %+.3f s" % (h, r["skew_s"]) for h, r in sorted(step["results"].items())
                      if r.get("skew_s") is not None)
    spread = (s.get("start_skew") or {}).get("started_at_spread_s")
    bitrate = (s.get("bitrate_kbps") or {}).get("total")
    return [
        str(step["plan"]["participants"]),
        "pass" if not step["problems"] else "FAIL: " + "; ".join(step["problems"]),
        "n/a" if u.get("cpu_cores") is None else "%.2f" % u["cpu_cores"],
        "n/a" if u.get("cpu_cores_per_participant") is None else "%.4f" % u["cpu_cores_per_participant"],
        "n/a" if u.get("rss_bytes") is None else "%.0f MiB" % (u["rss_bytes"] / MIB),
        "n/a" if u.get("rss_bytes_per_participant") is None else "%.1f MiB" % (u["rss_bytes_per_participant"] / MIB),
        "%s / %s" % ("n/a" if mean is None else "%.2f" % mean, "n/a" if peak is None else "%.2f" % peak),
        "n/a" if bitrate is None else "%.1f" % (bitrate / 1000.0),
        "%s (%s)" % ("n/a" if spread is None else "%.3f s" % spread, skews or "n/a"),
        "%.1f / %.1f" % (step["load_before"], step["load_after"]),
        "n/a" if step["machine_busy_pct"] is None else "%.0f %%" % step["machine_busy_pct"],
    ]


USAGE_HEADERS = ["participants", "gates", "generators' CPU (cores, both)", "CPU per participant (core-s/s)",
                 "generators' peak RSS (sum)", "peak RSS per participant", "SFU CPU cores (mean / max)",
                 "received Mbit/s (all)", "start skew: spread (skew_s per generator)", "load average before / after",
                 "machine CPU busy"]


def table(headers, rows):
    lines = ["| %s |" % " | ".join(headers), "| %s |" % " | ".join("---" for _h in headers)]
    lines += ["| %s |" % " | ".join(cell.replace("|", "/") for cell in row) for row in rows]
    return "\n".join(lines)


def marginal(steps):
    """Added generator cores and RSS per added participant between the smallest and the largest step run."""
    measured = [s for s in steps if s["summary"] and s["summary"]["generator_usage"]["cpu_cores"] is not None
                and s["summary"]["generator_usage"]["rss_bytes"] is not None]
    if len(measured) < 2:
        return None
    a, b = measured[0], measured[-1]
    dn = b["plan"]["participants"] - a["plan"]["participants"]
    ua, ub = a["summary"]["generator_usage"], b["summary"]["generator_usage"]
    return (a["plan"]["participants"], b["plan"]["participants"], (ub["cpu_cores"] - ua["cpu_cores"]) / dn,
            (ub["rss_bytes"] - ua["rss_bytes"]) / dn / MIB)


def render(steps, args, meta, not_run):
    plan0 = steps[0]["plan"] if steps else plan_for(10, args.duration, args.join_rate, args.resolution)
    passed = [s for s in steps if not s["problems"]]
    machine = ("Machine: %d CPUs, %s GiB; livekit-server %s (Prometheus on) + redis-server on loopback, livekit SDK "
               "%s; both generators on the same machine as the server. Load average %.1f before the ladder, %.1f after."
               % (os.cpu_count() or 0, "?" if meta["mem"] is None else "%.0f" % meta["mem"], meta["versions"]["server"],
                  meta["versions"]["sdk"], meta["load_before"], meta["load_after"]))
    shape = ("Plans: one room per %d participants, %d %% publishers (half with video: camera + microphone; the others "
             "a microphone), the rest subscribers; VP8 %s with simulcast, join rate %g/s (both generators together), "
             "%s steady state after the last join. Two generators (ansible hosts gen0, gen1: hosts_total=2), one "
             "start_at %g s ahead. Gates: 0 %% loss, subscribe p99 < %.0f ms, no failed join, both generators complete."
             % (ROOM_SIZE, PUBLISHER_SHARE * 100, plan0["resolution"], plan0["join_rate"],
                duration_text(plan0["duration"]), args.lead, MAX_SUBSCRIBE_P99_MS))
    largest = "%d participants" % passed[-1]["plan"]["participants"] if passed else "none"
    # the same without the subscribe-time gate: everybody joined and subscribed, nothing lost
    clean = [s for s in steps if not [p for p in s["problems"] if not p.startswith("subscribe p99")]]
    largest_clean = "%d participants" % clean[-1]["plan"]["participants"] if clean else "none"
    out = ["# Load generator capacity of the lab (benchmarks/load_capacity.py)", "",
           "Run of %s: `%s`" % (meta["date"], meta["command"]), "", machine, "", shape, "",
           table(["scenario", "participants", "publishers (video)", "rooms", "duration", "result"],
                 [operators_row(s) for s in steps]), "",
           "Largest step within the gates: %s. Largest step with every join, every subscription and 0 %% loss "
           "(the subscribe-time gate left out): %s." % (largest, largest_clean), ""]
    if not_run:
        out += ["Not run: %s." % ", ".join(not_run), ""]
    out += ["Per step: generators' CPU = the sum over both generators of the module's `generator.cpu_seconds` / "
            "`wall_seconds` (from start_at to the leave); per participant = that / participants. Peak RSS = the "
            "sum of both generators' `max_rss_bytes` (each includes Python and the SDK, ~the fixed part). "
            "SFU CPU from `process_cpu_seconds_total` (mean over the run / largest between two 5 s samples). "
            "Start skew: latest - earliest `started_at`, and each `skew_s`. Machine CPU busy: /proc/stat over "
            "the step, everything on the machine included.", "",
            table(USAGE_HEADERS, [usage_row(s) for s in steps]), ""]
    m = marginal(steps)
    if m:
        out += ["From %d to %d participants the generators used %.4f more cores and %.2f MiB more RSS per "
                "added participant." % m, ""]
    if meta["secret_found"]:
        out += ["WARNING: the API secret appeared in %s (redacted there)." % ", ".join(meta["secret_found"]), ""]
    out += ["Reports (JSON + HTML per step): `%s`" % meta["artifacts"], ""]
    return "\n".join(out)


# ---- main ------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default=DEFAULT_STEPS, help="participants per step (default %s)" % DEFAULT_STEPS)
    parser.add_argument("--duration", type=float, default=60.0, help="steady state seconds per step (default 60)")
    parser.add_argument("--join-rate", type=float, default=10.0, help="joins per second, both generators (default 10)")
    parser.add_argument("--resolution", default="640x360")
    parser.add_argument("--lead", type=float, default=10.0, help="seconds between agreeing on start_at and it")
    parser.add_argument("--pause", type=float, default=15.0, help="seconds between two steps")
    parser.add_argument("--all-steps", action="store_true",
                        help="run every step, also after one that fails the gates (to see where each gate breaks)")
    parser.add_argument("--total-timeout", type=float, default=3600.0, help="bound of the whole ladder, s")
    parser.add_argument("--out", help="markdown file (default benchmarks/results/load-capacity-<time>.md)")
    parser.add_argument("--port", type=int, default=24880)
    parser.add_argument("--redis-port", type=int, default=24380)
    parser.add_argument("--prometheus-port", type=int, default=24883)
    parser.add_argument("--dir", default="/tmp/bench-capacity")
    args = parser.parse_args(argv)
    steps_n = parse_steps(args.steps)
    if args.duration <= 0 or args.join_rate <= 0 or args.lead < 3:
        raise SystemExit("--duration and --join-rate must be above 0, --lead at least 3 s")
    plans = [plan_for(n, args.duration, args.join_rate, args.resolution) for n in steps_n]
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.abspath(args.out or os.path.join(HERE, "results", "load-capacity-%s.md" % stamp))
    artifacts = (out[:-3] if out.endswith(".md") else out) + "-steps"
    os.makedirs(artifacts, exist_ok=True)
    deadline = time.monotonic() + args.total_timeout
    expected = sum(step_bound(p, args.lead) - STEP_SLACK + 30 + args.pause for p in plans)
    print("ladder %s, %g s each: about %.0f min if every step passes, at most %.0f min"
          % (",".join(map(str, steps_n)), args.duration, expected / 60.0, args.total_timeout / 60.0), file=sys.stderr)
    # A SIGTERM ends the run through the finally below: the playbook is stopped, then the servers.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))

    meta = dict(date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), load_before=os.getloadavg()[0],
                mem=memory_gib(), versions=versions(),
                artifacts=os.path.relpath(artifacts, ROOT) if artifacts.startswith(ROOT + os.sep) else artifacts,
                command=" ".join([".venv/bin/python", os.path.relpath(os.path.abspath(__file__), ROOT)] + sys.argv[1:]
                                 if argv is None else argv))
    collections = sync_collection()
    workdir = tempfile.mkdtemp(prefix="bench-capacity-")  # mode 0700: the vars files (0600) live here
    info = server("start", args)
    secrets = Secrets(info["api_secret"])
    steps, not_run = [], []
    try:
        for k, plan in enumerate(plans):
            remaining = deadline - time.monotonic()
            bound = step_bound(plan, args.lead)
            if remaining < bound:
                not_run = ["%d participants (the total bound of %.0f s would be passed)"
                           % (p["participants"], args.total_timeout) for p in plans[k:]]
                break
            if k:
                time.sleep(args.pause)
            print("step %d: %d participants, %d publishers (%d video), %d room(s), bound %.0f s; load %.1f"
                  % (k + 1, plan["participants"], plan["publishers"], plan["video_publishers"], plan["rooms"], bound,
                     os.getloadavg()[0]), file=sys.stderr)
            step = run_step(k + 1, plan, info, args, collections, workdir, artifacts, secrets, bound)
            steps.append(step)
            print("  %s in %.0f s: %s" % ("passed" if not step["problems"] else "FAILED", step["wall_s"],
                                          operators_row(step)[-1]), file=sys.stderr)
            if step["problems"]:
                print("  " + "; ".join(step["problems"]), file=sys.stderr)
                if not args.all_steps:
                    break
    finally:
        for proc in list(_running):
            kill_group(proc)
        server("stop", args)
        shutil.rmtree(workdir, ignore_errors=True)
    meta.update(load_after=os.getloadavg()[0], secret_found=secrets.found)
    text = render(steps, args, meta, not_run)
    with open(out, "w") as f:
        f.write(text)
    print(text)
    print("written to %s" % out, file=sys.stderr)
    return 0 if steps else 1


if __name__ == "__main__":
    sys.exit(main())
