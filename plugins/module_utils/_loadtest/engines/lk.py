# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``lk`` engine of the load test: run ``lk load-test`` (the official LiveKit CLI) and read its tables.

Private to this collection: the interface may change without notice.

Read in livekit/livekit-cli (the command, flags and printed tables):

- ``cmd/lk/perf.go`` at 1aa4e186120d73e5fc5a13eeb382d5ad92ffea62: ``lk perf load-test`` and the
  hidden top-level alias ``lk load-test`` (older releases: ``cmd/lk/loadtest.go`` at
  0a5b774e73c9dd0edde03142722a32d4e7a4e182, same flags); ``pkg/util/project.go`` at
  cade8355102e291e261936b458e7ad0b9a33f823: ``--url``, ``--api-key``, ``--api-secret`` read
  ``LIVEKIT_URL``, ``LIVEKIT_API_KEY``, ``LIVEKIT_API_SECRET``.
- ``pkg/loadtester/loadtest.go`` at 37fd01fc0619d3d9b8e2d952b305d47ca3680936 (``LoadTest.Run``):
  "Track loading:" table (Tester, Track, Kind, Pkts., Bitrate, Pkt. Loss) and "Subscriber summaries:"
  table (Tester, Tracks, Bitrate, Total Pkt. Loss, Error) ending with a "Total" row; publishers are
  not in the tables; a tester that could not connect prints ``could not connect <name>: <error>``.
  ``NewLoadTest`` caps ``--num-per-second`` at 10.
- ``pkg/loadtester/stats.go`` and ``util.go`` at 93b8a8c5931bc1ed9e4f0fe0e44590760de0db5d:
  ``formatBitrate`` (``%dbps`` / ``%.1fkbps`` / ``%.1fmbps``, ``NaNmbps`` for a tester without
  tracks), ``formatLossRate`` (``<dropped> (<pct>%)`` or `` - ``), error ``-`` when none.
- ``pkg/util/table.go`` at 57d02cfd339488d476404a3ce85e581ab7688533: lipgloss ``NormalBorder``
  (box-drawing characters), cells padded one space each side.
- ``pkg/provider/embeds.go`` at 93b8a8c5931bc1ed9e4f0fe0e44590760de0db5d: lk publishes looped clips
  in layers of 180p, 360p and 720p; ``--video-resolution`` high / medium / low keeps 3 / 2 / 1 of them
  (without simulcast only the highest kept one); codecs h264 and vp8 only.

Plan counts follow plan.py: ``video_publishers`` send camera + microphone, ``audio_publishers``
a microphone only. lk makes tester i a video publisher when i < --video-publishers and an audio
publisher when i < --audio-publishers, so lk gets ``--video-publishers V --audio-publishers V+A``.

lk measures per subscriber: tracks received / expected, packets, lost packets (sequence gaps) and an
average bitrate. It does not measure join time, subscribe time, jitter, a timeline or the server.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest import SCHEMA
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.base import Engine, EngineError
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.plan import result_plan
from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import redact

NOT_MEASURED = ["join_ms", "subscribe_ms", "jitter_ms", "timeline", "server_samples"]
DERIVED = [
    "bytes_received: lk's rounded Total bitrate x the measured run time",
    "resolution: lk publishes its own clips; WIDTHxHEIGHT is mapped to high (720p), medium (360p) or low (180p)",
    "tracks.published: the number of tracks lk expected each subscriber to get (video + audio publishers)",
]
RESOLUTIONS = ("high", "medium", "low")
LAYER_HEIGHTS = ((180, "low"), (360, "medium"), (720, "high"))  # the top layer each lk resolution keeps
CODECS = ("h264", "vp8")
MAX_JOIN_RATE = 10.0  # NewLoadTest caps num-per-second here

TRACK_HEADERS = ["Tester", "Track", "Kind", "Pkts.", "Bitrate", "Pkt. Loss"]
SUMMARY_HEADERS = ["Tester", "Tracks", "Bitrate", "Total Pkt. Loss", "Error"]

