"""Runs a test script's scenarios: each prints "ok NAME" or "FAIL NAME: why",
and the exit status is 1 when one failed."""

import sys
import traceback


def run(*scenarios):
    failed = 0
    for scenario in scenarios:
        try:
            scenario()
            print("ok", scenario.__name__)
        except Exception:
            failed += 1
            print("FAIL %s: %s" % (scenario.__name__, traceback.format_exc()))
    sys.exit(1 if failed else 0)
