"""Capacity of the lab: climb a ladder of load test plans until one fails the gates, print markdown tables.

    .venv/bin/python benchmarks/load_capacity.py [--shape operator|audio] [--engine go|webrtc] [--nodes 1|2]
                                                 [--rooms R] [--steps N,N,...] [--duration 30] [--join-rate 10]
                                                 [--resolution 640x360] [--lead 10] [--pause 15] [--all-steps]
                                                 [--max-host-busy-pct 90] [--pin SFU_CORES:GENERATOR_CORES]
                                                 [--node-cpu-quota PERCENT]
                                                 [--total-timeout 3600] [--out FILE.md]
                                                 [--port 24880] [--redis-port 24380] [--prometheus-port 24883]
                                                 [--dir /tmp/bench-capacity]

Starts its own livekit-server (Prometheus metrics on) + redis-server on loopback with
scripts/local_livekit.py (with ``--nodes 2`` a second livekit-server sharing that Redis: ports
``--port`` + 10 and ``--prometheus-port`` + 1, node_selector sort_by rooms), then for each step N
(ascending) runs a plan of the ``--shape``:

| shape | a step N means | rooms | publishers | subscribers |
| --- | --- | --- | --- | --- |
| operator (default) | N participants in all | one per 250 (at least ``--rooms``) | 10 % of N, half with video | the rest |
| audio | N subscribers per room | ``--rooms`` (default 1) | 10 per room, audio only | N per room |

(operator: at least one publisher per room; half rounded up publish camera + microphone, the others a
microphone.)

So an audio step N has ``--rooms`` x (10 + N) participants. Video is VP8 640x360 with simulcast.

- TWO generator processes run it at once: ansible-playbook benchmarks/load_capacity.yml on the two
  local hosts of benchmarks/load_capacity.inventory.yml (rtcstack.livekit.load_test with ``--engine``
  (default go: scripts/build-loadgen.sh builds or finds rtcstack-loadgen), hosts_total=2, host_index
  0/1 and one start_at a few seconds ahead, then rtcstack.livekit.load_test_report on their result
  files). With ``--nodes 2`` gen0 connects to node 1 and gen1 to node 2, and the rooms are created
  first, 3 s apart, so that livekit puts each on the node with fewer rooms; which node hosted each
  room is read from the nodes' logs ("starting RTC session") and printed. Use ``--rooms 2`` (or
  more) so there is something to spread.
- the step passes when both generators completed, nobody failed to join, packet loss is 0 % and the
  subscribe p99 is under 400 ms.
- both CPU shares are stated per step: the generators' cores (sum of the module's ``generator``
  blocks) and the SFU's (``process_cpu_seconds_total`` over the run, summed over the nodes). A step
  where the generators took more CPU than the SFU, or a generator host was busier than
  ``--max-host-busy-pct`` (the report's verdict "invalid: generator saturated"), is marked
  "generator-bound / invalid": it says nothing about the SFU, neither pass nor fail. Here the
  generators and the SFU share one machine, so the host figure includes the SFU's own CPU.
- ``--pin 0:1`` gives the SFU side (livekit-server(s) and Redis) and the generators cores of their own
  (sched_setaffinity, inherited by everything each starts): the SFU's capacity is then that of its cores,
  and a step is invalid only when the generators' cores were busier than ``--max-host-busy-pct``.
- ``--node-cpu-quota 50`` gives each node half a core (a CPU cgroup per node, created for the run and
  removed after it): with ``--pin 0:1`` and ``--nodes 1`` or ``2``, one or two half-core nodes on core 0,
  so that capacity against nodes can be measured on a small machine.
- per step the nodes' logs are read for LiveKit's "could not get packet from bucket" and "too much ext
  packets" warnings: packets a track's forwarding loop lost before writing them to the subscribers
  (it fell further behind than the receive buffer holds), lost for every subscriber of that track.
- climbing stops after the first step that fails the gates or whose host was saturated (with
  ``--all-steps`` every step runs, so each gate's breaking point shows); a step that passed the gates
  but was generator-bound does not stop it.

Output (stdout and ``--out``, default benchmarks/results/load-capacity-<time>.md, git-ignored): the
steps in the operators' column layout, and per step the generators' and the SFU's CPU, which took
more, the generators' peak RSS, the start skew of the two generators, the load average before /
after and the machine's CPU busy; with two nodes the room placement. The JSON and HTML report of
every step is kept next to ``--out``.

Bounded: every step has a hard timeout (lead + participants / join rate + duration + 180 s), the room
creation a few seconds per room, and the whole ladder ``--total-timeout``. Traffic goes only to
127.0.0.1. The API secret stays in the key file and reaches ansible only through a vars file of mode
0600 (never a command line); it is never printed.
"""

