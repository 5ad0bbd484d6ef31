# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load test results of all generators -> one summary, gates, a comparison with a baseline, an HTML report.

Private to this collection: the interface may change without notice. Standard library only.

Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value at
rank ceil(p / 100 * n) (1-based), so it is always a measured value. See docs/load-test-results.md.
"""

from __future__ import annotations

import html
import json
import math
import re

SCHEMA = 1

# The result contract (schema 1): the keys a generator's result has; nothing else is copied.
RESULT_KEYS = (
    "schema", "host", "engine", "plan", "start_at", "started_at", "skew_s", "ended_at", "participants",
    "join_ms", "subscribe_ms", "subscribe_from", "tracks", "bytes_received", "packets_received",
    "packets_lost", "jitter_ms", "timeline", "server_samples", "generator", "errors", "complete",
    "not_measured", "derived",
)
PLAN_KEYS = ("rooms", "participants", "publishers", "video_publishers", "audio_publishers", "subscribers",
             "resolution", "codec", "simulcast", "join_rate", "duration")
TIMELINE_KEYS = ("t", "connected", "bitrate_kbps", "packets_received", "packets_lost")
SERVER_KEYS = ("t", "url", "participants", "rooms", "cpu_seconds", "memory_bytes", "packets_in", "packets_out",
               "bytes_in", "bytes_out")
GENERATOR_KEYS = ("cpu_seconds", "max_rss_bytes", "wall_seconds")
FIRST_ERRORS = 10

SECRETISH = [
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "<token>"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s<]\S*"), r"\1 <redacted>"),
    (re.compile(r"(?i)\b(access_token|token|api_secret|secret|password|passwd)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&<]+)"),
     r"\1\2<redacted>"),
]


class ReportError(Exception):
    """A result that does not follow the contract, or a bad gate / baseline."""


def redact(text):
    """Text with tokens and ``secret=...``-like values masked."""
    text = str(text)
    for pattern, repl in SECRETISH:
        text = pattern.sub(repl, text)
    return text


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
    r["errors"] = [redact(e) for e in (result.get("errors") or [])]
    r["complete"] = bool(result.get("complete"))
    r["not_measured"] = [str(x) for x in (result.get("not_measured") or [])]
    if "derived" in result:
        r["derived"] = [redact(x) for x in result["derived"]]
    return r


def _generator(block, where):
    """The generator's own usage (cpu_seconds, max_rss_bytes, wall_seconds), or None when not given."""
    if block is None:
        return None
    if not isinstance(block, dict):
        raise ReportError("%s.generator must be a dict, got %r" % (where, block))
    return dict((k, _num(block.get(k), "%s.generator.%s" % (where, k), allow_none=True)) for k in GENERATOR_KEYS)


def generator_usage(r):
    """Per generator: its usage as given, plus CPU cores (cpu_seconds / wall_seconds) and both per planned participant."""
    g = r.get("generator")
    if not g:
        return None
    cpu, wall, rss = g["cpu_seconds"], g["wall_seconds"], g["max_rss_bytes"]
    planned = r["participants"]["planned"]
    cores = cpu / wall if cpu is not None and wall else None
    return dict(cpu_seconds=_round(cpu), wall_seconds=_round(wall), max_rss_bytes=rss,
                cpu_cores=_round(cores, 4),
                cpu_cores_per_participant=_round(cores / planned, 5) if cores is not None and planned else None,
                rss_bytes_per_participant=int(round(rss / planned)) if rss is not None and planned else None)


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


