# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load test results of all generators -> one summary, gates, a comparison with a baseline, the JSON
report. The HTML page is in report_html.py.

Private to this collection: the interface may change without notice. Standard library only.

Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value at
rank ceil(p / 100 * n) (1-based), so it is always a measured value. See docs/load-test-results.md.
"""

from __future__ import annotations

import json
import math

from ansible_collections.rtcstack.livekit.plugins.module_utils import _secrets
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest import SCHEMA

# The result contract (schema 1): the keys a generator's result has; nothing else is copied.
RESULT_KEYS = (
    "schema", "host", "engine", "plan", "start_at", "started_at", "skew_s", "ended_at", "participants",
    "join_ms", "subscribe_ms", "subscribe_from", "tracks", "bytes_received", "packets_received",
    "packets_lost", "jitter_ms", "timeline", "server_samples", "generator", "errors", "complete",
    "not_measured", "derived", "loss_by_track",
)
PLAN_KEYS = ("rooms", "participants", "publishers", "video_publishers", "audio_publishers", "subscribers",
             "resolution", "codec", "simulcast", "join_rate", "duration")
TIMELINE_KEYS = ("t", "connected", "bitrate_kbps", "packets_received", "packets_lost")
SERVER_KEYS = ("t", "url", "participants", "rooms", "cpu_seconds", "memory_bytes", "packets_in", "packets_out",
               "bytes_in", "bytes_out")
GENERATOR_KEYS = ("cpu_seconds", "max_rss_bytes", "wall_seconds", "host_busy_pct", "host_cores")
MAX_GENERATOR_HOST_BUSY_PCT = 90.0  # a generator host busier than this over the run makes the run invalid
FIRST_ERRORS = 10


class ReportError(Exception):
    """A result that does not follow the contract, or a bad gate / baseline."""


def redact(text):
    """Text with tokens and ``secret=...``-like values masked (free text from the generators)."""
    return _secrets.redact(text, mask="<redacted>", assignments=True)


# ---- numbers -------------------------------------------------------------------------------------


def percentile(values, p):
    """Nearest-rank percentile: the value at 1-based rank ceil(p/100 * n) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(math.ceil(p / 100.0 * len(ordered))))
    return ordered[min(rank, len(ordered)) - 1]


def distribution(values):
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not values:
        return dict(count=0, min=None, p50=None, p90=None, p99=None, max=None)
    return dict(count=len(values), min=min(values), p50=percentile(values, 50), p90=percentile(values, 90),
                p99=percentile(values, 99), max=max(values))


def loss_pct(received, lost):
    total = (received or 0) + (lost or 0)
    return None if total == 0 else 100.0 * (lost or 0) / total