import argparse
import datetime
import json
import math
import os
import re
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
DEFAULT_STEPS = {"operator": "20,50,100,150,200,300", "audio": "50,100,200,300,400,600"}
ROOM_SIZE = 250          # the operators' rooms hold 250 participants
PUBLISHER_SHARE = 0.10   # 10 % of the participants publish, half of those with video
AUDIO_PUBLISHERS = 10    # per room of the audio shape
MAX_SUBSCRIBE_P99_MS = 400.0
STEP_SLACK = 180.0       # per step on top of lead + joins + duration: ansible start, leave, report
ROOM_GAP = 3.0           # s between two rooms created on two nodes: livekit's node stats refresh every 2 s
NODE_PORT_STEP = 10      # node 2 listens on --port + 10 (RTC on the next two), Prometheus on --prometheus-port + 1
MIB = 1048576.0

_running = []  # the ansible-playbook process of the current step, for the signal handler


# ---- plans -----------------------------------------------------------------------------------------


def plan_for(shape, n, rooms, duration, join_rate, resolution):
    """The plan of step ``n`` of ``shape`` (see the module docstring's table)."""
    if shape == "audio":
        rooms = rooms or 1
        plan = dict(rooms=rooms, participants=rooms * (AUDIO_PUBLISHERS + n), publishers=rooms * AUDIO_PUBLISHERS,
                    video_publishers=0, audio_publishers=rooms * AUDIO_PUBLISHERS)
    else:
        rooms = max(rooms or 1, int(math.ceil(n / float(ROOM_SIZE))))
        publishers = max(rooms, int(n * PUBLISHER_SHARE + 0.5))
        video = int(math.ceil(publishers / 2.0))
        plan = dict(rooms=rooms, participants=n, publishers=publishers, video_publishers=video,
                    audio_publishers=publishers - video)
    plan.update(step=n, shape=shape, subscribers=plan["participants"] - plan["publishers"], resolution=resolution,
                join_rate=join_rate, duration=duration)
    return plan


def step_bound(plan, lead):
    return lead + plan["participants"] / float(plan["join_rate"]) + plan["duration"] + STEP_SLACK


def parse_steps(text, shape, rooms):
    try:
        steps = sorted(set(int(x) for x in text.split(",") if x.strip()))
    except ValueError:
        raise SystemExit("--steps takes numbers separated by commas, e.g. 10,20,30") from None
    least = 1 if shape == "audio" else max(2 * len(GENERATORS), 2 * (rooms or 1))
    if not steps or steps[0] < least:
        raise SystemExit("--steps: with --shape %s every step needs at least %d (%s)" % (
            shape, least, "a subscriber per room" if shape == "audio"
            else "two participants on each generator and in each room"))
    return steps


# ---- the servers -----------------------------------------------------------------------------------


def sync_collection():
    env = dict(os.environ)
    env.setdefault("RTCSTACK_COLLECTIONS", os.path.expanduser("~/.cache/rtcstack/coll-capacity"))
    return subprocess.check_output([os.path.join(ROOT, "scripts", "sync-collection.sh")], env=env, text=True).strip()


def node_dirs(args):
    return [args.dir] + [os.path.join(args.dir, "node%d" % (i + 1)) for i in range(1, args.nodes)]


def start_servers(args):
    """Start the node(s); {urls, metrics_urls, dirs, node_ids, api_key, api_secret, key_file}."""
    script = os.path.join(ROOT, "scripts", "local_livekit.py")
    info = dict(urls=[], metrics_urls=[], dirs=node_dirs(args), node_ids=[])
    for i, d in enumerate(info["dirs"]):
        argv = [sys.executable, script, "start", "--dir", d, "--port", str(args.port + NODE_PORT_STEP * i),
                "--prometheus-port", str(args.prometheus_port + i),
                # Without it livekit-server gives the clients public STUN servers (its built-in default).
                "--stun-server", "127.0.0.1:3478"]
        if args.nodes > 1:
            argv += ["--node-sort-by", "rooms"]
        if i == 0:
            argv += ["--redis-port", str(args.redis_port)]
        else:  # the same cluster: node 1's Redis and key
            os.makedirs(d, exist_ok=True)
            shutil.copy2(info["key_file"], os.path.join(d, "keys.yaml"))
            argv += ["--redis-address", "127.0.0.1:%d" % args.redis_port, "--keep-keys"]
        node = json.loads(subprocess.check_output(argv, text=True, preexec_fn=node_preexec(args, i))
                          .strip().splitlines()[-1])
        if i == 0:
            info["key_file"] = node["key_file"]
            with open(node["key_file"]) as f:
                info["api_key"], info["api_secret"] = f.read().strip().split(": ", 1)
        info["urls"].append(node["url"])
        info["metrics_urls"].append(node["metrics_url"])
        info["node_ids"].append(node_id(d))
    return info


def stop_servers(args):
    # the nodes first, node 1 (with Redis) last
    for d in reversed(node_dirs(args)):
        subprocess.call([sys.executable, os.path.join(ROOT, "scripts", "local_livekit.py"), "stop", "--dir", d],
                        stdout=sys.stderr)


def node_id(d):
    with open(os.path.join(d, "server.log")) as f:
        found = re.search(r'"nodeID": "([A-Za-z0-9_]+)"', f.read())
    return found.group(1) if found else "?"


