import sys

from benchmarks.run import main

try:
    raise SystemExit(main())
except KeyboardInterrupt:  # children were stopped by the finally blocks on the way up
    print("benchmarks: interrupted; no results written", file=sys.stderr)
    raise SystemExit(130) from None
