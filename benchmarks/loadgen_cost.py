"""Cost of the load generator per participant, engine by engine, against a real livekit-server.

    .venv/bin/python benchmarks/loadgen_cost.py [--engines go,webrtc] [--video-publishers 2]
        [--subscribers 10,40] [--webrtc-subscribers 4,8] [--duration 30] [--join-rate 10]
        [--port 25880] [--dir /tmp/bench-loadgen] [--out FILE.md]

Starts its own livekit-server (Prometheus on) on loopback (scripts/local_livekit.py, ports PORT..PORT+3),
then for each engine and each subscriber count N runs one room with TWO generator processes started
together (one start_at): ``pub`` runs the video publishers only (camera 640x360 VP8 with simulcast +
microphone), ``sub`` the N subscribers only. Each process runs the engine through the load_test
module's entry (``runner.run``), as the module does, and reports its own CPU and peak RSS:

- go: the rtcstack-loadgen process itself (``engine_process``: its getrusage at its end);
- webrtc: the Python process (``generator`` block: getrusage of the process, the SDK's threads included).

Per participant: cores = CPU seconds / the run's wall seconds (from start to the end of the leave,
join phase included); per subscriber = the ``sub`` process' cores / N, and the added cores and RSS per
added subscriber between the two values of N; per video publisher = the ``pub`` process' cores / V.
The SFU's CPU comes from its ``process_cpu_seconds_total``. Run it with nothing else heavy on the machine.
The API secret stays in the key file and in memory; it is never printed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MIB = 1048576.0


def collection_path():
    out = subprocess.check_output([os.path.join(ROOT, "scripts", "sync-collection.sh")], text=True).strip()
    sys.path.insert(0, out)
    return out


def one(spec_path):
    """Child process: run one generator share and print its result summary as JSON."""
    collection_path()
    from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.base import Job
    from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.metrics import Sampler
    from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.runner import run
    from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import read_key_file
    with open(spec_path) as f:
        spec = json.load(f)
    secret = read_key_file(spec["key_file"]).secret(spec["api_key"])
    job = Job(spec["url"], spec["api_key"], secret, spec["slice"], spec["start_at"], spec["name"],
              progress_interval=5.0, loadgen_path=spec["loadgen"])
    r = run(spec["engine"], job, Sampler(spec["metrics"], interval=5.0))
    wall = r["generator"]["wall_seconds"]
    own = r.get("engine_process") or {}
    cpu = own.get("cpu_seconds") or r["generator"]["cpu_seconds"]
    rss = own.get("max_rss_bytes") or r["generator"]["max_rss_bytes"]
    sfu = [s for s in r["server_samples"] if s.get("cpu_seconds") is not None]
    sfu_cores = None
    if len(sfu) >= 2 and sfu[-1]["t"] > sfu[0]["t"]:
        sfu_cores = (sfu[-1]["cpu_seconds"] - sfu[0]["cpu_seconds"]) / (sfu[-1]["t"] - sfu[0]["t"])
    subscribe = sorted(r["subscribe_ms"])

    def pct(q):
        return subscribe[min(len(subscribe) - 1, int(q * len(subscribe)))] if subscribe else None
    print(json.dumps(dict(
        name=spec["name"], cpu_seconds=cpu, wall_seconds=wall, max_rss_bytes=rss, generator=r["generator"],
        participants=r["participants"], tracks=r["tracks"], packets_received=r["packets_received"],
        packets_lost=r["packets_lost"], bytes_received=r["bytes_received"], bytes_sent=r.get("bytes_sent"),
        subscribe_p50=pct(0.5), subscribe_p99=pct(0.99), sfu_cores=sfu_cores, errors=r["errors"][:5],
        complete=r["complete"])))


def cpu_busy():
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


def step(args, server, engine, video, subscribers, loadgen, workdir):
    """One room: the publishers in one process, the subscribers in another, started together."""
    collection_path()
    from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.plan import build_plan, split, summary
    prefix = "cost-%s-%d-%d" % (engine, subscribers, int(time.time()))
    plan = build_plan("initial", rooms=1, participants=video + subscribers, publishers=video, video_publishers=video,
                      audio_publishers=0, duration=args.duration, join_rate=args.join_rate, resolution="640x360",
                      codec="vp8", simulcast=True)
    whole = split(plan, 1, prefix=prefix)[0]
    start_at = time.time() + 8.0
    procs = []
    for name, kind in (("pub", ("video", "audio")), ("sub", ("subscriber",))):
        part = dict(whole, members=[m for m in whole["members"] if m["kind"] in kind])
        part.update(summary(part))
        part["join_rate"] = args.join_rate / 2.0
        spec = dict(url=server["url"], api_key=server["api_key"], key_file=server["key_file"], slice=part,
                    start_at=start_at, name=name, engine=engine, loadgen=loadgen,
                    metrics=[server["metrics_url"]] if name == "sub" else [])
        path = os.path.join(workdir, "%s-%s.json" % (prefix, name))
        with open(path, "w") as f:
            json.dump(spec, f)
        procs.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), "--one", path], stdout=subprocess.PIPE,
                                      text=True))
    busy0 = cpu_busy()
    out = {}
    for p in procs:
        text = p.communicate(timeout=args.duration + subscribers / args.join_rate + 240)[0]
        data = json.loads(text.strip().splitlines()[-1])
        out[data["name"]] = data
    busy1 = cpu_busy()
    out["machine_busy"] = (busy1[0] - busy0[0]) / max(1.0, busy1[1] - busy0[1])
    return out


def cores(d):
    return d["cpu_seconds"] / d["wall_seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--engines", default="go,webrtc")
    parser.add_argument("--video-publishers", type=int, default=2)
    parser.add_argument("--subscribers", default="10,40", help="two subscriber counts for the go engine")
    parser.add_argument("--webrtc-subscribers", default="4,8", help="two subscriber counts for the webrtc engine")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--join-rate", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=25880)
    parser.add_argument("--dir", default="/tmp/bench-loadgen")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.one:
        return one(args.one)
    loadgen = subprocess.run(["bash", os.path.join(ROOT, "scripts", "build-loadgen.sh")], capture_output=True, text=True,
                             check=True).stdout.strip().splitlines()[-1]
    os.makedirs(args.dir, exist_ok=True)
    script = os.path.join(ROOT, "scripts", "local_livekit.py")
    started = subprocess.check_output([sys.executable, script, "start", "--dir", args.dir, "--port", str(args.port),
                                       "--no-redis", "--prometheus-port", str(args.port + 3)], text=True)
    server = json.loads(started.strip().splitlines()[-1])
    rows = []
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for engine in args.engines.split(","):
                counts = args.subscribers if engine == "go" else args.webrtc_subscribers
                for n in [int(x) for x in counts.split(",")]:
                    rows.append((engine, n, step(args, server, engine, args.video_publishers, n, loadgen, workdir)))
                    time.sleep(5)
    finally:
        subprocess.call([sys.executable, script, "stop", "--dir", args.dir])
    lines = report(args, rows)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


def report(args, rows):
    v = args.video_publishers
    lines = ["Run of %s: `%s`" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), " ".join(sys.argv)), "",
             "| engine | subscribers | video publishers | pub process: cores, per video publisher, peak RSS | "
             "sub process: cores, per subscriber, peak RSS, per subscriber | loss (packets) | subscribe p50 / p99 ms | "
             "SFU cores | machine busy |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    by_engine = {}
    for engine, n, out in rows:
        pub, sub = out["pub"], out["sub"]
        by_engine.setdefault(engine, []).append((n, sub))
        ok = all(d["complete"] and not d["participants"]["failed"] for d in (pub, sub))
        lost, seen = sub["packets_lost"], sub["packets_lost"] + sub["packets_received"]
        sfu = "%.2f" % sub["sfu_cores"] if sub["sfu_cores"] is not None else "-"
        name = engine if ok else "%s (INCOMPLETE: %s)" % (engine, "; ".join(pub["errors"] + sub["errors"])[:200])
        cells = [name, n, v, "%.3f, **%.4f**, %.0f MiB" % (cores(pub), cores(pub) / v, pub["max_rss_bytes"] / MIB),
                 "%.3f, **%.4f**, %.0f MiB, %.2f MiB" % (cores(sub), cores(sub) / n, sub["max_rss_bytes"] / MIB,
                                                         sub["max_rss_bytes"] / MIB / n),
                 "%.3f %% (%d of %d)" % (100.0 * lost / max(1, seen), lost, seen),
                 "%s / %s" % (sub["subscribe_p50"], sub["subscribe_p99"]), sfu, "%.0f %%" % (100 * out["machine_busy"])]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines.append("")
    for engine, subs in by_engine.items():
        if len(subs) >= 2:
            (n1, a), (n2, b) = subs[0], subs[-1]
            lines.append("- %s: from %d to %d subscribers, **%.4f core and %.2f MiB per added subscriber**." % (
                engine, n1, n2, (cores(b) - cores(a)) / (n2 - n1), (b["max_rss_bytes"] - a["max_rss_bytes"]) / MIB / (n2 - n1)))
    return lines


if __name__ == "__main__":
    main()
