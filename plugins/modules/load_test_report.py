#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: load_test_report
short_description: Merge the load test results of all generators, check gates, write a JSON and an HTML report
version_added: 0.2.0
description:
  - Merges the results of every load generator (one per host, from M(rtcstack.livekit.load_test)) into
    one summary; checks the gates; compares with a baseline; writes C(<output_dir>/<name>.json) and
    C(<output_dir>/<name>.html).
  - "Runs where the reports are wanted, normally the controller, once per run: use C(delegate_to: localhost)
    and C(run_once: true) (see the examples)."
  - The summary holds participants planned, connected and failed, rooms, bytes, packets, packet loss
    (lost / (received + lost)), subscribe and join time percentiles (nearest rank), the received bitrate
    in all and per generator, errors, start skew, the SFU peaks (participants, rooms, CPU cores from
    C(cpu_seconds) deltas, memory), the generators' own CPU and peak memory (from the C(generator) block
    of each result, per generator and summed in C(generator_usage)) and a per-generator breakdown.
  - The HTML file is self-contained (no scripts, no external styles or fonts) with SVG plots of the
    subscribe time distribution, bitrate, loss and SFU CPU over time, and the result in the columns of
    the operators' load-test table.
  - Only the fields of the result contract are kept (see docs/load-test-results.md); tokens and
    C(secret=...)-like text in error messages are masked. The files hold no secret and are written with mode C(0644).
  - A file is written only when its content changes, so a rerun on the same results reports C(changed=false).
  - When a gate fails, the files are still written, and the task fails with one line per failed gate
    (unless O(fail_on_gates=false)).
  - "The verdict (C(verdict) in RV(summary), and RV(verdict)) is V(pass), V(fail) or V(invalid). A run where a generator host was
    busier than O(max_generator_host_busy_pct) is V(invalid) (C(invalid: generator saturated) in the report):
    it measured the generator, not the SFU. The gates are still computed and shown but do not decide it, and
    the task fails with one message naming the host and its figure (unless O(fail_on_gates=false))."
author:
  - rtcstack.livekit contributors (@rtcstack)
extends_documentation_fragment:
  - rtcstack.livekit.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the summary, gates and comparison are computed and returned; no file is written.
  diff_mode:
    support: N/A
    details:
      - Not applicable. The module writes reports; the result holds the summary and the paths of the files.