def room_nodes(info, rooms):
    """{room: node number (1-based) whose log started an RTC session in it, '?' when none did}."""
    placed = dict((room, "?") for room in rooms)
    for i, d in enumerate(info["dirs"]):
        try:
            with open(os.path.join(d, "server.log")) as f:
                text = f.read()
        except OSError:
            continue
        for room in rooms:
            if re.search(r'starting RTC session\t\{"room": "%s"' % re.escape(room), text):
                placed[room] = str(i + 1) if placed[room] == "?" else placed[room] + "+" + str(i + 1)
    return placed


def create_rooms(info, names, empty_timeout, collections):
    """Create the step's rooms ROOM_GAP s apart (two nodes: livekit puts each on the node with fewer rooms)."""
    if collections not in sys.path:
        sys.path.insert(0, collections)
    from ansible_collections.rtcstack.livekit.plugins.module_utils._api import LiveKitClient

    client = LiveKitClient(info["urls"][0], info["api_key"], info["api_secret"])
    for k, name in enumerate(names):
        if k:
            time.sleep(ROOM_GAP)
        client.call("RoomService", "CreateRoom", {"name": name, "empty_timeout": int(empty_timeout),
                                                  "departure_timeout": 10})


def loadgen_binary():
    """scripts/build-loadgen.sh: builds rtcstack-loadgen once (a second run only checks); the binary's path."""
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "build-loadgen.sh")], capture_output=True, text=True,
                         timeout=1800, check=False)
    if out.returncode:
        raise SystemExit("scripts/build-loadgen.sh failed: %s" % (out.stderr.strip()[-2000:] or out.stdout[-2000:]))
    return out.stdout.strip().splitlines()[-1]


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

# The machine's CPU from /proc/stat, measured the way load_test measures its host (one copy of the code).
sys.path.insert(0, os.path.join(ROOT, "plugins", "module_utils", "_loadtest"))
from metrics import busy_pct, cpu_jiffies, host_cpu_times  # noqa: E402


def core_times(cpus, path="/proc/stat"):
    """(busy, total) jiffies summed over the cores ``cpus`` (metrics.cpu_jiffies of their lines); None if unreadable."""
    busy = total = 0
    try:
        with open(path) as f:
            for line in f:
                name = line.split(" ", 1)[0]
                if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                    jiffies = cpu_jiffies(line)
                    if jiffies:
                        busy, total = busy + jiffies[0], total + jiffies[1]
    except (OSError, ValueError):
        return None
    return (busy, total) if total else None


def parse_pin(text):
    """--pin SFU:GENERATORS, e.g. 0:1 or 0-1:2,3 -> ({sfu cores}, {generator cores})."""
    def cores_of(part):
        out = set()
        for item in part.split(","):
            low, _sep, high = item.partition("-")
            out.update(range(int(low), int(high or low) + 1))
        return out

    try:
        sfu, gen = (cores_of(x) for x in text.split(":"))
    except ValueError:
        raise SystemExit("--pin takes SFU_CORES:GENERATOR_CORES, e.g. 0:1") from None
    usable = os.sched_getaffinity(0)
    if not sfu or not gen or sfu & gen or not (sfu | gen) <= usable:
        raise SystemExit("--pin: two disjoint, non-empty sets of the cores this process may use (%s)"
                         % ",".join(map(str, sorted(usable))))
    return sfu, gen


def node_preexec(args, i):
    """The preexec_fn of node i: its cores (--pin) and its CPU quota (--node-cpu-quota)."""
    steps = [f for f in (pinned(args.pin[0] if args.pin else None), args.quota.enter(i) if args.quota else None) if f]
    return (lambda: [f() for f in steps]) if steps else None


def pinned(cpus):
    """A preexec_fn: the child (and everything it starts) runs on ``cpus`` only."""
    return None if not cpus else (lambda: os.sched_setaffinity(0, cpus))


class NodeQuota:
    """A CPU quota per livekit-server node (--node-cpu-quota): one cgroup per node (v1 cpu controller or v2
    cpu.max), the node started inside it (and its Redis, for node 1); removed again at the end."""

    PERIOD_US = 100000

    def __init__(self, pct, nodes):
        self.pct, self.dirs = pct, []
        v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        base = "/sys/fs/cgroup" if v2 else "/sys/fs/cgroup/cpu"
        quota = int(self.PERIOD_US * pct / 100.0)
        try:
            for i in range(nodes):
                d = os.path.join(base, "rtcstack-capacity-%d-node%d" % (os.getpid(), i + 1))
                os.mkdir(d)
                self.dirs.append(d)
                if v2:
                    self._write(d, "cpu.max", "%d %d" % (quota, self.PERIOD_US))
                else:
                    self._write(d, "cpu.cfs_period_us", str(self.PERIOD_US))
                    self._write(d, "cpu.cfs_quota_us", str(quota))
        except OSError as e:
            self.remove()
            raise SystemExit("--node-cpu-quota needs a writable cgroup cpu controller (root; on cgroup v2 with "
                             "+cpu in /sys/fs/cgroup/cgroup.subtree_control): %s" % e) from None

    @staticmethod
    def _write(d, name, value):
        with open(os.path.join(d, name), "w") as f:
            f.write(value)

    def enter(self, i):
        """A preexec_fn: the child joins node i's cgroup (everything it starts stays there)."""
        d = self.dirs[i]
        return lambda: self._write(d, "cgroup.procs", str(os.getpid()))

    def remove(self):
        """After the nodes stopped: remove the cgroups (a cgroup with a process left in it stays, said on stderr)."""
        for d in reversed(self.dirs):
            try:
                os.rmdir(d)
            except OSError as e:
                print("could not remove the cgroup %s: %s" % (d, e), file=sys.stderr)
        self.dirs = []


