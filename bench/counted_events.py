"""A filter after `newsetl annotate`: each JSON line with only the events the views would count (a confidence at
or above the line, and not background), so that an evaluation script measures the events an analyst counts.

`--min-confidence` tries another line; `--buckets` instead prints, per confidence, how many events there are.
Example, the PLOVER type precision of counted events:
`python ../shared/bench/eval_events.py ../shared/data/plover/dev.json '.venv/bin/newsetl annotate | .venv/bin/python bench/counted_events.py'`
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from etl.nlp.confidence import MIN_CONFIDENCE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-confidence", type=float, default=MIN_CONFIDENCE)
    parser.add_argument("--buckets", action="store_true", help="count events per confidence on stderr, too")
    args = parser.parse_args()
    buckets: Counter[float] = Counter()
    for line in sys.stdin:
        if not line.strip():
            continue
        record = json.loads(line)
        buckets.update(event["confidence"] for event in record["events"])
        record["events"] = [
            event
            for event in record["events"]
            if event["confidence"] >= args.min_confidence and not event["is_background"]
        ]
        sys.stdout.write(json.dumps(record) + "\n")
    if args.buckets:
        for confidence, events in sorted(buckets.items()):
            print(f"confidence {confidence:.2f}: {events} events", file=sys.stderr)


if __name__ == "__main__":
    main()