def merge(results):
    """One summary of the results of all generators (see docs/load-test-results.md)."""
    if not results:
        raise ReportError("no load test results to report on")
    results = [sanitize_result(unwrap(r), i) for i, r in enumerate(results)]
    hosts = [r["host"] for r in results]
    dup = sorted(set(h for h in hosts if hosts.count(h) > 1))
    if dup:
        raise ReportError("results given twice for host(s) %s" % ", ".join(dup))
    results.sort(key=lambda r: r["host"])

    def total(path):
        return sum(r[path[0]][path[1]] if len(path) == 2 else r[path[0]] for r in results)

    def plan_total(key):
        return sum(int(r["plan"].get(key) or 0) for r in results)

    received, lost = total(["packets_received"]), total(["packets_lost"])
    generators = []
    for r in results:
        generators.append(dict(
            host=r["host"], engine=r["engine"], complete=r["complete"],
            planned=r["participants"]["planned"], connected=r["participants"]["connected"],
            failed=r["participants"]["failed"],
            loss_pct=_round(loss_pct(r["packets_received"], r["packets_lost"]), 4),
            subscribe_ms=distribution(r["subscribe_ms"]), join_ms=distribution(r["join_ms"]),
            bitrate_kbps=_round(generator_bitrate_kbps(r), 1),
            skew_s=_round(r["skew_s"], 3), errors=len(r["errors"]),
            not_measured=sorted(r["not_measured"]),
            usage=generator_usage(r),
        ))
    errors = ["%s: %s" % (r["host"], e) for r in results for e in r["errors"]]
    rates = [g["bitrate_kbps"] for g in generators if g["bitrate_kbps"] is not None]
    started = [r["started_at"] for r in results]
    skews = [abs(r["skew_s"]) for r in results if r["skew_s"] is not None]
    not_measured = {}
    for r in results:
        for field in r["not_measured"]:
            not_measured.setdefault(field, []).append(r["host"])
    return dict(
        schema=SCHEMA,
        hosts=hosts,
        generators_count=len(results),
        engines=sorted(set(r["engine"] for r in results)),
        complete=all(r["complete"] for r in results),
        window=dict(start=min(started), end=max(r["ended_at"] for r in results)),
        plan=dict(participants=plan_total("participants"), publishers=plan_total("publishers"),
                  video_publishers=plan_total("video_publishers"), audio_publishers=plan_total("audio_publishers"),
                  subscribers=plan_total("subscribers"), rooms=_rooms(results),
                  duration_s=max(float(r["plan"].get("duration") or 0) for r in results)),
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
        not_measured=not_measured,
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


def _fmt(value, unit=""):
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
                label, ", ".join(summary.get("engines") or []), gate, _fmt(limit, unit))
        elif kind == "max":
            passed = value <= limit
            message = "%s %s %s the limit %s" % (
                label, _fmt(value, unit), "is within" if passed else "exceeds", _fmt(limit, unit))
        else:
            passed = value >= limit
            message = "%s %s %s the minimum %s" % (
                label, _fmt(value, unit), "meets" if passed else "is below", _fmt(limit, unit))
        out.append(dict(gate=gate, limit=limit, value=_round(value, 4) if isinstance(value, float) else value,
                        passed=passed, message=message))
    return out


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
                    metric, "fell" if direction == "down" else "rose", _fmt(base, unit), _fmt(value, unit),
                    "" if change is None else " (%+.1f%%, tolerance %g%%)" % (change, tolerance_pct))))
    return regressions


# ---- HTML ----------------------------------------------------------------------------------------

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
E = html.escape


def _ticks(lo, hi, n=5):
    if hi <= lo:
        hi = lo + 1.0
    step = (hi - lo) / n
    magnitude = 10 ** math.floor(math.log10(step))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= step), default=step)
    start = math.floor(lo / step) * step
    ticks = [round(start, 10)]
    while ticks[-1] < hi and len(ticks) < 30:  # the last tick is at or above the highest value
        ticks.append(round(start + len(ticks) * step, 10))
    return ticks


def _label(v):
    if abs(v) >= 1e9:
        return "%.3g" % v
    return "%d" % v if float(v).is_integer() else "%.4g" % v