def log_sizes(info):
    sizes = []
    for d in info["dirs"]:
        try:
            sizes.append(os.path.getsize(os.path.join(d, "server.log")))
        except OSError:
            sizes.append(0)
    return sizes


# LiveKit's receive buffer keeps the last packets of each published track in a bucket (70 for audio, 300
# for video at first, grown with the packet rate); the track's one forwarding loop reads from it and
# writes each packet to every subscriber. When that loop falls further behind than the bucket holds, the
# packets it has not read yet are overwritten: it logs "could not get packet from bucket" (every 20th
# time, with the running count) and the packet is lost for every subscriber of the track at once.
BUCKET_MISS = "could not get packet from bucket"
QUEUE_LONG = "too much ext packets"


def forwarder_drops(info, sizes_before):
    """What the nodes' logs say since ``sizes_before``: {room: {"dropped": the packets the forwarding loops of the
    room's tracks could no longer find (at least; up to 19 per track more are not logged), "tracks": how many
    tracks, "long_queues": "too much ext packets" warnings}}."""
    rooms = {}
    for d, start in zip(info["dirs"], sizes_before):
        try:
            with open(os.path.join(d, "server.log"), errors="replace") as f:
                f.seek(start)
                text = f.read()
        except OSError:
            continue
        counts = {}
        for line in text.splitlines():
            if BUCKET_MISS not in line and QUEUE_LONG not in line:
                continue
            try:
                fields = json.loads(line[line.index("{"):])
            except ValueError:
                continue
            room = rooms.setdefault(fields.get("room", "?"), dict(dropped=0, tracks=0, long_queues=0))
            if QUEUE_LONG in line:
                room["long_queues"] += 1
            else:
                key = (fields.get("room", "?"), fields.get("trackID"), fields.get("ssrc"))
                counts[key] = max(counts.get(key, 0), int(fields.get("count") or 0))
        for (room, _track, _ssrc), count in counts.items():
            rooms[room]["dropped"] += count
            rooms[room]["tracks"] += 1
    return rooms


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
    name = "capacity-%s-%d" % (plan["shape"], plan["step"])
    step_dir = os.path.join(artifacts, "step-%02d-%d" % (k, plan["step"]))
    os.makedirs(step_dir, exist_ok=True)
    vars_file = os.path.join(workdir, "vars-%d.json" % k)
    fd = os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    prefix = "cap%d-%d-%d" % (os.getpid(), k, plan["step"])
    rooms = ["%s-%d" % (prefix, i) for i in range(plan["rooms"])]
    with os.fdopen(fd, "w") as f:
        json.dump(dict(cap_urls=info["urls"], cap_api_key=info["api_key"], cap_api_secret=info["api_secret"],
                       cap_plan=plan, cap_prefix=prefix, cap_engine=args.engine, cap_loadgen=info.get("loadgen"),
                       cap_lead=args.lead, cap_metrics_urls=info["metrics_urls"], cap_step_dir=step_dir,
                       cap_max_host_busy_pct=100.0 if args.pin else args.max_host_busy_pct,
                       cap_name=name, ansible_python_interpreter=sys.executable), f)
    env = dict((key, v) for key, v in os.environ.items() if not key.startswith("LIVEKIT_"))
    env.update(ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_FORKS="4",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", INVENTORY,
            "-e", "@" + vars_file, PLAYBOOK]
    step = dict(k=k, plan=plan, name=name, dir=step_dir, problems=[], invalid=[], notes=[], load_before=os.getloadavg()[0],
                rooms=rooms)
    if len(info["urls"]) > 1:
        try:
            create_rooms(info, rooms, args.lead + 120, collections)
        except Exception as e:  # the step still runs: load_test creates the rooms it finds missing
            step["problems"].append("creating the rooms first failed: %s" % secrets.clean(str(e), "create_rooms"))
    cpu_before = host_cpu_times()
    pins = dict(zip(("sfu", "gen"), args.pin or ()))  # role -> its cores
    cores_before = dict((role, core_times(cpus)) for role, cpus in pins.items())
    logs_before = log_sizes(info)
    started = time.monotonic()
    log_path = os.path.join(step_dir, "ansible.log")
    with open(log_path + ".raw", "w") as log:
        proc = subprocess.Popen(argv, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=pinned(args.pin[1] if args.pin else None))
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
                machine_busy_pct=busy_pct(cpu_before, host_cpu_times()), rc=rc,
                core_busy_pct=dict((role, busy_pct(cores_before[role], core_times(cpus))) for role, cpus in pins.items()),
                forwarder=forwarder_drops(info, logs_before))
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
    step["room_nodes"] = room_nodes(info, rooms) if len(info["urls"]) > 1 else None
    judge(step, args.nodes, args.max_host_busy_pct if args.pin else None)
    return step