options:
  results:
    description:
      - Results of the generators, one dict per host as M(rtcstack.livekit.load_test) returns it in
        RV(rtcstack.livekit.load_test#module:result), or the whole registered task result (its C(result) key is used).
      - At least one of O(results) and O(result_files) is required.
    type: list
    elements: dict
  result_files:
    description:
      - JSON files, each holding one result or a list of results (for example fetched from the generators).
    type: list
    elements: path
  output_dir:
    description:
      - Where the reports go. Created (mode C(0755)) when missing.
    type: path
    required: true
  name:
    description:
      - Base name of the files, and the scenario name in the report (letters, digits, V(.), V(_), V(-)).
    type: str
    default: load-test
  gates:
    description:
      - Limits the run must meet. A gate whose value the engine does not measure (for example a subscribe
        time with the C(lk) engine) fails.
    type: dict
    suboptions:
      max_loss_pct:
        description: Highest packet loss in percent (lost / (received + lost) over all generators).
        type: float
      max_subscribe_p99_ms:
        description: Highest 99th percentile of the subscribe time, ms.
        type: float
      max_subscribe_p50_ms:
        description: Highest median subscribe time, ms.
        type: float
      max_join_p99_ms:
        description: Highest 99th percentile of the join time, ms.
        type: float
      max_failed_joins:
        description: Most participants that may fail to join.
        type: int
      max_failed_joins_pct:
        description: Most participants that may fail to join, in percent of those planned.
        type: float
      min_bitrate_kbps:
        description: Lowest total received bitrate of all generators, kbps.
        type: float
      min_generator_bitrate_kbps:
        description: Lowest received bitrate of any one generator, kbps.
        type: float
      max_start_skew_s:
        description: Largest difference between a generator's start and the planned start, s.
        type: float
      max_errors:
        description: Most errors reported by the generators.
        type: int
  baseline:
    description:
      - An earlier summary to compare with, as a JSON file; the report this module wrote is accepted.
      - The comparison flags loss up, subscribe or join p99 up by more than O(regression_tolerance_pct),
        failed joins up, and the total bitrate down by more than O(regression_tolerance_pct).
      - Regressions are reported in RV(comparison) and in the HTML; they do not fail the task.
    type: path
  regression_tolerance_pct:
    description:
      - How much worse, in percent of the baseline value, a metric may be before it counts as a regression.
    type: float
    default: 10
  fail_on_gates:
    description:
      - Fail the task when a gate fails or the run is invalid (after writing the files).
    type: bool
    default: true
  max_generator_host_busy_pct:
    description:
      - The busiest a generator host may be over the run, in percent of all its cores (the whole machine's
        CPU from C(/proc/stat), C(generator.host_busy_pct) of each result). A host above it makes the run
        invalid. A result without the figure (from an older C(load_test)) is noted and not checked.
    type: float
    default: 90
    version_added: 0.2.0
notes:
  - The C(lk) engine does not measure join and subscribe times, jitter, a timeline or the SFU; the
    report says so and leaves those plots empty.
seealso:
  - module: rtcstack.livekit.load_test
"""

EXAMPLES = r"""
- name: Load test from every generator
  rtcstack.livekit.load_test:
    url: wss://livekit.example.com
    api_key: "{{ livekit_api_key }}"
    api_secret: "{{ livekit_api_secret }}"
    preset: medium
    hosts_total: "{{ ansible_play_hosts | length }}"
    host_index: "{{ ansible_play_hosts.index(inventory_hostname) }}"
    start_at: "{{ loadtest_start_at }}"
  register: loadtest

- name: One report for the whole run, on the controller
  rtcstack.livekit.load_test_report:
    results: "{{ ansible_play_hosts | map('extract', hostvars, ['loadtest', 'result']) | list }}"
    output_dir: "{{ playbook_dir }}/reports"
    name: medium-{{ ansible_date_time.date }}
    gates:
      max_loss_pct: 0.5
      max_subscribe_p99_ms: 400
      max_failed_joins: 0
    baseline: "{{ playbook_dir }}/reports/medium-baseline.json"
    regression_tolerance_pct: 15
  delegate_to: localhost
  run_once: true

- name: A report from result files fetched earlier, without failing on gates
  rtcstack.livekit.load_test_report:
    result_files: "{{ query('ansible.builtin.fileglob', 'results/*.json') }}"
    output_dir: reports
    name: distributed
    gates: {min_generator_bitrate_kbps: 80000}
    fail_on_gates: false
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
summary:
  description: The merged summary (see docs/load-test-results.md for every field).
  returned: always
  type: dict
  sample:
    hosts: [gen1, gen2]
    participants: {planned: 1000, connected: 1000, failed: 0}
    loss_pct: 0.0
    loss_shared: {packets: 0, pct_of_lost: null, tracks: 0}
    subscribe_ms: {count: 900, min: 12.0, p50: 41.0, p90: 90.0, p99: 197.0, max: 310.0}
    bitrate_kbps: {total: 180000.0, per_generator: {gen1: 90000.0, gen2: 90000.0}}
    generator_usage: {measured: 2, cpu_seconds: 301.4, cpu_cores: 1.6744, max_cpu_cores: 0.8512,
                      rss_bytes: 1258291200, max_rss_bytes: 650117120, cpu_cores_per_participant: 0.00167,
                      rss_bytes_per_participant: 1258291}
    verdict:
      result: invalid
      label: "invalid: generator saturated"
      message: "invalid: generator saturated: gen2 was 97.4 % busy (4 cores) over the run, above the limit 90 %;
                the SFU gates (0 of 3 failed) do not decide this run"
      saturation: {limit_pct: 90.0, saturated: [{host: gen2, host_busy_pct: 97.4, host_cores: 4}], not_measured: []}
gates:
  description: One entry per gate given.
  returned: always
  type: list
  elements: dict
  sample:
    - {gate: max_loss_pct, limit: 0.5, value: 0.0, passed: true, message: packet loss 0% is within the limit 0.5%}
verdict:
  description:
    - V(pass), V(fail) or V(invalid) (a generator host was saturated); the details are in C(verdict) of RV(summary).
  returned: always
  type: str
  sample: pass
failed_gates:
  description: One line per failed gate.
  returned: always
  type: list
  elements: str
comparison:
  description: Regressions against O(baseline) (empty when none); null without a baseline.
  returned: always
  type: list
  elements: dict
  sample:
    - {metric: subscribe_p99_ms, baseline: 197.0, value: 260.0, change_pct: 31.98,
       message: "subscribe_p99_ms rose from 197 ms to 260 ms (+32.0%, tolerance 10%)"}
json_path:
  description: The JSON report (summary, results, gates, comparison).
  returned: always
  type: str
  sample: /srv/reports/load-test.json
html_path:
  description: The HTML report.
  returned: always
  type: str
  sample: /srv/reports/load-test.html
"""

import json
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.report import (
    MAX_GENERATOR_HOST_BUSY_PCT,
    ReportError,
    compare,
    gates,
    merge,
    report_json,
    verdict,
)
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.report_html import render_html
from ansible_collections.rtcstack.livekit.plugins.module_utils._secrets import write_atomic

GATE_OPTIONS = dict(
    max_loss_pct=dict(type="float"),
    max_subscribe_p99_ms=dict(type="float"),
    max_subscribe_p50_ms=dict(type="float"),
    max_join_p99_ms=dict(type="float"),
    max_failed_joins=dict(type="int"),
    max_failed_joins_pct=dict(type="float"),
    min_bitrate_kbps=dict(type="float"),
    min_generator_bitrate_kbps=dict(type="float"),
    max_start_skew_s=dict(type="float"),
    max_errors=dict(type="int"),
)
NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def read_json(path, what):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except OSError as e:
        raise ReportError("cannot read %s %s: %s" % (what, path, to_native(e))) from None
    except ValueError as e:
        raise ReportError("%s %s is not JSON: %s" % (what, path, to_native(e))) from None


def load_results(results, files):
    out = list(results or [])
    for path in files or []:
        data = read_json(path, "result file")
        out.extend(data if isinstance(data, list) else [data])
    return out


def current(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def write_if_changed(path, text):
    """Write ``text`` to ``path`` (0644, atomically) unless the file already holds it. True when written."""
    data = to_bytes(text)
    if current(path) == data:
        return False
    write_atomic(path, data, mode=0o644)
    return True


def build(p):
    """(summary, gate results, comparison or None, JSON text, HTML text). Raises ReportError."""
    limits = dict((k, v) for k, v in (p["gates"] or {}).items() if v is not None)
    results = load_results(p["results"], p["result_files"])
    summary = merge(results)
    gate_results = gates(summary, **limits)
    summary["verdict"] = verdict(summary, gate_results, p["max_generator_host_busy_pct"])
    comparison = None
    if p["baseline"]:
        comparison = compare(summary, read_json(p["baseline"], "baseline"), p["regression_tolerance_pct"])
    json_text = report_json(summary, results, gate_results, comparison)
    html_text = render_html(summary, results, gate_results, comparison, name=p["name"])
    return summary, gate_results, comparison, json_text, html_text


def write_reports(module, out_dir, files):
    """Write [(path, text)] into out_dir (made when missing); True when anything changed (or would)."""
    if module.check_mode:
        return any(current(path) != to_bytes(text) for path, text in files)
    changed = False
    try:
        if not os.path.isdir(out_dir):
            os.makedirs(out_dir, 0o755)
            changed = True
        for path, text in files:
            changed = write_if_changed(path, text) or changed
    except OSError as e:
        module.fail_json(msg="cannot write the reports in %s: %s" % (out_dir, to_native(e)))
    return changed


def main():
    module = AnsibleModule(
        argument_spec=dict(
            results=dict(type="list", elements="dict"),
            result_files=dict(type="list", elements="path"),
            output_dir=dict(type="path", required=True),
            name=dict(type="str", default="load-test"),
            gates=dict(type="dict", options=GATE_OPTIONS),
            baseline=dict(type="path"),
            regression_tolerance_pct=dict(type="float", default=10.0),
            fail_on_gates=dict(type="bool", default=True),
            max_generator_host_busy_pct=dict(type="float", default=MAX_GENERATOR_HOST_BUSY_PCT),
        ),
        required_one_of=[("results", "result_files")],
        supports_check_mode=True,
    )
    p = module.params
    if not NAME.match(p["name"]):
        module.fail_json(msg="name %r may hold only letters, digits, '.', '_' and '-'" % p["name"])
    busy = p["max_generator_host_busy_pct"]
    if not 0 < busy <= 100:
        module.fail_json(msg="max_generator_host_busy_pct must be above 0 and at most 100, got %s" % busy)
    if p["regression_tolerance_pct"] < 0:
        module.fail_json(msg="regression_tolerance_pct must be 0 or more, got %s" % p["regression_tolerance_pct"])
    try:
        summary, gate_results, comparison, json_text, html_text = build(p)
    except ReportError as e:
        module.fail_json(msg=str(e))

    json_path = os.path.join(p["output_dir"], p["name"] + ".json")
    html_path = os.path.join(p["output_dir"], p["name"] + ".html")
    changed = write_reports(module, p["output_dir"], [(json_path, json_text), (html_path, html_text)])
    failed = ["gate %s: %s" % (g["gate"], g["message"]) for g in gate_results if not g["passed"]]
    v = summary["verdict"]
    result = dict(changed=changed, summary=summary, gates=gate_results, failed_gates=failed, comparison=comparison,
                  json_path=json_path, html_path=html_path, verdict=v["result"])
    if v["saturation"]["not_measured"]:
        module.warn("generator host CPU not measured on %s (results of an older load_test): not checked for saturation"
                    % ", ".join(v["saturation"]["not_measured"]))
    if v["result"] == "invalid" and p["fail_on_gates"]:
        module.fail_json(msg=v["message"], **result)
    if failed and p["fail_on_gates"]:
        module.fail_json(msg="%d load test gate(s) failed:\n%s" % (len(failed), "\n".join(failed)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
