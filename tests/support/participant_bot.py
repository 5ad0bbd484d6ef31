"""A real LiveKit participant for tests: joins a room with the real-time SDK and publishes media.

    participant_bot.py --url ws://127.0.0.1:7880 --api-key APIxxx --api-secret-file FILE \
        --room ROOM --identity bot-1 --publish audio --seconds 120 --ready-file /tmp/bot.json

The secret comes from --api-secret-file or the environment (LIVEKIT_API_SECRET), never from the
command line. --url and --api-key fall back to LIVEKIT_URL and LIVEKIT_API_KEY.

The bot writes --ready-file (JSON: room, identity, participant sid, published tracks) once it is
connected and its tracks are published, then sends a tone and/or a moving picture until --seconds
have passed, the server removes it, or it gets SIGTERM / SIGINT. --seconds is a hard bound from
the start of main(): SIGALRM's default action ends the process even if the SDK hangs.
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import sys
import time

# The livekit SDK, imported by main() once the alarm is set: loading libwebrtc takes about a second.
api = rtc = None

SAMPLE_RATE = 48000
FRAME_MS = 10
WIDTH, HEIGHT, FPS = 320, 240, 15


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default=os.environ.get("LIVEKIT_URL"), help="ws:// or wss:// URL of the server")
    p.add_argument("--api-key", default=os.environ.get("LIVEKIT_API_KEY"))
    p.add_argument("--api-secret-file", help="file holding the API secret (else LIVEKIT_API_SECRET)")
    p.add_argument("--room", required=True)
    p.add_argument("--identity", required=True)
    p.add_argument("--publish", choices=["audio", "video", "both", "none"], default="audio")
    p.add_argument("--seconds", type=float, default=60.0, help="hard upper bound of the run time")
    p.add_argument("--ready-file", help="written once connected and published")
    p.add_argument("--result-file", help="written on exit: how long the bot stayed and who ended it")
    args = p.parse_args(argv)
    if args.api_secret_file:
        with open(args.api_secret_file) as f:
            args.api_secret = f.read().strip()
    else:
        args.api_secret = os.environ.get("LIVEKIT_API_SECRET")
    missing = [name for name in ("url", "api_key", "api_secret") if not getattr(args, name)]
    if missing:
        p.error("missing %s (option or LIVEKIT_* environment variable)" % ", ".join(missing))
    if args.seconds <= 0:
        p.error("--seconds must be positive")
    return args


def join_token(args):
    grants = api.VideoGrants(room_join=True, room=args.room, can_publish=True, can_subscribe=True)
    return (api.AccessToken(args.api_key, args.api_secret)
            .with_identity(args.identity)
            .with_grants(grants)
            .to_jwt())


def write_json(path, data):
    # Write then rename, so a reader never sees half a file.
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


async def send_audio(source):
    """A 440 Hz tone in 10 ms frames, paced by the source's own queue."""
    samples = SAMPLE_RATE * FRAME_MS // 1000
    t = 0
    while True:
        frame = rtc.AudioFrame.create(SAMPLE_RATE, 1, samples)
        data = frame.data
        for i in range(samples):
            data[i] = int(3000 * math.sin(2 * math.pi * 440 * (t + i) / SAMPLE_RATE))
        t += samples
        await source.capture_frame(frame)


async def send_video(source):
    """A grey picture whose brightness changes, so the encoder has something to send."""
    n = 0
    while True:
        level = (n * 4) % 256
        frame = rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGBA, bytes([level]) * (WIDTH * HEIGHT * 4))
        source.capture_frame(frame)
        n += 1
        await asyncio.sleep(1 / FPS)


async def publish(room, kind):
    """Publish one track of ``kind``; return (publication, sender coroutine)."""
    if kind == "audio":
        source = rtc.AudioSource(SAMPLE_RATE, 1)
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        sender = send_audio(source)
    else:
        source = rtc.VideoSource(WIDTH, HEIGHT)
        track = rtc.LocalVideoTrack.create_video_track("camera", source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA)
        sender = send_video(source)
    publication = await room.local_participant.publish_track(track, options)
    return publication, sender


async def run(args, deadline):
    room = rtc.Room()
    done = asyncio.Event()
    outcome = {"disconnected_by_server": False, "connected_seconds": 0.0}

    def on_disconnected(*_):
        outcome["disconnected_by_server"] = not outcome.get("leaving", False)
        done.set()

    room.on("disconnected", on_disconnected)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)

    await asyncio.wait_for(room.connect(args.url, join_token(args)), timeout=max(1.0, deadline - time.monotonic()))
    connected_at = time.monotonic()
    kinds = {"audio": ["audio"], "video": ["video"], "both": ["audio", "video"], "none": []}[args.publish]
    tracks, senders = [], []
    try:
        for kind in kinds:
            publication, sender = await publish(room, kind)
            tracks.append({"sid": publication.sid, "kind": kind, "name": publication.name})
            senders.append(asyncio.ensure_future(sender))
        if args.ready_file:
            write_json(args.ready_file, {"room": args.room, "identity": args.identity,
                                         "participant_sid": room.local_participant.sid, "tracks": tracks})
        print("ready: %s" % json.dumps(tracks), flush=True)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=max(0.0, deadline - time.monotonic()))
    finally:
        for task in senders:
            task.cancel()
        outcome["connected_seconds"] = round(time.monotonic() - connected_at, 1)
        outcome["leaving"] = True
        if args.result_file:
            write_json(args.result_file, {"disconnected_by_server": outcome["disconnected_by_server"],
                                          "connected_seconds": outcome["connected_seconds"], "ended_at": time.time()})
        # Leave cleanly when there is time left; the alarm covers a hanging disconnect.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(room.disconnect(), timeout=2)


def main(argv=None):
    global api, rtc
    started = time.monotonic()
    args = parse_args(argv)
    signal.setitimer(signal.ITIMER_REAL, args.seconds)  # the hard bound: SIGALRM's default action ends the process
    from livekit import api, rtc

    deadline = started + args.seconds - min(3.0, args.seconds / 4)  # leave time for a clean disconnect
    try:
        asyncio.run(run(args, deadline))
    except Exception as e:
        print("participant_bot: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # os._exit: the SDK's native runtime can abort (SIGABRT) while Python finalizes, after the
    # result is out; skipping finalization keeps the exit status the result's.
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