def judge(step, nodes=1, max_gen_core_busy=None):
    """Why the step fails the gates -> step['problems']; why it says nothing about the SFU -> step['invalid']
    (a generator host saturated, or the generators took more CPU than the SFU). Both empty: it passed."""
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
    verdict = s.get("verdict") or {}
    if verdict.get("result") == "invalid":
        step["invalid"].append(verdict["message"])
    if max_gen_core_busy is not None:  # pinned: each side has cores of its own; only a saturated generator side voids
        busy = (step.get("core_busy_pct") or {}).get("gen")
        if busy is not None and busy > max_gen_core_busy:
            step["invalid"].append("invalid: generator saturated: the generators' cores were %.0f %% busy (above %g %%)"
                                   % (busy, max_gen_core_busy))
    else:
        gen, sfu = generator_cores(step), sfu_cpu(step)[0]
        if gen is not None and sfu is not None and gen > sfu:
            step["invalid"].append("the generators took more CPU (%s cores) than the SFU (%s)" % (cores(gen), cores(sfu)))
    if nodes > 1 and step.get("room_nodes") and len(set(step["room_nodes"].values()) - {"?"}) < min(nodes, len(step["rooms"])):
        step["notes"].append("the rooms were not spread over the nodes: %s" % placement_text(step))


def status(step):
    if step["invalid"]:
        return "generator-bound / invalid"
    return "pass" if not step["problems"] else "FAIL"


def stops_the_ladder(step):
    """A failed gate or a saturated host ends the climb; a generator-bound step within the gates does not."""
    return bool(step["problems"]) or any(x.startswith("invalid: generator saturated") for x in step["invalid"])


def generator_cores(step):
    return ((step["summary"] or {}).get("generator_usage") or {}).get("cpu_cores")


def sfu_cpu(step):
    """SFU CPU cores over the run: (sum over the nodes of each node's mean, {url: its mean}, largest between two
    consecutive samples of any node). A node's mean is (last - first cpu_seconds) / (last - first t) of its
    samples between started_at and ended_at."""
    s = step["summary"]
    by_url = {}
    for r in step["results"].values():
        for x in r.get("server_samples") or []:
            if x.get("cpu_seconds") is not None and x.get("url"):
                by_url.setdefault(x["url"], {})[x["t"]] = x
    means = {}
    for url, samples in sorted(by_url.items()):
        samples = [samples[t] for t in sorted(samples)]
        if s:
            inside = [x for x in samples if s["window"]["start"] - 1 <= x["t"] <= s["window"]["end"] + 1]
            samples = inside if len(inside) >= 2 else samples
        if len(samples) >= 2 and samples[-1]["t"] > samples[0]["t"]:
            means[url] = (samples[-1]["cpu_seconds"] - samples[0]["cpu_seconds"]) / (samples[-1]["t"] - samples[0]["t"])
    peak = max([v.get("max_cpu_cores") or 0 for v in (s or {}).get("servers", {}).values()] or [0]) or None
    return (sum(means.values()) if means else None), means, peak


def placement_text(step):
    return ", ".join("%s: node %s" % (room.rsplit("-", 1)[1], node) for room, node in sorted(step["room_nodes"].items()))


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
        if step["invalid"]:
            result = "generator-bound / invalid: " + result
    return [step["name"], str(plan["participants"]), "%d (%d)" % (plan["publishers"], plan["video_publishers"]),
            rooms_text, duration_text(plan["duration"]), result]


def cores(value):
    return "n/a" if value is None else "%.2f" % value


def shares_text(step):
    """Both CPU shares and which took more."""
    gen, sfu = generator_cores(step), sfu_cpu(step)[0]
    if gen is None or sfu is None:
        return "n/a"
    return "generators %s, SFU %s: %s took more" % (cores(gen), cores(sfu), "the generators" if gen > sfu else "the SFU")


def host_busy_text(step):
    values = []
    for g in (step["summary"] or {}).get("generators") or []:
        busy = (g["usage"] or {}).get("host_busy_pct")
        values.append("%s %s %%" % (g["host"], "n/a" if busy is None else "%.0f" % busy))
    return ", ".join(values) or "n/a"


