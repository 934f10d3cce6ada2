#!/usr/bin/env python3
"""Parses Prometheus text exposition (stdin) with the reference parser of
PyPI's prometheus_client and prints the families as JSON:
  [{"name":..., "type":..., "help":..., "samples":[{"name":..., "labels":{...}, "value":...}]}]
A parse error exits 1 with the parser's message on stderr.
Tools/setup.sh installs prometheus_client."""
import json, math, sys

from prometheus_client.parser import text_string_to_metric_families

families = []
try:
    for family in text_string_to_metric_families(sys.stdin.read()):
        families.append({
            "name": family.name, "type": family.type, "help": family.documentation,
            "samples": [{"name": s.name, "labels": s.labels,
                         "value": None if math.isnan(s.value) else (s.value if math.isfinite(s.value) else str(s.value))}
                        for s in family.samples]})
except Exception as error:
    print("not valid Prometheus text: %s" % error, file=sys.stderr)
    sys.exit(1)
json.dump(families, sys.stdout)
