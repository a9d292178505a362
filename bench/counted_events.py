"""A filter after `newsetl annotate`: each JSON line with only the events the views would count (a confidence at
or above the line, and not background), so that an evaluation script measures the events an analyst counts.

`--min-confidence` tries another line. Example, the PLOVER type precision of counted events:

    python ../shared/bench/eval_events.py ../shared/data/plover/dev.json \
        '.venv/bin/newsetl annotate | .venv/bin/python bench/counted_events.py'
"""

from __future__ import annotations

import argparse
import json
import sys

from etl.nlp.confidence import MIN_CONFIDENCE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-confidence", type=float, default=MIN_CONFIDENCE)
    args = parser.parse_args()
    for line in sys.stdin:
        if not line.strip():
            continue
        record = json.loads(line)
        record["events"] = [
            event
            for event in record["events"]
            if event["confidence"] >= args.min_confidence and not event["is_background"]
        ]
        sys.stdout.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
