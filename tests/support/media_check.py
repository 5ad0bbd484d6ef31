"""Join a room as a subscriber and count the media frames received from the other participants.

    media_check.py --url wss://proxy --api-key APIxxx --api-secret-file FILE --room ROOM \
        --identity watcher --expect-kinds audio,video --seconds 30 [--min-frames 10] [--relay-only]

Prints one JSON line: {"ok": bool, "tracks": [{"participant", "kind", "frames", "subscribed_after_ms"}],
"join_ms": int, "candidates": [{"type": "relay", "address": ip}, ...], "error": str}; "candidates" are
the local candidates of the nominated ICE pairs at the end (for a relay candidate, the address is the
TURN server's relayed address). --relay-only gathers relay candidates only (ICE transport
policy "relay"), so media can only arrive through a TURN server the SFU handed out.
Exits 0 only when every expected kind reached --min-frames within
--seconds (a hard bound: SIGALRM ends the process even if the SDK hangs). The secret comes from
--api-secret-file or LIVEKIT_API_SECRET, never from the command line.
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time

api = rtc = None  # imported in main() after the alarm is set (loading libwebrtc takes a second)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default=os.environ.get("LIVEKIT_URL"))
    p.add_argument("--api-key", default=os.environ.get("LIVEKIT_API_KEY"))
    p.add_argument("--api-secret-file")
    p.add_argument("--room", required=True)
    p.add_argument("--identity", required=True)
    p.add_argument("--expect-kinds", default="audio,video")
    p.add_argument("--min-frames", type=int, default=10)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--relay-only", action="store_true")
    args = p.parse_args(argv)
    if args.api_secret_file:
        with open(args.api_secret_file) as f:
            args.api_secret = f.read().strip()
    else:
        args.api_secret = os.environ.get("LIVEKIT_API_SECRET")
    if not (args.url and args.api_key and args.api_secret):
        p.error("url, api key and secret are required (options or LIVEKIT_* environment)")
    args.expect = [k for k in args.expect_kinds.split(",") if k]
    return args


async def count_frames(stream, entry, enough):
    async for _event in stream:
        entry["frames"] += 1
        enough()


async def nominated_candidates(room):
    """Type (host, srflx, prflx, relay) and address of the local candidates of the nominated ICE pairs."""
    stats = await room.get_rtc_stats()
    everything = list(stats.publisher_stats) + list(stats.subscriber_stats)
    local = dict((s.local_candidate.rtc.id, s.local_candidate.candidate)
                 for s in everything if s.WhichOneof("stats") == "local_candidate")
    nominated = [s.candidate_pair.candidate_pair.local_candidate_id for s in everything
                 if s.WhichOneof("stats") == "candidate_pair" and s.candidate_pair.candidate_pair.nominated]
    from livekit.rtc._proto.stats_pb2 import IceCandidateType

    found = set((IceCandidateType.Name(local[c].candidate_type).lower(), local[c].address) for c in nominated if c in local)
    return [{"type": kind, "address": address} for kind, address in sorted(found)]


async def run(args, deadline, result):
    token = (api.AccessToken(args.api_key, args.api_secret).with_identity(args.identity)
             .with_grants(api.VideoGrants(room_join=True, room=args.room, can_publish=False, can_subscribe=True))
             .to_jwt())
    room = rtc.Room()
    done = asyncio.Event()
    started = time.monotonic()
    tasks = []

    def enough():
        kinds = dict((t["kind"], t["frames"]) for t in result["tracks"])
        if all(kinds.get(k, 0) >= args.min_frames for k in args.expect):
            done.set()

    def on_subscribed(track, publication, participant):
        entry = {"participant": participant.identity, "kind": "video" if track.kind == rtc.TrackKind.KIND_VIDEO else "audio",
                 "frames": 0, "subscribed_after_ms": int((time.monotonic() - started) * 1000)}
        result["tracks"].append(entry)
        stream = rtc.VideoStream(track) if entry["kind"] == "video" else rtc.AudioStream(track)
        tasks.append(asyncio.ensure_future(count_frames(stream, entry, enough)))

    room.on("track_subscribed", on_subscribed)
    options = rtc.RoomOptions()
    if args.relay_only:
        options = rtc.RoomOptions(rtc_config=rtc.RtcConfiguration(ice_transport_type=rtc.IceTransportType.TRANSPORT_RELAY))
    await asyncio.wait_for(room.connect(args.url, token, options), timeout=max(1.0, deadline - time.monotonic()))
    result["join_ms"] = int((time.monotonic() - started) * 1000)
    try:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(Exception):
            result["candidates"] = await asyncio.wait_for(nominated_candidates(room), timeout=2)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(room.disconnect(), timeout=2)
    kinds = dict((t["kind"], t["frames"]) for t in result["tracks"])
    result["ok"] = all(kinds.get(k, 0) >= args.min_frames for k in args.expect)


def main(argv=None):
    global api, rtc
    begin = time.monotonic()
    args = parse_args(argv)
    signal.setitimer(signal.ITIMER_REAL, args.seconds)
    from livekit import api, rtc

    result = {"ok": False, "tracks": [], "join_ms": None, "candidates": [], "error": ""}
    try:
        asyncio.run(run(args, begin + args.seconds - min(3.0, args.seconds / 4), result))
    except Exception as e:  # reported in the JSON line, the exit status says it failed
        result["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    # os._exit: the SDK's native runtime can abort (SIGABRT) while Python finalizes, after the
    # result is out; skipping finalization keeps the exit status the result's.
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
