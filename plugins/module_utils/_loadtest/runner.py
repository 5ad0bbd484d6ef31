# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The entry of the load_test module: run one generator's share with an engine, measure around it.

Private to this collection: the interface may change without notice.
"""

from __future__ import annotations

import time

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest import SCHEMA
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines import ENGINES
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.base import EngineError
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.metrics import Usage
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.plan import result_plan
from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import redact


class RunError(Exception):
    """The engine gave no result; ``result`` holds what was measured around it (errors, samples, usage)."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


def empty_result(host, engine, plan, start_at, errors):
    """A result of nothing measured: for a run that failed before or inside the engine."""
    return dict(schema=SCHEMA, host=host, engine=engine, plan=plan, start_at=start_at, started_at=None,
                skew_s=None, ended_at=time.time(),
                participants=dict(planned=plan.get("participants", 0) if plan else 0, connected=0, failed=0),
                join_ms=[], subscribe_ms=[], subscribe_from="published_or_joined",
                tracks=dict(published=0, expected_subscriptions=0, subscribed=0),
                bytes_received=0, packets_received=0, packets_lost=0, jitter_ms=[], timeline=[],
                server_samples=[], generator=None, errors=list(errors), complete=False)


def sampler_note(sampler):
    return "" if not sampler.errors else " (%s)" % "; ".join(sampler.errors)


def run(engine_name, job, sampler):
    """Run ``job`` (engines.base.Job) with the engine of that name and return its result.

    ``sampler`` (metrics.Sampler, not started) reads the server's metrics from now until the engine
    returns; the wait for ``job.start_at`` happens here, so the generator's own usage (``generator``)
    is measured from the start of the run, not from the start of the wait. Errors are scrubbed of
    the API secret. Raises RunError when the engine fails.
    """
    engine = ENGINES[engine_name]
    sampler.start()
    delay = job.start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    usage = Usage()
    try:
        result = engine.run(job)
    except (EngineError, RuntimeError, OSError) as e:
        samples = sampler.stop()
        result = empty_result(job.host, engine.name, result_plan(job.plan_slice), job.start_at,
                              [redact(e, [job.api_secret]) + sampler_note(sampler)])
        result["server_samples"] = samples
        result["generator"] = usage.block()
        raise RunError("the %s engine failed: %s" % (engine.name, e), result) from None
    result["generator"] = usage.block()
    result["server_samples"] = sampler.stop()
    result["errors"] = [redact(e, [job.api_secret]) for e in result["errors"] + sampler.errors]
    return result


def smoke_problems(result, plan):
    """Why a smoke run does not show media flowing both ways (empty when it does); ``plan``: the result's plan."""
    found = []
    p = result["participants"]
    if p["connected"] < p["planned"]:
        found.append("%d of %d participants joined" % (p["connected"], p["planned"]))
    tracks = result["tracks"]
    if tracks["subscribed"] < tracks["expected_subscriptions"]:
        found.append("%d of %d tracks were subscribed" % (tracks["subscribed"], tracks["expected_subscriptions"]))
    if plan["publishers"] and not result.get("bytes_sent"):
        found.append("the publisher sent nothing")
    if plan["subscribers"]:
        kinds = result.get("bytes_received_by_kind") or {}
        wanted = ["audio"] + (["video"] if plan["video_publishers"] else [])
        for kind in wanted:
            if not kinds.get(kind):
                found.append("the subscriber received no %s" % kind)
        if not result["subscribe_ms"]:
            found.append("no subscribe time was measured")
    return found
