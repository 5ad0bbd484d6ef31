# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load test: plan, engines, measurements and report (modules load_test and load_test_report).

Private to this collection: the interface may change without notice.

- ``plan``: presets, scaling, validation and the split of a plan over generator hosts (pure Python).
- ``engines``: what runs the participants. ``engines.base.Engine`` is the interface an engine
  implements; ``engines.ENGINES`` maps the module's ``engine`` choices to them.
- ``runner.run``: the entry of the load_test module; runs one generator's share with an engine and
  adds the server samples and the generator's own usage (``metrics``).
- ``report`` and ``report_html``: all generators' results -> summary, gates, comparison, JSON and HTML.
- ``common``: masking secrets and the atomic JSON writer, used by the engines and the runner.

Importing this package imports nothing else: ``report`` stays free of the engines' dependencies.
"""

from __future__ import annotations

SCHEMA = 1  # version of the result contract (docs/load-test-results.md)
