"""Where the subscribe time of the webrtc engine goes: both sides' timestamps for one plan, engine by engine.

    .venv/bin/python benchmarks/subscribe_timing.py [--participants 4,20] [--engines webrtc,go]
        [--duration 20] [--port 25890] [--dir /tmp/bench-subscribe]

Starts its own livekit-server with Prometheus (scripts/local_livekit.py), then for each engine and size
runs the capacity ladder's plan shape (docs/benchmarks.md: 10 % publishers, at least one, half with
video; VP8 640x360 simulcast; join rate 10/s) on TWO generator processes started together, and reports:

- client side: ``subscribe_ms`` and ``join_ms`` (p50 / p90 / p99 / max) as the result gives them;
- server side, as operators read it: the deltas of livekit-server's histogram ``livekit_pubsubtime_ms``
  over the run, ``direction="subscribe"`` (from the server's decision to subscribe to the down track
  bound: negotiation and DTLS done) and ``direction="subscribe-stream-start"`` (to the first packet
  forwarded), as counts per bucket;
- webrtc engine only, inside each generator process: the delay between an event's arrival from the
  SDK's native side (``FfiQueue.put``, on the FFI callback thread) and the engine's ``track_subscribed``
  handler (the asyncio loop), the loop's lag (a 20 ms sleep's oversleep), the number of FFI events and
  the copies the SDK queues (one per Room of the process), and each thread's CPU seconds
  (/proc/self/task, a per-thread profile of the generator).
"""

import argparse
import asyncio
import collections
import json
import math
import os
import subprocess
import sys
import tempfile
import time

GENERATOR_FIELDS = ("name", "generator", "loop_lag", "events", "queued_copies", "threads", "errors")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUCKETS = ("100", "200", "500", "700", "1000", "5000", "10000", "+Inf")


def collection_path():
    out = subprocess.check_output([os.path.join(ROOT, "scripts", "sync-collection.sh")], text=True).strip()
    sys.path.insert(0, out)