def _num(value, where, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReportError("%s must be a number, got %r" % (where, value))
    return value


def _round(value, digits=3):
    return None if value is None else round(value, digits)


# ---- results -------------------------------------------------------------------------------------


def sanitize_result(result, index=0):
    """A result reduced to the contract's keys (so nothing else, e.g. a token, passes through), checked."""
    where = "results[%d]" % index
    if not isinstance(result, dict):
        raise ReportError("%s is not a dict" % where)
    if result.get("schema") != SCHEMA:
        raise ReportError("%s is not a load test result of schema %d (schema: %r)" % (where, SCHEMA, result.get("schema")))
    for key in ("host", "engine", "participants", "started_at", "ended_at"):
        if result.get(key) in (None, ""):
            raise ReportError("%s (host %s) has no %s" % (where, result.get("host") or "?", key))
    r = dict((k, result[k]) for k in RESULT_KEYS if k in result)
    r["host"] = redact(r["host"])
    r["plan"] = dict((k, v) for k, v in (result.get("plan") or {}).items() if k in PLAN_KEYS)
    r["participants"] = dict((k, int(_num((result["participants"] or {}).get(k, 0), where + ".participants." + k)))
                             for k in ("planned", "connected", "failed"))
    r["tracks"] = dict((k, int((result.get("tracks") or {}).get(k) or 0))
                       for k in ("published", "expected_subscriptions", "subscribed"))
    for key in ("join_ms", "subscribe_ms", "jitter_ms"):
        r[key] = [float(_num(v, "%s.%s" % (where, key))) for v in (result.get(key) or [])]
    for key in ("bytes_received", "packets_received", "packets_lost"):
        r[key] = int(_num(result.get(key) or 0, "%s.%s" % (where, key)))
    for key in ("start_at", "started_at", "ended_at", "skew_s"):
        r[key] = _num(result.get(key), "%s.%s" % (where, key), allow_none=True)
    r["timeline"] = [dict((k, p.get(k)) for k in TIMELINE_KEYS) for p in (result.get("timeline") or [])]
    r["server_samples"] = [dict((k, redact(s.get(k)) if k == "url" else s.get(k)) for k in SERVER_KEYS)
                           for s in (result.get("server_samples") or [])]
    r["generator"] = _generator(result.get("generator"), where)
    r["loss_by_track"] = _loss_by_track(result.get("loss_by_track"), where)
    r["errors"] = [redact(e) for e in (result.get("errors") or [])]
    r["complete"] = bool(result.get("complete"))
    r["not_measured"] = [str(x) for x in (result.get("not_measured") or [])]
    if "derived" in result:
        r["derived"] = [redact(x) for x in result["derived"]]
    return r


def _generator(block, where):
    """The generator's own usage (GENERATOR_KEYS; a key an older result lacks is None), or None when not given."""
    if block is None:
        return None
    if not isinstance(block, dict):
        raise ReportError("%s.generator must be a dict, got %r" % (where, block))
    return dict((k, _num(block.get(k), "%s.generator.%s" % (where, k), allow_none=True)) for k in GENERATOR_KEYS)


def _loss_by_track(block, where):
    """{track: {subscriptions, lost_min, lost}} as ints, or None when the engine does not give it."""
    if block is None:
        return None
    if not isinstance(block, dict):
        raise ReportError("%s.loss_by_track must be a dict, got %r" % (where, block))
    out = {}
    for track, v in block.items():
        if not isinstance(v, dict):
            raise ReportError("%s.loss_by_track.%s must be a dict, got %r" % (where, track, v))
        out[str(track)] = dict((k, int(_num(v.get(k) or 0, "%s.loss_by_track.%s.%s" % (where, track, k))))
                               for k in ("subscriptions", "lost_min", "lost"))
    return out


def shared_loss(results, lost):
    """The lost packets that every subscriber of a track lost alike, over all generators: per track the smallest
    loss of one subscription times its subscriptions. That loss happened before the SFU copied the packet to its
    subscribers (the publisher's uplink or the SFU's forwarding), not on a subscriber's path. None unless every
    generator measured it."""
    if any(r["loss_by_track"] is None for r in results):
        return None
    tracks = {}
    for r in results:
        for track, v in r["loss_by_track"].items():
            t = tracks.setdefault(track, dict(subscriptions=0, lost_min=v["lost_min"]))
            t["subscriptions"] += v["subscriptions"]
            t["lost_min"] = min(t["lost_min"], v["lost_min"])
    shared = sum(t["subscriptions"] * t["lost_min"] for t in tracks.values())
    return dict(packets=shared, pct_of_lost=_round(100.0 * shared / lost, 1) if lost else None,
                tracks=sum(1 for t in tracks.values() if t["lost_min"]))


def generator_usage(r):
    """Per generator: its usage as given, plus CPU cores (cpu_seconds / wall_seconds) and both per planned participant,
    and how busy its host was (host_busy_pct of host_cores, the whole machine)."""
    g = r.get("generator")
    if not g:
        return None
    cpu, wall, rss = g["cpu_seconds"], g["wall_seconds"], g["max_rss_bytes"]
    planned = r["participants"]["planned"]
    cores = cpu / wall if cpu is not None and wall else None
    return dict(cpu_seconds=_round(cpu), wall_seconds=_round(wall), max_rss_bytes=rss,
                cpu_cores=_round(cores, 4),
                cpu_cores_per_participant=_round(cores / planned, 5) if cores is not None and planned else None,
                rss_bytes_per_participant=int(round(rss / planned)) if rss is not None and planned else None,
                host_busy_pct=g["host_busy_pct"], host_cores=g["host_cores"])


def generators_usage(usages):
    """Over the generators that measured their usage: sums (they run at the same time) and maxima."""
    usages = [(planned, u) for planned, u in usages if u]

    def values(key):
        return [u[key] for planned, u in usages if u[key] is not None]

    cores, rss, cpu = values("cpu_cores"), values("max_rss_bytes"), values("cpu_seconds")
    planned_cpu = sum(planned for planned, u in usages if u["cpu_cores"] is not None)
    planned_rss = sum(planned for planned, u in usages if u["max_rss_bytes"] is not None)
    return dict(
        measured=len(usages),
        cpu_seconds=_round(sum(cpu)) if cpu else None,
        cpu_cores=_round(sum(cores), 4) if cores else None,
        max_cpu_cores=_round(max(cores), 4) if cores else None,
        rss_bytes=sum(rss) if rss else None,
        max_rss_bytes=max(rss) if rss else None,
        cpu_cores_per_participant=_round(sum(cores) / planned_cpu, 5) if cores and planned_cpu else None,
        rss_bytes_per_participant=int(round(sum(rss) / planned_rss)) if rss and planned_rss else None,
    )


def unwrap(item):
    """A result dict from a registered load_test task result (``{result: {...}}``) or the result itself."""
    if isinstance(item, dict) and "schema" not in item and isinstance(item.get("result"), dict):
        return item["result"]
    return item


def generator_bitrate_kbps(r):
    seconds = (r["ended_at"] or 0) - (r["started_at"] or 0)
    if seconds <= 0:
        return None
    return r["bytes_received"] * 8 / 1000.0 / seconds


def _rooms(results):
    names, counted = set(), 0
    for r in results:
        rooms = r["plan"].get("rooms")
        if isinstance(rooms, list):
            names.update(str(x) for x in rooms)
        elif isinstance(rooms, int) and not isinstance(rooms, bool):
            counted += rooms
    return len(names) + counted


def _peak(samples, key):
    values = [s[key] for s in samples if s.get(key) is not None]
    return max(values) if values else None


def server_peaks(results):
    """Per SFU URL: max participants, rooms, memory, and CPU cores from cpu_seconds deltas; plus the CPU series."""
    by_url = {}
    for r in results:
        for s in r["server_samples"]:
            if s.get("url") is None or s.get("t") is None:
                continue
            by_url.setdefault(s["url"], {})[float(s["t"])] = s  # the same SFU sampled by two generators: once
    peaks = {}
    for url, samples in sorted(by_url.items()):
        ordered = [samples[t] for t in sorted(samples)]
        cpu = []
        for a, b in zip(ordered, ordered[1:]):
            if a.get("cpu_seconds") is None or b.get("cpu_seconds") is None:
                continue
            dt, dcpu = b["t"] - a["t"], b["cpu_seconds"] - a["cpu_seconds"]
            if dt > 0 and dcpu >= 0:  # a negative delta is a restart: skip it
                cpu.append((b["t"], dcpu / dt))
        peaks[url] = dict(samples=len(ordered), max_participants=_peak(ordered, "participants"),
                          max_rooms=_peak(ordered, "rooms"), max_memory_bytes=_peak(ordered, "memory_bytes"),
                          max_cpu_cores=_round(max(sample[1] for sample in cpu), 3) if cpu else None,
                          cpu_cores=[[_round(t, 3), _round(c, 3)] for t, c in cpu])
    return peaks


def _checked(results):
    """(the results sanitized (see sanitize_result) and sorted by host, the hosts in the order given)."""
    if not results:
        raise ReportError("no load test results to report on")
    results = [sanitize_result(unwrap(r), i) for i, r in enumerate(results)]
    hosts = [r["host"] for r in results]
    dup = sorted(set(h for h in hosts if hosts.count(h) > 1))
    if dup:
        raise ReportError("results given twice for host(s) %s" % ", ".join(dup))
    results.sort(key=lambda r: r["host"])
    return results, hosts


def generator_summary(r):
    """One generator's line of the summary."""
    return dict(
        host=r["host"], engine=r["engine"], complete=r["complete"],
        planned=r["participants"]["planned"], connected=r["participants"]["connected"],
        failed=r["participants"]["failed"],
        loss_pct=_round(loss_pct(r["packets_received"], r["packets_lost"]), 4),
        subscribe_ms=distribution(r["subscribe_ms"]), join_ms=distribution(r["join_ms"]),
        bitrate_kbps=_round(generator_bitrate_kbps(r), 1),
        skew_s=_round(r["skew_s"], 3), errors=len(r["errors"]),
        not_measured=sorted(r["not_measured"]),
        usage=generator_usage(r),
    )


def _plan_totals(results):
    def plan_total(key):
        return sum(int(r["plan"].get(key) or 0) for r in results)

    return dict(participants=plan_total("participants"), publishers=plan_total("publishers"),
                video_publishers=plan_total("video_publishers"), audio_publishers=plan_total("audio_publishers"),
                subscribers=plan_total("subscribers"), rooms=_rooms(results),
                duration_s=max(float(r["plan"].get("duration") or 0) for r in results))


def _not_measured(results):
    """{field: [hosts whose engine did not measure it]}."""
    not_measured = {}
    for r in results:
        for field in r["not_measured"]:
            not_measured.setdefault(field, []).append(r["host"])
    return not_measured


def merge(results):
    """One summary of the results of all generators (see docs/load-test-results.md)."""
    results, hosts = _checked(results)

    def total(path):
        return sum(r[path[0]][path[1]] if len(path) == 2 else r[path[0]] for r in results)

    received, lost = total(["packets_received"]), total(["packets_lost"])
    generators = [generator_summary(r) for r in results]
    errors = ["%s: %s" % (r["host"], e) for r in results for e in r["errors"]]
    rates = [g["bitrate_kbps"] for g in generators if g["bitrate_kbps"] is not None]
    started = [r["started_at"] for r in results]
    skews = [abs(r["skew_s"]) for r in results if r["skew_s"] is not None]
    return dict(
        schema=SCHEMA,
        hosts=hosts,
        generators_count=len(results),
        engines=sorted(set(r["engine"] for r in results)),
        complete=all(r["complete"] for r in results),
        window=dict(start=min(started), end=max(r["ended_at"] for r in results)),
        plan=_plan_totals(results),
        participants=dict(planned=total(["participants", "planned"]), connected=total(["participants", "connected"]),
                          failed=total(["participants", "failed"])),
        rooms=_rooms(results),
        tracks=dict(published=total(["tracks", "published"]),
                    expected_subscriptions=total(["tracks", "expected_subscriptions"]),
                    subscribed=total(["tracks", "subscribed"])),
        bytes_received=total(["bytes_received"]),
        packets_received=received,
        packets_lost=lost,
        loss_pct=_round(loss_pct(received, lost), 4),
        loss_shared=shared_loss(results, lost),
        subscribe_ms=distribution([v for r in results for v in r["subscribe_ms"]]),
        join_ms=distribution([v for r in results for v in r["join_ms"]]),
        jitter_ms=distribution([v for r in results for v in r["jitter_ms"]]),
        bitrate_kbps=dict(total=_round(sum(rates), 1) if rates else None,
                          per_generator=dict((g["host"], g["bitrate_kbps"]) for g in generators)),
        errors=dict(count=len(errors), first=errors[:FIRST_ERRORS]),
        start_skew=dict(started_at_spread_s=_round(max(started) - min(started), 3),
                        max_abs_skew_s=_round(max(skews), 3) if skews else None),
        servers=dict((url, dict((k, v) for k, v in p.items() if k != "cpu_cores"))
                     for url, p in server_peaks(results).items()),
        generators=generators,
        generator_usage=generators_usage([(g["planned"], g["usage"]) for g in generators]),
        not_measured=_not_measured(results),
    )


# ---- gates and comparison ------------------------------------------------------------------------

GATES = {
    # gate: (summary value, "max" or "min", unit, label)
    "max_loss_pct": (lambda s: s["loss_pct"], "max", "%", "packet loss"),
    "max_subscribe_p99_ms": (lambda s: s["subscribe_ms"]["p99"], "max", " ms", "subscribe time p99"),
    "max_subscribe_p50_ms": (lambda s: s["subscribe_ms"]["p50"], "max", " ms", "subscribe time p50"),
    "max_join_p99_ms": (lambda s: s["join_ms"]["p99"], "max", " ms", "join time p99"),
    "max_failed_joins": (lambda s: s["participants"]["failed"], "max", "", "failed joins"),
    "max_failed_joins_pct": (lambda s: (100.0 * s["participants"]["failed"] / s["participants"]["planned"])
                             if s["participants"]["planned"] else None, "max", "%", "failed joins"),
    "min_bitrate_kbps": (lambda s: s["bitrate_kbps"]["total"], "min", " kbps", "total received bitrate"),
    "min_generator_bitrate_kbps": (lambda s: min([v for v in s["bitrate_kbps"]["per_generator"].values() if v is not None]
                                                 or [None]), "min", " kbps", "lowest generator bitrate"),
    "max_start_skew_s": (lambda s: s["start_skew"]["max_abs_skew_s"], "max", " s", "start skew"),
    "max_errors": (lambda s: s["errors"]["count"], "max", "", "errors"),
}


def fmt(value, unit=""):
    if value is None:
        return "n/a"
    if isinstance(value, float) and not value.is_integer():
        return "%s%s" % (("%.3f" % value).rstrip("0").rstrip("."), unit)
    return "%d%s" % (value, unit)


def gates(summary, max_loss_pct=None, max_subscribe_p99_ms=None, max_failed_joins=None, min_bitrate_kbps=None,
          **more):
    """[{gate, limit, value, passed, message}] for each limit given. A value not measured fails its gate."""
    limits = dict(max_loss_pct=max_loss_pct, max_subscribe_p99_ms=max_subscribe_p99_ms,
                  max_failed_joins=max_failed_joins, min_bitrate_kbps=min_bitrate_kbps)
    unknown = sorted(set(more) - set(GATES))
    if unknown:
        raise ReportError("unknown gate(s) %s; known: %s" % (", ".join(unknown), ", ".join(sorted(GATES))))
    limits.update(more)
    out = []
    for gate in sorted(GATES):
        limit = limits.get(gate)
        if limit is None:
            continue
        limit = _num(limit, "gate " + gate)
        read, kind, unit, label = GATES[gate]
        value = read(summary)
        if value is None:
            passed = False
            message = "%s: not measured (engines: %s), so the gate %s %s cannot pass" % (
                label, ", ".join(summary.get("engines") or []), gate, fmt(limit, unit))
        elif kind == "max":
            passed = value <= limit
            message = "%s %s %s the limit %s" % (
                label, fmt(value, unit), "is within" if passed else "exceeds", fmt(limit, unit))
            shared = summary.get("loss_shared") or {}
            if gate == "max_loss_pct" and not passed and shared.get("pct_of_lost"):
                message += " (%s of the lost packets every subscriber of the track lost alike: before the SFU's " \
                           "fan-out, at a publisher or in the SFU's forwarding)" % fmt(shared["pct_of_lost"], "%")
        else:
            passed = value >= limit
            message = "%s %s %s the minimum %s" % (
                label, fmt(value, unit), "meets" if passed else "is below", fmt(limit, unit))
        out.append(dict(gate=gate, limit=limit, value=_round(value, 4) if isinstance(value, float) else value,
                        passed=passed, message=message))
    return out


def saturation(summary, limit=MAX_GENERATOR_HOST_BUSY_PCT):
    """Which generator hosts were busier than ``limit`` % over the run (their figures), and which did not say.

    {limit_pct, saturated: [{host, host_busy_pct, host_cores}], not_measured: [host]}. A result without the
    figure (an older generator, or no /proc/stat) is listed in not_measured and never makes a run invalid.
    """
    limit = _num(limit, "max_generator_host_busy_pct")
    saturated, not_measured = [], []
    for g in summary["generators"]:
        busy = (g["usage"] or {}).get("host_busy_pct")
        if busy is None:
            not_measured.append(g["host"])
        elif busy > limit:
            saturated.append(dict(host=g["host"], host_busy_pct=busy, host_cores=g["usage"].get("host_cores")))
    return dict(limit_pct=limit, saturated=saturated, not_measured=not_measured)


def host_text(s):
    return "%s was %s busy%s" % (s["host"], fmt(s["host_busy_pct"], " %"),
                                 "" if s["host_cores"] is None else " (%d cores)" % s["host_cores"])


def verdict(summary, gate_results, limit=MAX_GENERATOR_HOST_BUSY_PCT):
    """The run's verdict: {result, label, message, saturation}.

    ``invalid`` when a generator host was saturated (busier than ``limit`` %): the run measured the generator,
    so it is neither a pass nor a fail of the SFU, whatever the gates say. Otherwise the gates decide:
    ``fail`` when one failed, else ``pass``.
    """
    sat = saturation(summary, limit)
    failed = [g for g in gate_results if not g["passed"]]
    if sat["saturated"]:
        result, label = "invalid", "invalid: generator saturated"
        message = "%s: %s over the run, above the limit %s; the SFU gates (%d of %d failed) do not decide this run" % (
            label, "; ".join(host_text(h) for h in sat["saturated"]), fmt(sat["limit_pct"], " %"), len(failed),
            len(gate_results))
    elif failed:
        result, label = "fail", "fail"
        message = "%d of %d gate(s) failed" % (len(failed), len(gate_results))
    else:
        result, label = "pass", "pass"
        message = "every gate passed" if gate_results else "no gate given"
    if sat["not_measured"]:
        message += "; generator host CPU not measured on %s (not checked for saturation)" % ", ".join(sat["not_measured"])
    return dict(result=result, label=label, message=message, saturation=sat)


def compare(summary, baseline, tolerance_pct=10.0):
    """Regressions of ``summary`` against ``baseline`` (an earlier summary): a list, empty when none.

    Flagged: loss % up by more than tolerance % of the baseline (and by at least 0.01 points), subscribe
    and join p99 up by more than tolerance %, failed joins up, total bitrate down by more than tolerance %.
    A value missing on either side is not compared.
    """
    if isinstance(baseline, dict) and isinstance(baseline.get("summary"), dict):  # the whole JSON report
        baseline = baseline["summary"]
    if not isinstance(baseline, dict) or baseline.get("schema") != SCHEMA:
        raise ReportError("the baseline is not a load test summary of schema %d" % SCHEMA)
    tol = float(tolerance_pct) / 100.0
    checks = [
        ("loss_pct", summary["loss_pct"], baseline.get("loss_pct"), "up", "%", 0.01),
        ("subscribe_p99_ms", summary["subscribe_ms"]["p99"], (baseline.get("subscribe_ms") or {}).get("p99"), "up", " ms", 0),
        ("join_p99_ms", summary["join_ms"]["p99"], (baseline.get("join_ms") or {}).get("p99"), "up", " ms", 0),
        ("failed_joins", summary["participants"]["failed"], (baseline.get("participants") or {}).get("failed"), "count", "", 0),
        ("bitrate_kbps", summary["bitrate_kbps"]["total"], (baseline.get("bitrate_kbps") or {}).get("total"), "down", " kbps", 0),
    ]
    regressions = []
    for metric, value, base, direction, unit, floor in checks:
        if value is None or base is None:
            continue
        change = None if base == 0 else 100.0 * (value - base) / base
        if direction == "count":
            bad = value > base
        elif direction == "up":
            bad = value - base > max(base * tol, floor)
        else:
            bad = base - value > base * tol
        if bad:
            regressions.append(dict(
                metric=metric, baseline=base, value=value, change_pct=_round(change, 2),
                message="%s %s from %s to %s%s" % (
                    metric, "fell" if direction == "down" else "rose", fmt(base, unit), fmt(value, unit),
                    "" if change is None else " (%+.1f%%, tolerance %g%%)" % (change, tolerance_pct))))
    return regressions


def report_json(summary, results, gate_results, comparison):
    """The JSON report: summary, sanitized per-host results, gates, comparison (stable key order)."""
    doc = dict(schema=SCHEMA, summary=summary,
               results=sorted((sanitize_result(unwrap(r), i) for i, r in enumerate(results)), key=lambda r: r["host"]),
               gates=gate_results, comparison=comparison)
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