def usage_row(step):
    s = step["summary"] or {}
    u = s.get("generator_usage") or {}
    total, means, peak = sfu_cpu(step)
    skews = ", ".join("%s %+.3f s" % (h, r["skew_s"]) for h, r in sorted(step["results"].items())
                      if r.get("skew_s") is not None)
    spread = (s.get("start_skew") or {}).get("started_at_spread_s")
    bitrate = (s.get("bitrate_kbps") or {}).get("total")
    why = step["invalid"] + step["problems"]
    return [
        str(step["plan"]["step"]), str(step["plan"]["participants"]),
        status(step) + (": " + "; ".join(why) if why else ""),
        cores(u.get("cpu_cores")),
        "%s (%s) / %s" % (cores(total), " + ".join(cores(means[url]) for url in sorted(means)) or "n/a", cores(peak)),
        shares_text(step),
        host_busy_text(step),
        "n/a" if u.get("cpu_cores_per_participant") is None else "%.4f" % u["cpu_cores_per_participant"],
        "n/a" if u.get("rss_bytes") is None else "%.0f MiB" % (u["rss_bytes"] / MIB),
        "n/a" if bitrate is None else "%.1f" % (bitrate / 1000.0),
        "%s (%s)" % ("n/a" if spread is None else "%.3f s" % spread, skews or "n/a"),
        "%.1f / %.1f" % (step["load_before"], step["load_after"]),
        "n/a" if step["machine_busy_pct"] is None else "%.0f %%" % step["machine_busy_pct"],
        pinned_busy_text(step),
        forwarder_text(step),
    ]


def pinned_busy_text(step):
    busy = step.get("core_busy_pct") or {}
    if not busy:
        return "not pinned"
    return "SFU %s, generators %s" % tuple("n/a" if busy.get(role) is None else "%.0f %%" % busy[role]
                                           for role in ("sfu", "gen"))


def forwarder_text(step):
    """The packets the SFU's forwarding loops lost before the fan-out, and what that makes at the subscribers."""
    rooms = step.get("forwarder") or {}
    dropped = sum(r["dropped"] for r in rooms.values())
    long_queues = sum(r["long_queues"] for r in rooms.values())
    if not dropped and not long_queues:
        return "none"
    text = ">= %d packets of %d tracks (%d long-queue warnings)" % (
        dropped, sum(r["tracks"] for r in rooms.values()), long_queues)
    plan, tracks = step["plan"], (step["summary"] or {}).get("tracks") or {}
    if plan["shape"] == "audio" and tracks.get("subscribed"):
        # every subscriber of a room receives each of its tracks: the subscriptions per track are the fan-out
        per_track = tracks["subscribed"] / float(plan["audio_publishers"])
        text += "; x %.0f subscriptions per track = %d lost at the subscribers" % (per_track, dropped * per_track)
    return text


USAGE_HEADERS = ["step", "participants", "verdict", "generators' CPU (cores, both)",
                 "SFU CPU cores: mean (per node) / max", "CPU shares", "generator hosts busy",
                 "generators' CPU per participant", "generators' peak RSS (sum)", "received Mbit/s (all)",
                 "start skew: spread (skew_s per generator)", "load average before / after", "machine CPU busy",
                 "pinned cores busy", "SFU forwarder drops (from its log)"]


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


def plan_text(args, plan0):
    if args.shape == "audio":
        return ("Plans (shape audio): %d room(s), each with %d audio-only publishers and N subscribers (N = the step); "
                % (plan0["rooms"], AUDIO_PUBLISHERS))
    return ("Plans (shape operator): N participants (N = the step), one room per %d participants (at least %d), %d %% "
            "publishers (half with video: camera + microphone; the others a microphone), the rest subscribers; "
            % (ROOM_SIZE, args.rooms or 1, PUBLISHER_SHARE * 100))