def pcts(values):
    v = sorted(values)
    if not v:
        return None
    return dict(n=len(v), p50=round(v[len(v) // 2], 1), p90=round(v[min(len(v) - 1, int(0.9 * len(v)))], 1),
                p99=round(v[min(len(v) - 1, int(0.99 * len(v)))], 1), max=round(v[-1], 1))


def thread_cpu():
    ticks = os.sysconf("SC_CLK_TCK")
    by_name = collections.Counter()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/stat" % tid) as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        by_name[name.rstrip("0123456789-_ ") or name] += (int(fields[11]) + int(fields[12])) / float(ticks)
    return dict((k, round(v, 2)) for k, v in by_name.most_common(8))


def instrument():
    """Patch the SDK's FFI queue and the engine's handlers to record when things happen (webrtc only)."""
    from livekit.rtc import _ffi_client

    from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.webrtc import WebrtcRun
    probe = dict(arrivals={}, delays=[], lags=[], events=collections.Counter(), copies=0)
    put = _ffi_client.FfiQueue.put

    def counted_put(self, item):
        which = item.WhichOneof("message")
        probe["events"][which] += 1
        probe["copies"] += len(self._subscribers)
        if which == "room_event" and item.room_event.WhichOneof("message") == "track_subscribed":
            key = (item.room_event.room_handle, item.room_event.track_subscribed.track.info.sid)
            probe["arrivals"].setdefault(key, time.time())
        return put(self, item)
    _ffi_client.FfiQueue.put = counted_put

    on_subscribed = WebrtcRun._on_subscribed

    def timed_on_subscribed(self, m, publication):
        arrived = probe["arrivals"].get((m.room._ffi_handle.handle, publication.sid))
        if arrived is not None and publication.sid not in m.subscribed:
            probe["delays"].append((time.time() - arrived) * 1000.0)
        return on_subscribed(self, m, publication)
    WebrtcRun._on_subscribed = timed_on_subscribed

    run = WebrtcRun.run

    async def lagged_run(self):
        async def lag():
            while True:
                t = time.monotonic()
                await asyncio.sleep(0.02)
                probe["lags"].append((time.monotonic() - t - 0.02) * 1000.0)
        task = asyncio.ensure_future(lag())
        try:
            await run(self)
        finally:
            task.cancel()
    WebrtcRun.run = lagged_run
    return probe


def one(spec_path):
    collection_path()
    with open(spec_path) as f:
        spec = json.load(f)
    probe = instrument() if spec["engine"] == "webrtc" else None
    from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.base import Job
    from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.metrics import Sampler
    from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.runner import run
    from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import read_key_file
    secret = read_key_file(spec["key_file"]).secret(spec["api_key"])
    job = Job(spec["url"], spec["api_key"], secret, spec["slice"], spec["start_at"], spec["name"],
              progress_interval=5.0, loadgen_path=spec["loadgen"])
    r = run(spec["engine"], job, Sampler([]))
    out = dict(name=spec["name"], subscribe_ms=r["subscribe_ms"], join_ms=r["join_ms"], participants=r["participants"],
               tracks=r["tracks"], lost=r["packets_lost"], generator=r["generator"], errors=r["errors"][:5])
    if probe is not None:
        out.update(ffi_to_handler_ms=probe["delays"], loop_lag=pcts(probe["lags"]), events=dict(probe["events"]),
                   queued_copies=probe["copies"], threads=thread_cpu())
    print(json.dumps(out))


def histogram(url):
    from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.metrics import fetch, parse
    counts = collections.Counter()
    for labels, value in parse(fetch(url)).get("livekit_pubsubtime_ms_bucket", []):
        counts[(labels.get("direction"), labels.get("le"))] += value
    return counts


def step(args, server, engine, participants, loadgen, workdir):
    collection_path()
    from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.plan import build_plan, split
    publishers = max(1, int(participants * 0.1 + 0.5))
    video = int(math.ceil(publishers / 2.0))
    plan = build_plan("initial", rooms=1, participants=participants, publishers=publishers, video_publishers=video,
                      audio_publishers=publishers - video, duration=args.duration, join_rate=10, resolution="640x360",
                      codec="vp8", simulcast=True)
    prefix = "timing-%s-%d-%d" % (engine, participants, int(time.time()))
    start_at = time.time() + 8.0
    before = histogram(server["metrics_url"])
    procs = []
    for index, part in enumerate(split(plan, 2, prefix=prefix)):
        spec = dict(url=server["url"], api_key=server["api_key"], key_file=server["key_file"], slice=part,
                    start_at=start_at, name="gen%d" % index, engine=engine, loadgen=loadgen)
        path = os.path.join(workdir, "%s-%d.json" % (prefix, index))
        with open(path, "w") as f:
            json.dump(spec, f)
        procs.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), "--one", path], stdout=subprocess.PIPE,
                                      text=True))
    outs = [json.loads(p.communicate(timeout=participants / 10.0 + args.duration + 240)[0].strip().splitlines()[-1])
            for p in procs]
    time.sleep(1.0)
    after = histogram(server["metrics_url"])
    server_side = {}
    for direction in ("subscribe", "subscribe-stream-start"):
        cumulative = [after[(direction, le)] - before[(direction, le)] for le in BUCKETS]
        per_bucket = [cumulative[0]] + [cumulative[i] - cumulative[i - 1] for i in range(1, len(cumulative))]
        server_side[direction] = dict(zip(BUCKETS, [int(c) for c in per_bucket]))
    return dict(engine=engine, participants=participants, plan=dict(publishers=publishers, video=video),
                subscribe_ms=pcts([v for o in outs for v in o["subscribe_ms"]]),
                join_ms=pcts([v for o in outs for v in o["join_ms"]]),
                joined=sum(o["participants"]["connected"] for o in outs),
                subscribed="%d/%d" % (sum(o["tracks"]["subscribed"] for o in outs),
                                      sum(o["tracks"]["expected_subscriptions"] for o in outs)),
                lost=sum(o["lost"] for o in outs), server=server_side,
                generators=[dict((k, o.get(k)) for k in GENERATOR_FIELDS) for o in outs],
                ffi_to_handler_ms=pcts([v for o in outs for v in o.get("ffi_to_handler_ms", [])]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--participants", default="4,20")
    parser.add_argument("--engines", default="webrtc,go")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=25890)
    parser.add_argument("--dir", default="/tmp/bench-subscribe")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.one:
        return one(args.one)
    collection_path()
    loadgen = subprocess.run(["bash", os.path.join(ROOT, "scripts", "build-loadgen.sh")], capture_output=True, text=True,
                             check=True).stdout.strip().splitlines()[-1]
    os.makedirs(args.dir, exist_ok=True)
    script = os.path.join(ROOT, "scripts", "local_livekit.py")
    server = json.loads(subprocess.check_output(
        [sys.executable, script, "start", "--dir", args.dir, "--port", str(args.port), "--no-redis",
         "--prometheus-port", str(args.port + 3)], text=True).strip().splitlines()[-1])
    rows = []
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for n in [int(x) for x in args.participants.split(",")]:
                for engine in args.engines.split(","):
                    rows.append(step(args, server, engine, n, loadgen, workdir))
                    print(json.dumps(rows[-1]), flush=True)
                    time.sleep(5)
    finally:
        subprocess.call([sys.executable, script, "stop", "--dir", args.dir])
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