def svg_frame(title, xs, ys, xlabel, ylabel, body_fn, width=760, height=280, note=None):
    """An SVG with axes scaled to xs/ys; ``body_fn(sx, sy)`` returns the marks."""
    left, right, top, bottom = 64, 16, 30, 44
    out = ['<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="%d" height="%d" viewBox="0 0 %d %d" role="img">'
           % (width, height, width, height), '<title>%s</title>' % E(title),
           '<text x="%d" y="18" class="t">%s</text>' % (left, E(title))]
    if not xs or not ys:
        out.append('<text x="%d" y="%d" class="nodata">%s</text>' % (left, height // 2, E(note or "no data")))
        out.append("</svg>")
        return "\n".join(out)
    xt, yt = _ticks(min(xs), max(xs)), _ticks(min([0.0] + list(ys)), max(ys))
    x0, x1, y0, y1 = xt[0], xt[-1], yt[0], yt[-1]
    pw, ph = width - left - right, height - top - bottom

    def sx(x):
        return left + (x - x0) / ((x1 - x0) or 1) * pw

    def sy(y):
        return top + ph - (y - y0) / ((y1 - y0) or 1) * ph

    for t in yt:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>' % (left, left + pw, sy(t), sy(t)))
        out.append('<text x="%d" y="%.1f" class="ax" text-anchor="end">%s</text>' % (left - 4, sy(t) + 4, _label(t)))
    for t in xt:
        out.append('<text x="%.1f" y="%d" class="ax" text-anchor="middle">%s</text>' % (sx(t), top + ph + 16, _label(t)))
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" class="axis"/>' % (left, left + pw, top + ph, top + ph))
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" class="axis"/>' % (left, left, top, top + ph))
    out.append('<text x="%d" y="%d" class="ax" text-anchor="middle">%s</text>' % (left + pw // 2, height - 6, E(xlabel)))
    out.append('<text x="12" y="%d" class="ax" transform="rotate(-90 12 %d)" text-anchor="middle">%s</text>'
               % (top + ph // 2, top + ph // 2, E(ylabel)))
    out.extend(body_fn(sx, sy))
    out.append("</svg>")
    return "\n".join(out)


def line_chart(title, series, xlabel, ylabel, note=None):
    """``series``: [(name, [(x, y), ...])]. One polyline per series, a legend."""
    series = [(name, [(x, y) for x, y in pts if x is not None and y is not None]) for name, pts in series]
    series = [(name, pts) for name, pts in series if pts]
    xs = [point[0] for line in series for point in line[1]]
    ys = [point[1] for line in series for point in line[1]]

    def body(sx, sy):
        marks = []
        for i, (name, pts) in enumerate(series):
            color = COLORS[i % len(COLORS)]
            points = " ".join("%.1f,%.1f" % (sx(x), sy(y)) for x, y in pts)
            marks.append('<polyline class="series" fill="none" stroke="%s" stroke-width="1.5" points="%s">'
                         '<title>%s</title></polyline>' % (color, points, E(name)))
            marks.append('<text x="%d" y="%d" class="legend" fill="%s">%s</text>'
                         % (80 + 150 * (i % 4), 44 + 12 * (i // 4), color, E(name)))
        return marks

    return svg_frame(title, xs, ys, xlabel, ylabel, body, note=note)


def histogram(title, values, xlabel, bins=30, markers=None, note=None):
    """Bars of counts over equal-width bins, with vertical marker lines (e.g. percentiles)."""
    values = [v for v in values if v is not None]
    if not values:
        return svg_frame(title, [], [], xlabel, "count", None, note=note)
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins if hi > lo else 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    edges = [lo + i * width for i in range(bins + 1)]

    def body(sx, sy):
        marks = []
        for i, c in enumerate(counts):
            if c:
                marks.append('<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#1f77b4">'
                             '<title>%s-%s: %d</title></rect>'
                             % (sx(edges[i]), sy(c), max(1.0, sx(edges[i + 1]) - sx(edges[i]) - 1), sy(0) - sy(c),
                                _label(edges[i]), _label(edges[i + 1]), c))
        for j, (name, x) in enumerate(markers or []):
            if x is None:
                continue
            marks.append('<line class="marker" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#d62728" stroke-dasharray="4 3"/>'
                         % (sx(x), sx(x), sy(0), sy(max(counts))))
            marks.append('<text x="%.1f" y="%.1f" class="legend" fill="#d62728">%s %s</text>'
                         % (sx(x) + 3, sy(max(counts)) + 12 + 12 * j, E(name), _label(x)))
        return marks

    return svg_frame(title, edges, [0] + counts, xlabel, "count", body)


def _timeline_series(results, t0):
    bitrate, loss = [], []
    for r in results:
        pts = sorted((p for p in r["timeline"] if p.get("t") is not None), key=lambda p: p["t"])
        bitrate.append((r["host"], [(p["t"] - t0, p.get("bitrate_kbps")) for p in pts]))
        lpts = []
        for a, b in zip(pts, pts[1:]):
            if None in (a.get("packets_received"), b.get("packets_received"), a.get("packets_lost"), b.get("packets_lost")):
                continue
            drecv, dlost = b["packets_received"] - a["packets_received"], b["packets_lost"] - a["packets_lost"]
            if drecv >= 0 and dlost >= 0 and drecv + dlost > 0:  # timeline counters are totals since the start
                lpts.append((b["t"] - t0, 100.0 * dlost / (drecv + dlost)))
        loss.append((r["host"], lpts))
    return bitrate, loss


def _duration_text(seconds):
    if not seconds:
        return "n/a"
    if seconds % 60 == 0:
        return "%d min" % (seconds // 60)
    return "%g s" % seconds


def operator_row(summary, name):
    """The summary in the operators' load-test table columns (scenario .. result)."""
    plan = summary["plan"]
    rooms = summary["rooms"]
    participants = plan["participants"] or summary["participants"]["planned"]
    rooms_text = "%d x %d" % (rooms, participants // rooms) if rooms > 1 and participants % rooms == 0 else str(rooms)
    if summary["generators_count"] > 1:
        rooms_text += " (%d generators)" % summary["generators_count"]
    sub = summary["subscribe_ms"]
    parts = ["loss %s" % ("n/a" if summary["loss_pct"] is None else "%.2f%%" % summary["loss_pct"])]
    if sub["count"]:
        parts.append("subscribe p50 %d ms, p90 %d ms, p99 %d ms" % (round(sub["p50"]), round(sub["p90"]), round(sub["p99"])))
        if summary["not_measured"].get("subscribe_ms"):
            parts.append("subscribe time not measured on %s" % ", ".join(summary["not_measured"]["subscribe_ms"]))
    else:
        parts.append("subscribe time not measured")
    if summary["participants"]["failed"]:
        parts.append("%d failed joins" % summary["participants"]["failed"])
    rates = [v for v in summary["bitrate_kbps"]["per_generator"].values() if v is not None]
    if len(rates) > 1:
        parts.append("~%.0f Mbit/s RX per generator" % (sum(rates) / len(rates) / 1000.0))
    elif rates:
        parts.append("%.1f Mbit/s RX" % (rates[0] / 1000.0))
    return [name, str(participants), "%d (%d)" % (plan["publishers"], plan["video_publishers"]), rooms_text,
            _duration_text(plan["duration_s"]), ", ".join(parts)]


def _mib(value):
    return "n/a" if value is None else "%.1f MiB" % (value / 1048576.0)


def _dist_text(d):
    return "%s / %s / %s (%d)" % (_fmt(d["p50"]), _fmt(d["p90"]), _fmt(d["p99"]), d["count"])


def _table(headers, rows, cls=""):
    out = ['<table class="%s"><thead><tr>%s</tr></thead><tbody>' % (E(cls), "".join("<th>%s</th>" % E(h) for h in headers))]
    for row in rows:
        out.append("<tr>%s</tr>" % "".join("<td>%s</td>" % E("" if c is None else str(c)) for c in row))
    out.append("</tbody></table>")
    return "\n".join(out)


CSS = """body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #bbb;padding:3px 8px;text-align:left;font-size:13px}
th{background:#eee}.fail{color:#b00;font-weight:bold}.pass{color:#070}
svg.plot{display:block;margin:8px 0 20px;background:#fafafa;border:1px solid #ddd}
svg .t{font-size:13px;font-weight:bold}svg .ax,svg .legend{font-size:11px}svg .nodata{font-size:13px;fill:#888}
svg .grid{stroke:#e4e4e4}svg .axis{stroke:#444}"""


def render_html(summary, results, gate_results=None, comparison=None, name="load test"):
    """One self-contained HTML page: no scripts, no external CSS or fonts; inline SVG plots."""
    results = sorted((sanitize_result(unwrap(r), i) for i, r in enumerate(results)), key=lambda r: r["host"])
    t0 = summary["window"]["start"]
    bitrate, loss = _timeline_series(results, t0)
    peaks = server_peaks(results)
    sub = summary["subscribe_ms"]
    lk_note = "not measured by engine(s) %s" % ", ".join(summary["engines"])
    body = ["<h1>%s</h1>" % E(name)]
    status = "complete" if summary["complete"] else "INCOMPLETE: some generators did not finish"
    body.append('<p>%d generator(s): %s. Engines: %s. %s.</p>' % (
        summary["generators_count"], E(", ".join(summary["hosts"])), E(", ".join(summary["engines"])), E(status)))
    body.append("<h2>Result (operators' load-test table columns)</h2>")
    body.append(_table(["scenario", "participants", "publishers (video)", "rooms", "duration", "result"],
                       [operator_row(summary, name)], "operators"))
    if gate_results:
        body.append("<h2>Gates</h2>")
        rows = "".join('<tr><td>%s</td><td>%s</td><td>%s</td><td class="%s">%s</td><td>%s</td></tr>' % (
            E(g["gate"]), E(_fmt(g["limit"])), E(_fmt(g["value"])), "pass" if g["passed"] else "fail",
            "pass" if g["passed"] else "FAIL", E(g["message"])) for g in gate_results)
        body.append("<table><thead><tr><th>gate</th><th>limit</th><th>value</th><th>result</th><th>detail</th></tr>"
                    "</thead><tbody>%s</tbody></table>" % rows)
    if comparison is not None:
        body.append("<h2>Comparison with the baseline</h2>")
        if comparison:
            body.append(_table(["metric", "baseline", "now", "change %", "detail"],
                               [[c["metric"], _fmt(c["baseline"]), _fmt(c["value"]), c["change_pct"], c["message"]]
                                for c in comparison]))
        else:
            body.append("<p>No regression against the baseline.</p>")
    body.append("<h2>Summary</h2>")
    p, join, tracks = summary["participants"], summary["join_ms"], summary["tracks"]
    rows = [
        ["participants planned / connected / failed", "%d / %d / %d" % (p["planned"], p["connected"], p["failed"])],
        ["rooms", summary["rooms"]],
        ["tracks subscribed / expected", "%d / %d" % (tracks["subscribed"], tracks["expected_subscriptions"])],
        ["packets received / lost", "%d / %d" % (summary["packets_received"], summary["packets_lost"])],
        ["loss", _fmt(summary["loss_pct"], "%")],
        ["bytes received", summary["bytes_received"]],
        ["total received bitrate", _fmt(summary["bitrate_kbps"]["total"], " kbps")],
        ["subscribe time p50 / p90 / p99 ms (n)", _dist_text(sub)],
        ["join time p50 / p90 / p99 ms (n)", _dist_text(join)],
        ["start spread / max |skew|", "%s / %s" % (
            _fmt(summary["start_skew"]["started_at_spread_s"], " s"), _fmt(summary["start_skew"]["max_abs_skew_s"], " s"))],
        ["errors", summary["errors"]["count"]],
    ]
    usage = summary["generator_usage"]
    if usage["measured"]:
        rows.append(["generators' CPU: cores in all / per participant (%d measured)" % usage["measured"],
                     "%s / %s" % (_fmt(usage["cpu_cores"]), "n/a" if usage["cpu_cores_per_participant"] is None
                                  else "%.3g" % usage["cpu_cores_per_participant"])])
        rows.append(["generators' peak RSS: sum / largest / per participant", "%s / %s / %s" % (
            _mib(usage["rss_bytes"]), _mib(usage["max_rss_bytes"]), _mib(usage["rss_bytes_per_participant"]))])
    body.append(_table(["", ""], rows))
    if summary["not_measured"]:
        body.append("<p>Not measured: %s.</p>" % E("; ".join(
            "%s (%s)" % (k, ", ".join(v)) for k, v in sorted(summary["not_measured"].items()))))
    body.append("<h2>Plots</h2>")
    body.append(histogram("Subscribe time distribution", [v for r in results for v in r["subscribe_ms"]], "ms",
                          markers=[("p50", sub["p50"]), ("p90", sub["p90"]), ("p99", sub["p99"])], note=lk_note))
    body.append(line_chart("Received bitrate over time", bitrate, "s since start", "kbps", note=lk_note))
    body.append(line_chart("Packet loss over time", loss, "s since start", "loss %", note=lk_note))
    body.append(line_chart("SFU CPU over time", [(url, [(t - t0, c) for t, c in p["cpu_cores"]]) for url, p in peaks.items()],
                           "s since start", "CPU cores", note="no SFU samples with cpu_seconds"))
    body.append("<h2>Generators</h2>")
    body.append(_table(
        ["host", "engine", "planned", "connected", "failed", "loss %", "subscribe p50 / p99 ms", "join p99 ms",
         "bitrate kbps", "skew s", "CPU cores", "peak RSS", "errors", "complete"],
        [[g["host"], g["engine"], g["planned"], g["connected"], g["failed"], _fmt(g["loss_pct"]),
          "%s / %s" % (_fmt(g["subscribe_ms"]["p50"]), _fmt(g["subscribe_ms"]["p99"])), _fmt(g["join_ms"]["p99"]),
          _fmt(g["bitrate_kbps"]), _fmt(g["skew_s"]), _fmt((g["usage"] or {}).get("cpu_cores")),
          _mib((g["usage"] or {}).get("max_rss_bytes")), g["errors"], "yes" if g["complete"] else "NO"]
         for g in summary["generators"]]))
    if summary["servers"]:
        body.append("<h2>SFU peaks</h2>")
        body.append(_table(["url", "samples", "max participants", "max rooms", "max CPU cores", "max memory MiB"],
                           [[u, s["samples"], _fmt(s["max_participants"]), _fmt(s["max_rooms"]), _fmt(s["max_cpu_cores"]),
                             _fmt(None if s["max_memory_bytes"] is None else s["max_memory_bytes"] / 1048576.0)]
                            for u, s in sorted(summary["servers"].items())]))
    if summary["errors"]["first"]:
        body.append("<h2>First errors (%d in all)</h2>" % summary["errors"]["count"])
        body.append("<ul>%s</ul>" % "".join("<li>%s</li>" % E(e) for e in summary["errors"]["first"]))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>%s</title><style>%s</style></head>\n'
            '<body>\n%s\n</body></html>\n' % (E(name), CSS, "\n".join(body)))


def report_json(summary, results, gate_results, comparison):
    """The JSON report: summary, sanitized per-host results, gates, comparison (stable key order)."""
    doc = dict(schema=SCHEMA, summary=summary,
               results=sorted((sanitize_result(unwrap(r), i) for i, r in enumerate(results)), key=lambda r: r["host"]),
               gates=gate_results, comparison=comparison)
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
