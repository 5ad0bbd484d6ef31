# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML report of a load test: one self-contained page with tables and inline SVG plots.

Private to this collection: the interface may change without notice. Standard library only.
"""

from __future__ import annotations

import html
import math

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.report import (
    fmt,
    sanitize_result,
    server_peaks,
    unwrap,
)

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
    shared = summary.get("loss_shared") or {}
    if shared.get("pct_of_lost"):
        parts[0] += " (%.0f%% of it lost alike by every subscriber of the track: before the SFU's fan-out)" % (
            shared["pct_of_lost"])
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
    if (summary.get("verdict") or {}).get("result") == "invalid":
        parts.insert(0, summary["verdict"]["label"])
    return [name, str(participants), "%d (%d)" % (plan["publishers"], plan["video_publishers"]), rooms_text,
            _duration_text(plan["duration_s"]), ", ".join(parts)]


def _mib(value):
    return "n/a" if value is None else "%.1f MiB" % (value / 1048576.0)


def _dist_text(d):
    return "%s / %s / %s (%d)" % (fmt(d["p50"]), fmt(d["p90"]), fmt(d["p99"]), d["count"])


def _table(headers, rows, cls=""):
    out = ['<table class="%s"><thead><tr>%s</tr></thead><tbody>' % (E(cls), "".join("<th>%s</th>" % E(h) for h in headers))]
    for row in rows:
        out.append("<tr>%s</tr>" % "".join("<td>%s</td>" % E("" if c is None else str(c)) for c in row))
    out.append("</tbody></table>")
    return "\n".join(out)


CSS = """body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #bbb;padding:3px 8px;text-align:left;font-size:13px}
th{background:#eee}.fail{color:#b00;font-weight:bold}.pass{color:#070}.invalid{color:#a60;font-weight:bold}
svg.plot{display:block;margin:8px 0 20px;background:#fafafa;border:1px solid #ddd}
svg .t{font-size:13px;font-weight:bold}svg .ax,svg .legend{font-size:11px}svg .nodata{font-size:13px;fill:#888}
svg .grid{stroke:#e4e4e4}svg .axis{stroke:#444}"""


def _verdict_html(v):
    detail = v["message"][len(v["label"]) + 2:] if v["message"].startswith(v["label"] + ": ") else v["message"]
    return '<p>Verdict: <span class="%s" id="verdict">%s</span>: %s.</p>' % (E(v["result"]), E(v["label"]), E(detail))


def _gates_html(gate_results, verdict=None):
    heading = "Gates" if (verdict or {}).get("result") != "invalid" else "Gates (shown; not the verdict: generator saturated)"
    rows = "".join('<tr><td>%s</td><td>%s</td><td>%s</td><td class="%s">%s</td><td>%s</td></tr>' % (
        E(g["gate"]), E(fmt(g["limit"])), E(fmt(g["value"])), "pass" if g["passed"] else "fail",
        "pass" if g["passed"] else "FAIL", E(g["message"])) for g in gate_results)
    return ["<h2>%s</h2>" % E(heading),
            "<table><thead><tr><th>gate</th><th>limit</th><th>value</th><th>result</th><th>detail</th></tr>"
            "</thead><tbody>%s</tbody></table>" % rows]


def _comparison_html(comparison):
    body = ["<h2>Comparison with the baseline</h2>"]
    if comparison:
        body.append(_table(["metric", "baseline", "now", "change %", "detail"],
                           [[c["metric"], fmt(c["baseline"]), fmt(c["value"]), c["change_pct"], c["message"]]
                            for c in comparison]))
    else:
        body.append("<p>No regression against the baseline.</p>")
    return body


def _shared_text(shared):
    if shared is None:
        return "n/a (not given by every engine)"
    return "%d (%s)" % (shared["packets"], fmt(shared["pct_of_lost"], "%"))


def _summary_rows(summary):
    """The rows of the Summary table."""
    p, tracks = summary["participants"], summary["tracks"]
    rows = [
        ["participants planned / connected / failed", "%d / %d / %d" % (p["planned"], p["connected"], p["failed"])],
        ["rooms", summary["rooms"]],
        ["tracks subscribed / expected", "%d / %d" % (tracks["subscribed"], tracks["expected_subscriptions"])],
        ["packets received / lost", "%d / %d" % (summary["packets_received"], summary["packets_lost"])],
        ["loss", fmt(summary["loss_pct"], "%")],
        ["lost alike by every subscriber of a track (packets, % of lost)", _shared_text(summary.get("loss_shared"))],
        ["bytes received", summary["bytes_received"]],
        ["total received bitrate", fmt(summary["bitrate_kbps"]["total"], " kbps")],
        ["subscribe time p50 / p90 / p99 ms (n)", _dist_text(summary["subscribe_ms"])],
        ["join time p50 / p90 / p99 ms (n)", _dist_text(summary["join_ms"])],
        ["start spread / max |skew|", "%s / %s" % (
            fmt(summary["start_skew"]["started_at_spread_s"], " s"), fmt(summary["start_skew"]["max_abs_skew_s"], " s"))],
        ["errors", summary["errors"]["count"]],
    ]
    usage = summary["generator_usage"]
    if usage["measured"]:
        rows.append(["generators' CPU: cores in all / per participant (%d measured)" % usage["measured"],
                     "%s / %s" % (fmt(usage["cpu_cores"]), "n/a" if usage["cpu_cores_per_participant"] is None
                                  else "%.3g" % usage["cpu_cores_per_participant"])])
        rows.append(["generators' peak RSS: sum / largest / per participant", "%s / %s / %s" % (
            _mib(usage["rss_bytes"]), _mib(usage["max_rss_bytes"]), _mib(usage["rss_bytes_per_participant"]))])
    return rows


def _plots(summary, results):
    t0 = summary["window"]["start"]
    bitrate, loss = _timeline_series(results, t0)
    peaks = server_peaks(results)
    sub = summary["subscribe_ms"]
    lk_note = "not measured by engine(s) %s" % ", ".join(summary["engines"])
    return [
        "<h2>Plots</h2>",
        histogram("Subscribe time distribution", [v for r in results for v in r["subscribe_ms"]], "ms",
                  markers=[("p50", sub["p50"]), ("p90", sub["p90"]), ("p99", sub["p99"])], note=lk_note),
        line_chart("Received bitrate over time", bitrate, "s since start", "kbps", note=lk_note),
        line_chart("Packet loss over time", loss, "s since start", "loss %", note=lk_note),
        line_chart("SFU CPU over time", [(url, [(t - t0, c) for t, c in p["cpu_cores"]]) for url, p in peaks.items()],
                   "s since start", "CPU cores", note="no SFU samples with cpu_seconds"),
    ]


def _generators_html(summary):
    return ["<h2>Generators</h2>", _table(
        ["host", "engine", "planned", "connected", "failed", "loss %", "subscribe p50 / p99 ms", "join p99 ms",
         "bitrate kbps", "skew s", "CPU cores", "peak RSS", "host CPU busy (cores)", "errors", "complete"],
        [[g["host"], g["engine"], g["planned"], g["connected"], g["failed"], fmt(g["loss_pct"]),
          "%s / %s" % (fmt(g["subscribe_ms"]["p50"]), fmt(g["subscribe_ms"]["p99"])), fmt(g["join_ms"]["p99"]),
          fmt(g["bitrate_kbps"]), fmt(g["skew_s"]), fmt((g["usage"] or {}).get("cpu_cores")),
          _mib((g["usage"] or {}).get("max_rss_bytes")), _host_busy_text(g["usage"]), g["errors"],
          "yes" if g["complete"] else "NO"]
         for g in summary["generators"]])]


def _host_busy_text(usage):
    usage = usage or {}
    if usage.get("host_busy_pct") is None:
        return "n/a"
    return "%s (%s)" % (fmt(usage["host_busy_pct"], " %"), fmt(usage.get("host_cores")))


def _servers_html(servers):
    return ["<h2>SFU peaks</h2>",
            _table(["url", "samples", "max participants", "max rooms", "max CPU cores", "max memory MiB"],
                   [[u, s["samples"], fmt(s["max_participants"]), fmt(s["max_rooms"]), fmt(s["max_cpu_cores"]),
                     fmt(None if s["max_memory_bytes"] is None else s["max_memory_bytes"] / 1048576.0)]
                    for u, s in sorted(servers.items())])]


def render_html(summary, results, gate_results=None, comparison=None, name="load test"):
    """One self-contained HTML page: no scripts, no external CSS or fonts; inline SVG plots."""
    results = sorted((sanitize_result(unwrap(r), i) for i, r in enumerate(results)), key=lambda r: r["host"])
    body = ["<h1>%s</h1>" % E(name)]
    status = "complete" if summary["complete"] else "INCOMPLETE: some generators did not finish"
    body.append('<p>%d generator(s): %s. Engines: %s. %s.</p>' % (
        summary["generators_count"], E(", ".join(summary["hosts"])), E(", ".join(summary["engines"])), E(status)))
    if summary.get("verdict"):
        body.append(_verdict_html(summary["verdict"]))
    body.append("<h2>Result (operators' load-test table columns)</h2>")
    body.append(_table(["scenario", "participants", "publishers (video)", "rooms", "duration", "result"],
                       [operator_row(summary, name)], "operators"))
    if gate_results:
        body.extend(_gates_html(gate_results, summary.get("verdict")))
    if comparison is not None:
        body.extend(_comparison_html(comparison))
    body.append("<h2>Summary</h2>")
    body.append(_table(["", ""], _summary_rows(summary)))
    if summary["not_measured"]:
        body.append("<p>Not measured: %s.</p>" % E("; ".join(
            "%s (%s)" % (k, ", ".join(v)) for k, v in sorted(summary["not_measured"].items()))))
    body.extend(_plots(summary, results))
    body.extend(_generators_html(summary))
    if summary["servers"]:
        body.extend(_servers_html(summary["servers"]))
    if summary["errors"]["first"]:
        body.append("<h2>First errors (%d in all)</h2>" % summary["errors"]["count"])
        body.append("<ul>%s</ul>" % "".join("<li>%s</li>" % E(e) for e in summary["errors"]["first"]))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>%s</title><style>%s</style></head>\n'
            '<body>\n%s\n</body></html>\n' % (E(name), CSS, "\n".join(body)))