def render(steps, args, meta, not_run):
    plan0 = steps[0]["plan"] if steps else plan_for(args.shape, 10, args.rooms, args.duration, args.join_rate,
                                                    args.resolution)
    valid = [s for s in steps if not s["problems"] and not s["invalid"]]
    nodes = ("one livekit-server" if args.nodes == 1 else
             "%d livekit-servers sharing one Redis (gen0 -> node 1, gen1 -> node 2; rooms created 3 s apart with "
             "node_selector sort_by rooms)" % args.nodes)
    machine = ("Machine: %d CPUs, %s GiB; %s %s (Prometheus on) + redis-server on loopback, engine %s, livekit SDK "
               "%s; both generators on the same machine as the server. Load average %.1f before the ladder, %.1f after."
               % (os.cpu_count() or 0, "?" if meta["mem"] is None else "%.0f" % meta["mem"], nodes,
                  meta["versions"]["server"], args.engine, meta["versions"]["sdk"], meta["load_before"],
                  meta["load_after"]))
    if args.pin:
        machine += " Pinned (--pin): livekit-server and Redis on core(s) %s, the generators on %s." % tuple(
            ",".join(map(str, sorted(cpus))) for cpus in args.pin)
    if args.node_cpu_quota:
        machine += " Each node limited to %g %% of one core (--node-cpu-quota)." % args.node_cpu_quota
    shape = (plan_text(args, plan0) + "VP8 %s with simulcast, join rate %g/s (both generators together), "
             "%s steady state after the last join. Two generators (ansible hosts gen0, gen1: hosts_total=2), one "
             "start_at %g s ahead. Gates: 0 %% loss, subscribe p99 < %.0f ms, no failed join, both generators complete. "
             "Generator-bound / invalid: the generators took more CPU than the SFU, or a generator host was busier "
             "than %g %% (the report's verdict; on this one machine that figure includes the SFU)."
             % (plan0["resolution"], plan0["join_rate"], duration_text(plan0["duration"]), args.lead,
                MAX_SUBSCRIBE_P99_MS, args.max_host_busy_pct))
    largest = "step %d (%d participants)" % (valid[-1]["plan"]["step"], valid[-1]["plan"]["participants"]) if valid else "none"
    # the same without the subscribe-time gate: everybody joined and subscribed, nothing lost
    clean = [s for s in steps if not [p for p in s["problems"] if not p.startswith("subscribe p99")]]
    largest_clean = "step %d" % clean[-1]["plan"]["step"] if clean else "none"
    broke = [s for s in steps if s["problems"]]
    broke_text = "none broke" if not broke else "step %d broke (%s), %s" % (
        broke[0]["plan"]["step"], "; ".join(broke[0]["problems"]),
        "generator-bound / invalid: %s" % "; ".join(broke[0]["invalid"]) if broke[0]["invalid"]
        else "SFU-bound (%s)" % shares_text(broke[0]))
    out = ["# Capacity of the lab (benchmarks/load_capacity.py)", "",
           "Run of %s: `%s`" % (meta["date"], meta["command"]), "", machine, "", shape, "",
           table(["scenario", "participants", "publishers (video)", "rooms", "duration", "result"],
                 [operators_row(s) for s in steps]), "",
           "Largest step within the gates and SFU-bound: %s. Largest step with every join, every subscription and "
           "0 %% loss (the subscribe-time gate left out): %s. The break: %s." % (largest, largest_clean, broke_text), ""]
    if not_run:
        out += ["Not run: %s." % ", ".join(not_run), ""]
    out += ["Per step: generators' CPU = the sum over both generators of the module's `generator.cpu_seconds` / "
            "`wall_seconds` (from start_at to the leave; the go engine's program included); per participant = that / "
            "participants. SFU CPU from `process_cpu_seconds_total`: each node's mean over the run, summed (and the "
            "largest between two 5 s samples of one node). Generator hosts busy: the module's "
            "`generator.host_busy_pct` (the whole machine, all cores). Peak RSS = the sum of both generators' "
            "`max_rss_bytes`. Start skew: latest - earliest `started_at`, and each `skew_s`. Machine CPU busy: "
            "/proc/stat over the step, everything on the machine included. Pinned cores busy (with --pin): the SFU's "
            "and the generators' cores, from /proc/stat. SFU forwarder drops: the packets a track's forwarding loop "
            "no longer found in LiveKit's receive buffer (\"%s\" in the nodes' logs, the highest running count per "
            "track, summed; logged every 20th, so up to 19 per track more) and its \"%s\" warnings: such a packet "
            "is lost for every subscriber of the track." % (BUCKET_MISS, QUEUE_LONG), "",
            table(USAGE_HEADERS, [usage_row(s) for s in steps]), ""]
    if args.nodes > 1:
        out += ["Rooms per node (from the nodes' logs, \"starting RTC session\"), per step:", ""]
        out += ["- step %d: %s%s" % (s["plan"]["step"], placement_text(s) if s.get("room_nodes") else "n/a",
                                     "; " + "; ".join(s["notes"]) if s["notes"] else "") for s in steps]
        out += [""]
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
    parser.add_argument("--shape", choices=sorted(DEFAULT_STEPS), default="operator",
                        help="operator: a step is participants in all; audio: subscribers per room (see above)")
    parser.add_argument("--engine", choices=["go", "webrtc"], default="go", help="the load_test engine (default go)")
    parser.add_argument("--nodes", type=int, choices=[1, 2], default=1, help="livekit-servers sharing one Redis")
    parser.add_argument("--rooms", type=int, help="rooms (audio: default 1; operator: at least this many)")
    parser.add_argument("--steps", help="the steps (default %s)" % "; ".join(
        "%s %s" % kv for kv in sorted(DEFAULT_STEPS.items())))
    parser.add_argument("--duration", type=float, default=30.0, help="steady state seconds per step (default 30)")
    parser.add_argument("--join-rate", type=float, default=10.0, help="joins per second, both generators (default 10)")
    parser.add_argument("--resolution", default="640x360")
    parser.add_argument("--lead", type=float, default=10.0, help="seconds between agreeing on start_at and it")
    parser.add_argument("--pause", type=float, default=15.0, help="seconds between two steps")
    parser.add_argument("--all-steps", action="store_true",
                        help="run every step, also after one that fails the gates (to see where each gate breaks)")
    parser.add_argument("--max-host-busy-pct", type=float, default=90.0,
                        help="a generator host busier than this makes the step invalid (default 90)")
    parser.add_argument("--pin", help="SFU_CORES:GENERATOR_CORES, e.g. 0:1: the server(s) and Redis run on the first "
                        "cores, the generators on the others; a step is then invalid only when the generators' cores "
                        "were busier than --max-host-busy-pct")
    parser.add_argument("--node-cpu-quota", type=float,
                        help="percent of one core each livekit-server node may use (a cgroup per node, removed at the "
                        "end; node 1's Redis shares node 1's): with --pin, nodes of a known size on the SFU cores")
    parser.add_argument("--total-timeout", type=float, default=3600.0, help="bound of the whole ladder, s")
    parser.add_argument("--out", help="markdown file (default benchmarks/results/load-capacity-<time>.md)")
    parser.add_argument("--port", type=int, default=24880)
    parser.add_argument("--redis-port", type=int, default=24380)
    parser.add_argument("--prometheus-port", type=int, default=24883)
    parser.add_argument("--dir", default="/tmp/bench-capacity")
    args = parser.parse_args(argv)
    if args.rooms is not None and args.rooms < 1:
        raise SystemExit("--rooms must be at least 1")
    steps_n = parse_steps(args.steps or DEFAULT_STEPS[args.shape], args.shape, args.rooms)
    if args.duration <= 0 or args.join_rate <= 0 or args.lead < 3:
        raise SystemExit("--duration and --join-rate must be above 0, --lead at least 3 s")
    if not 0 < args.max_host_busy_pct <= 100:
        raise SystemExit("--max-host-busy-pct must be above 0 and at most 100")
    args.pin = parse_pin(args.pin) if args.pin else None
    if args.node_cpu_quota is not None and not 1 <= args.node_cpu_quota <= 100 * (os.cpu_count() or 1):
        raise SystemExit("--node-cpu-quota is a percent of one core: at least 1")
    plans = [plan_for(args.shape, n, args.rooms, args.duration, args.join_rate, args.resolution) for n in steps_n]
    if args.nodes > 1 and plans[0]["rooms"] < args.nodes:
        print("note: %d room(s) cannot spread over %d nodes; give --rooms %d" % (plans[0]["rooms"], args.nodes, args.nodes),
              file=sys.stderr)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.abspath(args.out or os.path.join(HERE, "results", "load-capacity-%s.md" % stamp))
    artifacts = (out[:-3] if out.endswith(".md") else out) + "-steps"
    os.makedirs(artifacts, exist_ok=True)
    deadline = time.monotonic() + args.total_timeout
    expected = sum(step_bound(p, args.lead) - STEP_SLACK + 30 + args.pause + ROOM_GAP * p["rooms"] * (args.nodes > 1)
                   for p in plans)
    print("ladder %s (%s shape, %d node(s), engine %s), %g s each: about %.0f min if every step passes, at most %.0f min"
          % (",".join(map(str, steps_n)), args.shape, args.nodes, args.engine, args.duration, expected / 60.0,
             args.total_timeout / 60.0), file=sys.stderr)
    # A SIGTERM ends the run through the finally below: the playbook is stopped, then the servers.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))

    meta = dict(date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), load_before=os.getloadavg()[0],
                mem=memory_gib(), versions=versions(),
                artifacts=os.path.relpath(artifacts, ROOT) if artifacts.startswith(ROOT + os.sep) else artifacts,
                command=" ".join([".venv/bin/python", os.path.relpath(os.path.abspath(__file__), ROOT)] + sys.argv[1:]
                                 if argv is None else argv))
    loadgen = loadgen_binary() if args.engine == "go" else None
    collections = sync_collection()
    workdir = tempfile.mkdtemp(prefix="bench-capacity-")  # mode 0700: the vars files (0600) live here
    steps, not_run, secrets = [], [], Secrets(None)
    args.quota = None
    try:
        args.quota = NodeQuota(args.node_cpu_quota, args.nodes) if args.node_cpu_quota else None
        info = start_servers(args)
        info["loadgen"] = loadgen
        secrets = Secrets(info["api_secret"])
        for k, plan in enumerate(plans):
            remaining = deadline - time.monotonic()
            bound = step_bound(plan, args.lead)
            if remaining < bound + ROOM_GAP * plan["rooms"]:
                not_run = ["step %d (the total bound of %.0f s would be passed)" % (p["step"], args.total_timeout)
                           for p in plans[k:]]
                break
            if k:
                time.sleep(args.pause)
            print("step %d: N=%d, %d participants, %d publishers (%d video), %d room(s), bound %.0f s; load %.1f"
                  % (k + 1, plan["step"], plan["participants"], plan["publishers"], plan["video_publishers"],
                     plan["rooms"], bound, os.getloadavg()[0]), file=sys.stderr)
            step = run_step(k + 1, plan, info, args, collections, workdir, artifacts, secrets, bound)
            steps.append(step)
            print("  %s in %.0f s: %s" % (status(step), step["wall_s"], operators_row(step)[-1]), file=sys.stderr)
            for line in step["invalid"] + step["problems"] + step["notes"]:
                print("  " + line, file=sys.stderr)
            print("  pinned cores busy: %s; SFU forwarder drops: %s" % (pinned_busy_text(step), forwarder_text(step)),
                  file=sys.stderr)
            if stops_the_ladder(step) and not args.all_steps:
                break
    finally:
        for proc in list(_running):
            kill_group(proc)
        stop_servers(args)
        if args.quota:
            args.quota.remove()
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
