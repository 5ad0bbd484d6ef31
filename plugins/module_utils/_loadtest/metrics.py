# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a load test measures besides the engine: livekit-server's Prometheus metrics (``Sampler``),
the generator's own CPU and memory and its host's CPU (``Usage``).

Private to this collection: the interface may change without notice. Standard library and
ansible-core only.

The metric names were read from livekit-server v1.13.5's ``/metrics`` (``prometheus: {port: N}``)
with media flowing; a value the server does not export (yet) is ``None``.
"""

from __future__ import annotations

import re
import resource
import sys
import threading
import time

from ansible.module_utils.urls import open_url

# result key -> (metric name, label filter); values of matching series are summed.
SELECTED = {
    "participants": ("livekit_participant_total", {}),
    "rooms": ("livekit_room_total", {}),
    "cpu_seconds": ("process_cpu_seconds_total", {}),
    "memory_bytes": ("process_resident_memory_bytes", {}),
    "packets_in": ("livekit_packet_total", {"direction": "incoming"}),
    "packets_out": ("livekit_packet_total", {"direction": "outgoing"}),
    "bytes_in": ("livekit_packet_bytes", {"direction": "incoming"}),
    "bytes_out": ("livekit_packet_bytes", {"direction": "outgoing"}),
    "packets_dropped": ("livekit_node_packet_total", {"type": "dropped"}),
    "go_heap_bytes": ("go_memstats_heap_alloc_bytes", {}),
    "go_goroutines": ("go_goroutines", {}),
}

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def parse(text):
    """{metric name: [(labels dict, value)]} from the Prometheus text exposition format."""
    metrics = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, labels_text, value = match.groups()
        labels = {}
        if labels_text:
            for label in _LABEL.finditer(labels_text):
                labels[label.group(1)] = label.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        try:
            number = float(value)
        except ValueError:
            continue
        metrics.setdefault(name, []).append((labels, number))
    return metrics


def select(metrics):
    """The values the load test records, ``None`` for a metric the server did not export."""
    values = {}
    for key, (name, wanted) in SELECTED.items():
        series = [v for labels, v in metrics.get(name, ()) if all(labels.get(k) == w for k, w in wanted.items())]
        values[key] = sum(series) if series else None
    return values


def empty_sample(url, now=None):
    sample = dict((key, None) for key in SELECTED)
    sample.update(t=round(time.time() if now is None else now, 3), url=url)
    return sample


def fetch(url, timeout=5.0, validate_certs=True, ca_path=None):
    response = open_url(url, timeout=timeout, validate_certs=validate_certs, ca_path=ca_path,
                        http_agent="rtcstack.livekit", follow_redirects="safe")
    return response.read().decode("utf-8", "replace")


class Sampler:
    """Reads every URL each ``interval`` seconds in a thread until ``stop()``; keeps the samples.

    A URL that fails gives a sample of ``None`` values with ``error`` set; the first failure of each
    URL is also listed in ``errors``.
    """

    def __init__(self, urls, interval=10.0, timeout=5.0, validate_certs=True, ca_path=None):
        self.urls = list(urls or [])
        self.interval = float(interval)
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.samples = []
        self.errors = []
        self._failed = set()
        self._stop = threading.Event()
        self._thread = None

    def sample_once(self):
        for url in self.urls:
            now = time.time()
            sample = empty_sample(url, now)
            try:
                sample.update(select(parse(fetch(url, self.timeout, self.validate_certs, self.ca_path))))
            except Exception as e:  # a metrics endpoint never stops the load test
                sample["error"] = "%s: %s" % (type(e).__name__, e)
                if url not in self._failed:
                    self._failed.add(url)
                    self.errors.append("metrics %s: %s" % (url, sample["error"]))
            self.samples.append(sample)

    def _loop(self):
        while True:
            started = time.monotonic()
            self.sample_once()
            if self._stop.wait(max(0.0, self.interval - (time.monotonic() - started))):
                return

    def start(self):
        if self.urls:
            self._thread = threading.Thread(target=self._loop, name="metrics", daemon=True)
            self._thread.start()
        return self

    def stop(self):
        """Stop, and take one last sample so the run's end is in the record."""
        if self._thread is None:
            return self.samples
        self._stop.set()
        self._thread.join(self.timeout * len(self.urls) + 5)
        self.sample_once()
        return self.samples


def cpu_jiffies(line):
    """(busy, total) jiffies of one ``cpu`` or ``cpuN`` line of /proc/stat (see host_cpu_times); None when it has
    fewer than four fields. Raises ValueError on a field that is not a number."""
    fields = [int(x) for x in line.split()[1:9]]
    if len(fields) < 4:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def host_cpu_times(path="/proc/stat"):
    """(busy, total) jiffies of the whole machine (all cores) and its number of cores, from /proc/stat; None
    where it cannot be read.

    Of the first line's fields (user nice system idle iowait irq softirq steal guest guest_nice) the first
    eight count: guest time is already inside user and nice. Idle is idle + iowait; steal counts as busy
    (the core was not available to this host).
    """
    try:
        with open(path) as f:
            lines = f.read().splitlines()
        jiffies = cpu_jiffies(lines[0])
    except (OSError, ValueError, IndexError):
        return None
    if jiffies is None:
        return None
    cores = sum(1 for line in lines[1:] if line.startswith("cpu") and line[3:4].isdigit())
    return jiffies + (cores or None,)


def busy_pct(before, after):
    """Percent of the machine's CPU time that was busy between two host_cpu_times() readings (None when unknown)."""
    if not before or not after or after[1] <= before[1]:
        return None
    return 100.0 * (after[0] - before[0]) / (after[1] - before[1])


class Usage:
    """CPU and memory of this process and its finished children, from ``resource.getrusage``, and how busy
    the whole host was over the same window (``host_cpu_times``)."""

    # ru_maxrss is in KiB on Linux (and the BSDs), in bytes on macOS.
    RSS_UNIT = 1 if sys.platform == "darwin" else 1024

    def __init__(self):
        self.cpu0 = self.cpu()
        self.wall0 = time.monotonic()
        self.host0 = host_cpu_times()

    @staticmethod
    def cpu():
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def block(self):
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        host = host_cpu_times()
        busy = busy_pct(self.host0, host)
        return dict(cpu_seconds=round(max(0.0, self.cpu() - self.cpu0), 3), max_rss_bytes=int(peak) * self.RSS_UNIT,
                    wall_seconds=round(time.monotonic() - self.wall0, 3),
                    host_busy_pct=None if busy is None else round(busy, 2), host_cores=host[2] if host else None)
