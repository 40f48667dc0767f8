#!/usr/bin/python3
"""Write the sql_exporter collectors of pgpool_stats from the
postgres_exporter queries file, so that both exporters give the same
metrics, with the same names, types, labels and SQL:

    python3 monitoring/sql_exporter/make_collectors.py [--check]

Each query of ../postgres_exporter/queries.yaml becomes a query of a
collector, each of its COUNTER and GAUGE columns a metric named
<query>_<column> whose key labels are the query's LABEL columns.  Queries
with cache_seconds go into the collector pgpool_stats_verdicts, whose
min_interval is that time (sql_exporter caches per collector); the others
into pgpool_stats.  With --check, nothing is written: the exit status says
whether the files here are what this script would write.
"""
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "..", "postgres_exporter", "queries.yaml")
HEADER = """\
# pgpool_stats for sql_exporter (github.com/burningalchemist/sql_exporter):
# a collector file, loaded by collector_files: in sql_exporter.yml.
# Written by make_collectors.py from ../postgres_exporter/queries.yaml:
# edit that file, then run the script.  The metrics, their labels and their
# meaning are those of the queries file; see its comments.
"""


class Literal(str):
    """A string written as a YAML block scalar"""


def literal(dumper, data):
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")


yaml.SafeDumper.add_representer(Literal, literal)


def collectors(spec):
    out = {}
    for name, q in spec.items():
        labels = []
        metrics = []
        for column in q["metrics"]:
            (col, m), = column.items()
            if m["usage"] == "LABEL":
                labels.append(col)
            elif m["usage"] in ("COUNTER", "GAUGE"):
                metrics.append((col, m))
            else:
                sys.exit("%s.%s: usage %s has no sql_exporter form" % (name, col, m["usage"]))
        cache = q.get("cache_seconds")
        cname = "pgpool_stats_verdicts" if cache else "pgpool_stats"
        c = out.setdefault(cname, {"collector_name": cname, "metrics": [], "queries": []})
        if cache:
            old = c.get("min_interval")
            if old is not None and old != "%ds" % cache:
                sys.exit("the cached queries must share one cache_seconds")
            c["min_interval"] = "%ds" % cache
        for col, m in metrics:
            metric = {"metric_name": "%s_%s" % (name, col),
                      "type": m["usage"].lower(),
                      "help": m["description"]}
            if labels:
                metric["key_labels"] = list(labels)
            metric["values"] = [col]
            metric["query_ref"] = name
            c["metrics"].append(metric)
        c["queries"].append({"query_name": name, "query": Literal(q["query"])})
    return out


def render(c):
    head = {k: c[k] for k in ("collector_name", "min_interval") if k in c}
    text = HEADER + "\n" + yaml.safe_dump(head, sort_keys=False)
    text += "\n" + yaml.safe_dump({"metrics": c["metrics"]}, sort_keys=False, width=100)
    text += "\n" + yaml.safe_dump({"queries": c["queries"]}, sort_keys=False, width=100)
    return text


def main():
    check = "--check" in sys.argv[1:]
    spec = yaml.safe_load(open(SOURCE))
    stale = []
    for name, c in collectors(spec).items():
        path = os.path.join(HERE, name + ".collector.yml")
        text = render(c)
        if check:
            if not os.path.exists(path) or open(path).read() != text:
                stale.append(path)
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        sys.exit("not what make_collectors.py writes from queries.yaml: " + ", ".join(stale))


if __name__ == "__main__":
    main()
