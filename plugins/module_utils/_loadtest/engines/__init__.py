# -*- coding: utf-8 -*-
# Copyright (c) 2026, rtcstack.livekit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The load test engines, by the name the load_test module's ``engine`` option gives them.

Private to this collection: the interface may change without notice. The interface is
``base.Engine``; adding an engine is a module here with an ``Engine`` subclass and one line below.
"""

from __future__ import annotations

from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.go import GoEngine
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.lk import LkEngine
from ansible_collections.rtcstack.livekit.plugins.module_utils._loadtest.engines.webrtc import WebrtcEngine

ENGINES = dict((engine.name, engine) for engine in (WebrtcEngine(), LkEngine(), GoEngine()))