ANSI = re.compile(r"\x1b\[[0-9;:?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
BITRATE = re.compile(r"^(NaN|[+-]?Inf|\d+(?:\.\d+)?)(bps|kbps|mbps)$")
LOSS = re.compile(r"^(\d+) \((\d+(?:\.\d+)?)%\)$")
TRACKS = re.compile(r"^(\d+)/(\d+)$")
TOTAL_BITRATE = re.compile(r"^(\S+) \((\S+) avg\)$")
NOT_CONNECTED = re.compile(r"^could not connect ((?:Pub|Sub) \d+): (.*)$")
UNIT = {"bps": 1.0, "kbps": 1e3, "mbps": 1e6}


class LkError(EngineError):
    """lk could not be run, or its output is not what lk load-test prints."""


def _count(plan, key):
    value = plan.get(key) or 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LkError("plan %s must be a whole number >= 0, got %r" % (key, value))
    return value


def planned_participants(plan):
    """Participants lk starts for a plan: camera+microphone publishers, microphone-only ones, subscribers."""
    return _count(plan, "video_publishers") + _count(plan, "audio_publishers") + _count(plan, "subscribers")


def lk_resolution(value):
    """lk's --video-resolution for a plan resolution: high/medium/low as is, WIDTHxHEIGHT by the nearest top layer."""
    text = str(value or "high").strip().lower()
    if text in RESOLUTIONS:
        return text
    m = re.match(r"^(\d+)x(\d+)$", text)
    if not m:
        raise LkError("resolution %r is neither WIDTHxHEIGHT nor lk's high, medium or low" % value)
    height = int(m.group(2))
    return min(LAYER_HEIGHTS, key=lambda layer: (abs(layer[0] - height), -layer[0]))[1]


def go_duration(seconds):
    """A Go time.ParseDuration string: ``120s``, or ``90500ms`` for fractions."""
    if seconds <= 0:
        raise LkError("duration must be above 0 s: lk load-test without --duration runs until it is stopped")
    if float(seconds).is_integer():
        return "%ds" % int(seconds)
    return "%dms" % int(round(seconds * 1000))


def lk_argv(plan_slice, url, api_key, room=None, identity_prefix=None, lk_path="lk", duration=None):
    """The ``lk load-test`` command line for one room. The API secret is not in it: see lk_env()."""
    if not url:
        raise LkError("url is required")
    if not api_key:
        raise LkError("api_key is required")
    video = _count(plan_slice, "video_publishers")
    audio = _count(plan_slice, "audio_publishers")
    subscribers = _count(plan_slice, "subscribers")
    if video + audio + subscribers == 0:
        # lk would quietly run 1 video publisher + 1 subscriber instead
        raise LkError("the plan for this generator has no publishers and no subscribers")
    resolution = lk_resolution(plan_slice.get("resolution"))
    codec = (plan_slice.get("codec") or "").lower()
    if codec not in CODECS + ("", "auto"):
        raise LkError("lk load-test publishes h264 or vp8 video only, not %r: use codec vp8 or h264, or engine webrtc"
                      % plan_slice.get("codec"))
    argv = [lk_path, "load-test", "--url", url, "--api-key", api_key]
    if room:
        argv += ["--room", room]
    if identity_prefix:
        argv += ["--identity-prefix", identity_prefix]
    argv += [
        "--duration", go_duration(plan_slice.get("duration") if duration is None else duration),
        "--video-publishers", str(video),
        "--audio-publishers", str(video + audio),  # lk's first V audio publishers are the video publishers
        "--subscribers", str(subscribers),
        "--video-resolution", resolution,
    ]
    if codec in CODECS:
        argv += ["--video-codec", codec]
    rate = plan_slice.get("join_rate")
    if rate:
        argv += ["--num-per-second", "%g" % min(float(rate), MAX_JOIN_RATE)]
    if plan_slice.get("simulcast") is False:
        argv.append("--no-simulcast")
    return argv


def lk_env(api_secret, base=None):
    """Environment for lk: the secret in LIVEKIT_API_SECRET, no other LIVEKIT_* variable, no colours."""
    if not api_secret:
        raise LkError("api_secret is required")
    env = dict((k, v) for k, v in (os.environ if base is None else base).items() if not k.startswith("LIVEKIT_"))
    env.update(LIVEKIT_API_SECRET=api_secret, NO_COLOR="1", TERM="dumb")
    return env


# ---- parsing -------------------------------------------------------------------------------------


def _bitrate_bps(text, where):
    m = BITRATE.match(text)
    if not m:
        raise LkError("%s: %r is not a bitrate as lk prints it (e.g. 1.3mbps, 39.1kbps, 880bps)" % (where, text))
    if m.group(1) in ("NaN", "Inf", "+Inf", "-Inf"):
        return None  # lk divides by an elapsed time of 0 for a tester without tracks
    return float(m.group(1)) * UNIT[m.group(2)]


def _loss(text, where):
    if text in ("-", ""):
        return 0  # lk prints " - " when the tester received no packet
    m = LOSS.match(text)
    if not m:
        raise LkError("%s: %r is not a packet loss as lk prints it (e.g. 3 (0.061%%) or -)" % (where, text))
    return int(m.group(1))


def _tables(lines):
    """Box-drawing tables in lk's output: lists of rows (lists of cell texts), header row first."""
    tables, current = [], None
    for line in lines:
        s = line.strip()
        if s.startswith("┌"):
            current = []
        elif current is None:
            continue
        elif s.startswith("└"):
            tables.append(current)
            current = None
        elif s.startswith("├"):
            continue
        elif s.startswith("│") and s.endswith("│"):
            current.append([c.strip() for c in s[1:-1].split("│")])
        else:
            raise LkError("lk table cut off or garbled at line %r" % s[:120])
    if current is not None:
        raise LkError("lk table not closed: the output ends inside a table (lk stopped while printing?)")
    return tables


def _fit(row, width, where):
    if len(row) < width:
        raise LkError("%s: row has %d cells, expected %d" % (where, len(row), width))
    if len(row) > width:  # an error text that holds the border character
        row = row[:width - 1] + ["│".join(row[width - 1:])]
    return row


def _track_rows(table):
    rows, tester = [], None
    for row in table[1:]:
        row = _fit(row, len(TRACK_HEADERS), "Track loading")
        if not any(row):
            continue  # lk's blank row between testers
        if row[0]:
            tester = row[0]
        if not row[1]:
            continue  # continuation line of a wrapped cell
        if tester is None:
            raise LkError("Track loading: track %s has no tester" % row[1])
        if not row[3].isdigit():
            raise LkError("Track loading: %r is not a packet count" % row[3])
        rows.append(dict(tester=tester, track=row[1], kind=row[2], packets=int(row[3]),
                         bitrate_bps=_bitrate_bps(row[4], "Track loading"),
                         lost=_loss(row[5], "Track loading")))
    return rows


def _summary_rows(table):
    testers, total = [], None
    for row in table[1:]:
        row = _fit(row, len(SUMMARY_HEADERS), "Subscriber summaries")
        if not row[0] and not row[1]:
            if testers and row[4]:  # a long error wrapped onto the next line
                testers[-1]["error"] = (testers[-1]["error"] or "") + " " + row[4]
            continue
        m = TRACKS.match(row[1])
        if not m:
            raise LkError("Subscriber summaries: %r is not tracks/expected" % row[1])
        tracks, expected = int(m.group(1)), int(m.group(2))
        if row[0] == "Total":
            b = TOTAL_BITRATE.match(row[2])
            if not b:
                raise LkError("Subscriber summaries: Total bitrate %r is not '<rate> (<rate> avg)'" % row[2])
            if not row[4].isdigit():
                raise LkError("Subscriber summaries: Total error count %r is not a number" % row[4])
            total = dict(tracks=tracks, expected=expected, bitrate_bps=_bitrate_bps(b.group(1), "Total"),
                         lost=_loss(row[3], "Total"), errors=int(row[4]))
        else:
            if total is not None:
                raise LkError("Subscriber summaries: row %r after the Total row" % row[0])
            testers.append(dict(tester=row[0], tracks=tracks, expected=expected,
                                bitrate_bps=_bitrate_bps(row[2], row[0]), lost=_loss(row[3], row[0]),
                                error=None if row[4] == "-" else row[4]))
    if total is None:
        raise LkError("Subscriber summaries has no Total row (output cut off?)")
    return testers, total


def parse_tables(text):
    """lk's two tables as Python data: {'tracks': [...], 'testers': [...], 'total': {...} or None, 'not_connected': {...}}."""
    if text is None or not text.strip():
        raise LkError("lk printed nothing")
    lines = ANSI.sub("", text).replace("\r", "").splitlines()
    not_connected = {}
    for line in lines:
        m = NOT_CONNECTED.match(line.strip())
        if m:
            not_connected[m.group(1)] = m.group(2)
    found = {}
    for table in _tables(lines):
        if not table:
            raise LkError("lk table without a header row")
        header = table[0]
        if header == TRACK_HEADERS:
            key = "tracks"
        elif header == SUMMARY_HEADERS:
            key = "summary"
        else:
            raise LkError("unknown lk table with columns %s (another lk version?)" % ", ".join(header))
        if key in found:
            raise LkError("lk printed two %s tables: run one room per lk process" % key)
        found[key] = table
    parsed = dict(tracks=[], testers=[], total=None, not_connected=not_connected)
    if "summary" in found:
        if "tracks" not in found:
            raise LkError("lk printed 'Subscriber summaries' without its 'Track loading' table")
        parsed["tracks"] = _track_rows(found["tracks"])
        parsed["testers"], parsed["total"] = _summary_rows(found["summary"])
        _check_totals(parsed)
    elif "tracks" in found:
        raise LkError("lk printed 'Track loading' but no 'Subscriber summaries' table (output cut off?)")
    return parsed


def _check_totals(parsed):
    total, testers, tracks = parsed["total"], parsed["testers"], parsed["tracks"]
    checks = [
        ("tracks", total["tracks"], sum(t["tracks"] for t in testers)),
        ("expected tracks", total["expected"], sum(t["expected"] for t in testers)),
        ("lost packets", total["lost"], sum(t["lost"] for t in testers)),
        ("lost packets in Track loading", total["lost"], sum(t["lost"] for t in tracks)),
        ("track rows", total["tracks"], len(tracks)),
        ("testers with an error", total["errors"], sum(1 for t in testers if t["error"])),
    ]
    for what, printed, counted in checks:
        if printed != counted:
            raise LkError("lk's Total row says %s %d but the rows add up to %d: output garbled" % (what, printed, counted))


def _planned(plan, parsed):
    """Participants planned: from the plan, or without one the testers lk printed (publishers only if they failed)."""
    if plan:
        return planned_participants(plan)
    return len(parsed["testers"]) + len([n for n in parsed["not_connected"] if n.startswith("Pub")])


def _tester_errors(parsed):
    """One line per tester with an error, then per tester that could not connect (once per tester)."""
    errors = []
    for t in parsed["testers"]:
        if t["error"]:
            errors.append("%s: %s" % (t["tester"], t["error"]))
    for name, message in sorted(parsed["not_connected"].items()):
        if not any(e.startswith(name + ": ") for e in errors):
            errors.append("%s: %s" % (name, message))
    return errors


def parse_lk_output(text, plan=None, host=None, start_at=None, started_at=None, ended_at=None):
    """A load test result (schema 1) from the text lk load-test printed.

    ``plan`` gives the planned counts (the subscribers lk was asked for tell whether the lack of tables
    is right: lk prints none without subscribers). Times are epoch seconds; without them the byte
    count is derived from the plan's duration.
    """
    plan = dict(plan or {})
    parsed = parse_tables(text)
    subscribers = plan.get("subscribers")
    if parsed["total"] is None and subscribers:
        raise LkError("lk printed no 'Subscriber summaries' table although %d subscribers were planned" % subscribers)
    planned = _planned(plan, parsed)
    failed_names = set(parsed["not_connected"]) | set(t["tester"] for t in parsed["testers"] if t["error"])
    failed = min(len(failed_names), planned) if planned else len(failed_names)
    total = parsed["total"] or dict(tracks=0, expected=0, bitrate_bps=0.0, lost=0, errors=0)
    if started_at is not None and ended_at is not None and ended_at > started_at:
        seconds = ended_at - started_at
    else:
        seconds = float(plan.get("duration") or 0)
    bps = total["bitrate_bps"] or 0.0
    errors = _tester_errors(parsed)
    per_subscriber = parsed["testers"][0]["expected"] if parsed["testers"] else 0
    return {
        "schema": SCHEMA,
        "host": host or "",
        "engine": "lk",
        "plan": plan,
        "start_at": start_at,
        "started_at": started_at,
        "skew_s": (started_at - start_at) if (started_at is not None and start_at is not None) else None,
        "ended_at": ended_at,
        "participants": {"planned": planned, "connected": planned - failed, "failed": failed},
        "join_ms": [],
        "subscribe_ms": [],
        "subscribe_from": "published_or_joined",
        "tracks": {"published": per_subscriber, "expected_subscriptions": total["expected"], "subscribed": total["tracks"]},
        "bytes_received": int(round(bps * seconds / 8)),
        "packets_received": sum(t["packets"] for t in parsed["tracks"]),
        "packets_lost": total["lost"],
        "jitter_ms": [],
        "timeline": [],
        "server_samples": [],
        "errors": errors,
        "complete": True,
        "not_measured": list(NOT_MEASURED),
        "derived": list(DERIVED),
        "lk_bitrate_bps": total["bitrate_bps"],
    }


def combine(results):
    """One result from the results of several lk processes (one per room) on the same host."""
    if len(results) == 1:
        return results[0]
    first = dict(results[0])
    for key in ("participants", "tracks"):
        first[key] = dict((k, sum(r[key][k] for r in results)) for k in first[key])
    for key in ("bytes_received", "packets_received", "packets_lost"):
        first[key] = sum(r[key] for r in results)
    first["lk_bitrate_bps"] = sum(r.get("lk_bitrate_bps") or 0 for r in results)
    first["errors"] = [e for r in results for e in r["errors"]]
    first["complete"] = all(r["complete"] for r in results)
    return first


# ---- running -------------------------------------------------------------------------------------


def split_plan(plan_slice):
    """(room name or None, plan for that room) pairs: lk load-test runs one room per process.

    A list of N room names splits the generator's counts evenly over N lk processes (the first rooms
    take the remainders). An int N without names makes rooms named ``<identity prefix>-<i>``.
    """
    rooms = plan_slice.get("rooms")
    if isinstance(rooms, list):
        names = [str(r) for r in rooms]
    elif isinstance(rooms, int) and not isinstance(rooms, bool) and rooms > 1:
        names = [None] * rooms
    else:
        return [(None, dict(plan_slice))]
    if not names:
        raise LkError("plan rooms is an empty list")
    n = len(names)
    out = []
    for i, name in enumerate(names):
        part = dict(plan_slice, rooms=[name] if name else 1)
        for key in ("video_publishers", "audio_publishers", "subscribers"):
            whole = _count(plan_slice, key)
            part[key] = whole // n + (1 if i < whole % n else 0)
        part["publishers"] = part["video_publishers"] + part["audio_publishers"]
        part["participants"] = part["publishers"] + part["subscribers"]
        if part["participants"]:
            out.append((name, part))
    return out


def _find_lk(module, lk_path):
    if module is not None:
        found = module.get_bin_path(lk_path) if os.sep not in lk_path else (lk_path if os.access(lk_path, os.X_OK) else None)
    else:
        found = shutil.which(lk_path)
    if not found:
        raise LkError("lk (the LiveKit CLI) not found as %r on this generator: install it or set lk_path" % lk_path)
    return found


def _stop(proc, grace):
    """SIGINT first: lk then ends the wait and still prints its tables; kill after ``grace`` seconds."""
    try:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=grace)[0]
        return out
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0]
        return out


