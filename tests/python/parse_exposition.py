"""Parses an exposition from stdin with prometheus_client's own parsers.

usage: parse_exposition.py text|openmetrics
Prints the number of families and samples; exits 1 with the parser's error on invalid input.
"""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families as text_families


def main() -> int:
    kind = sys.argv[1]
    data = sys.stdin.buffer.read().decode("utf-8")
    parse = openmetrics_families if kind == "openmetrics" else text_families
    try:
        families = list(parse(data))
    except Exception as error:  # the parser raises ValueError and friends
        print(f"{kind} parse error: {error!r}")
        return 1
    samples = sum(len(f.samples) for f in families)
    print(f"{len(families)} families, {samples} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
