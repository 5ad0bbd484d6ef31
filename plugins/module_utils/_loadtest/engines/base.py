# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interface of a load test engine, and the job the load_test module gives it.

Private to this collection: the interface may change without notice.
"""

from __future__ import annotations


class EngineError(Exception):
    """The engine could not run, or what it ran gave no result it can read."""


class Job:
    """One generator host's run, as the load_test module asks for it.

    ``plan_slice`` is this host's share (``plan.split``); ``start_at`` is epoch seconds (the runner
    has already waited for it). ``module`` is the AnsibleModule (for ``get_bin_path``); ``lk_path``
    and ``loadgen_path`` are the options of the same names.
    """

    def __init__(self, url, api_key, api_secret, plan_slice, start_at, host, progress_path=None,
                 progress_interval=10.0, lk_path="lk", module=None, loadgen_path="rtcstack-loadgen"):
        self.url = url
        self.api_key = api_key
        self.api_secret = api_secret
        self.plan_slice = plan_slice
        self.start_at = start_at
        self.host = host
        self.progress_path = progress_path
        self.progress_interval = progress_interval
        self.lk_path = lk_path
        self.loadgen_path = loadgen_path
        self.module = module


class Engine:
    """What every engine provides; register an instance in ``engines.ENGINES`` under ``name``.

    - ``name``: the value of the load_test module's ``engine`` option.
    - ``missing(host, params, plan_slice)``: why the engine cannot run on this host (one sentence for
      the user), or ``None``; ``params`` are the module's options, ``plan_slice`` this host's share.
      Called before anything touches the server, so it must be cheap.
    - ``run(job)``: run ``job.plan_slice`` and return the result dict (schema ``SCHEMA``, the keys in
      docs/load-test-results.md; ``generator`` and ``server_samples`` are added by the runner).
      A participant that fails is counted and listed in ``errors``, never raised. Raise
      ``EngineError`` (or let ``OSError`` / ``RuntimeError`` out) only when there is no result to
      give. A measurement the engine does not take is named in ``not_measured``.
    """

    name = ""

    def missing(self, host, params=None, plan_slice=None):
        return None

    def run(self, job):
        raise NotImplementedError("engine %r has no run()" % self.name)


def ws_url(url):
    """The WebSocket URL of a server given as http(s)://, ws(s):// or host:port."""
    url = (url or "").strip().rstrip("/")
    for scheme, replacement in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(scheme):
            return replacement + url[len(scheme):]
    return url