def _commands(plan_slice, url, api_key, binary, prefix, duration):
    """(plan of one room, lk argv) for each lk process."""
    commands = []
    for i, (room, part) in enumerate(split_plan(plan_slice)):
        room = room or "%s-%d" % (prefix, i)
        commands.append((part, lk_argv(part, url, api_key, room=room, identity_prefix="%s-%d" % (prefix, i),
                                       lk_path=binary, duration=duration)))
    return commands


def _communicate_all(procs, deadline, grace, api_secret):
    """(plan, exit status, stopped at the deadline, output without the secret) of each process."""
    outputs = []
    for part, proc in procs:
        timed_out = False
        try:
            out = proc.communicate(timeout=max(1.0, deadline - time.time()))[0]
        except subprocess.TimeoutExpired:
            timed_out = True
            out = _stop(proc, grace)
        outputs.append((part, proc.returncode, timed_out, redact(out or "", [api_secret])))
    return outputs


def _results(outputs, host, start_at, started_at, ended_at, timeout):
    """The result of each lk process, marked incomplete when it was stopped or failed."""
    results = []
    for part, rc, timed_out, out in outputs:
        try:
            result = parse_lk_output(out, plan=part, host=host, start_at=start_at, started_at=started_at,
                                     ended_at=ended_at)
        except LkError as e:
            tail = " | ".join(out.strip().splitlines()[-5:])
            raise LkError("lk load-test (exit %s%s): %s; last output: %s"
                          % (rc, ", stopped at the deadline" if timed_out else "", e, tail[-800:] or "(none)")) from None
        if timed_out:
            result["complete"] = False
            result["errors"].append("lk did not finish within %d s and was stopped" % timeout)
        if rc not in (0, None) and not timed_out:
            result["complete"] = False
            result["errors"].append("lk exited with status %s" % rc)
        results.append(result)
    return results


