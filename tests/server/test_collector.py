"""The long-running servers' collector settings (`serving.settle_collector`), checked in a fresh interpreter so
that this test process's own collector is left as it is."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json, weakref
from kyc_mcp.serving import YOUNG_COLLECTION_THRESHOLD, settle_collector

class Node: pass
cycle = Node(); cycle.me = cycle  # garbage that only the cyclic collector can free
gone = weakref.ref(cycle); del cycle
settle_collector()
print(json.dumps({"frozen": gc.get_freeze_count(), "threshold": gc.get_threshold(),
                  "young": YOUNG_COLLECTION_THRESHOLD, "garbage_freed": gone() is None}))
"""


def test_start_up_heap_is_collected_then_frozen_and_young_collections_are_rarer() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60)
    seen = json.loads(done.stdout)
    assert seen["garbage_freed"], "garbage made before start-up ended was frozen instead of freed"
    assert seen["frozen"] > 10_000  # the modules and their objects: out of every later collection
    assert seen["threshold"][0] == seen["young"] > 700  # above CPython's default