def run_lk(module, plan_slice, url, api_key, api_secret, start_at, duration, lk_path="lk", timeout=None,
           host=None, identity_prefix=None, grace=20):
    """Run lk load-test for this generator's share of the plan and return its result (schema 1).

    Sleeps until ``start_at`` (epoch seconds), runs one lk process per room, stops them at the deadline
    (``timeout`` seconds after the start; default: duration + the time lk needs to connect everyone
    at its join rate + 120 s). lk exits 0 also when testers failed: the result is read from the tables.
    """
    binary = _find_lk(module, lk_path)
    prefix = identity_prefix or re.sub(r"[^A-Za-z0-9_-]", "-", host or "lk")
    commands = _commands(plan_slice, url, api_key, binary, prefix, duration)
    env = lk_env(api_secret)
    if timeout is None:
        rate = min(float(plan_slice.get("join_rate") or 5), MAX_JOIN_RATE)
        most = max(planned_participants(command[0]) for command in commands)
        timeout = duration + most / rate + 120
    wait = start_at - time.time()
    if wait > 0:
        time.sleep(wait)
    started_at = time.time()
    procs = [(part, subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True, errors="replace"))
             for part, argv in commands]
    outputs = _communicate_all(procs, started_at + timeout, grace, api_secret)
    results = _results(outputs, host, start_at, started_at, time.time(), timeout)
    result = combine(results)
    result["plan"] = dict(plan_slice)
    planned = sum(planned_participants(command[0]) for command in commands)
    failed = min(result["participants"]["failed"], planned)
    result["participants"] = {"planned": planned, "connected": planned - failed, "failed": failed}
    return result


class LkEngine(Engine):
    """``engine: lk``: one ``lk load-test`` process per room (lk_path on this host)."""

    name = "lk"

    def run(self, job):
        summary = result_plan(job.plan_slice)
        plan = dict(summary, rooms=job.plan_slice["room_names"])
        result = run_lk(job.module, plan, job.url, job.api_key, job.api_secret, job.start_at,
                        job.plan_slice["duration"], lk_path=job.lk_path, host=job.host,
                        identity_prefix="lt-%s-h%d" % (job.plan_slice["room_prefix"], job.plan_slice["host_index"]))
        result["plan"] = summary
        return result
