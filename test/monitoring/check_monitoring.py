#!/usr/bin/python3
"""Static checks of pgpool_stats' monitoring/ files, and the expressions the
end-to-end test (test/t/017_monitoring.pl) asks Prometheus for.

    check_monitoring.py metrics                 the metrics queries.yaml promises
                                                (its verdict state sets checked
                                                against src/rules.c)
    check_monitoring.py dashboard [--rate-interval 10s] [--set VAR=VALUE] [FILE]
    check_monitoring.py alerts [FILE]

Each prints JSON on standard output, or says what is wrong on standard
error and exits 1.  "dashboard" checks the dashboard against Grafana's
dashboard schema (grafana-dashboard.schema.json, beside this script), then
what the schema cannot say: unique panel ids and refIds, panels inside the
24 columns and not on top of each other, every query on the ${datasource}
variable, the variables the issue of the dashboard names (datasource,
instance, application_name), every variable used defined, every metric
named one that queries.yaml exports.  It prints every panel's expressions
and every variable's query, the variables replaced by their "All" value (or
the value --set gives) and $__rate_interval by --rate-interval.  "alerts" checks that every metric the
rules name (their annotations' template queries too) is exported, and prints each
rule's expression and the series selectors in it.
"""
import json
import os
import re
import sys

import jsonschema
import yaml

sys.dont_write_bytecode = True     # nothing written into monitoring/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "monitoring", "sql_exporter"))
import make_collectors  # noqa: E402 - the one reading of queries.yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
QUERIES = os.path.join(ROOT, "monitoring", "postgres_exporter", "queries.yaml")
DASHBOARD = os.path.join(ROOT, "monitoring", "grafana-dashboard.json")
ALERTS = os.path.join(ROOT, "monitoring", "alerts.yml")
SCHEMA = os.path.join(HERE, "grafana-dashboard.schema.json")

METRIC = re.compile(r"\b(pgpool_stats_[a-z0-9_]+)\b(\{[^}]*\})?")
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|([A-Za-z_][A-Za-z0-9_]*))")
BUILTIN = {"__rate_interval", "__interval", "__range", "__range_s"}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

problems = []


def problem(text):
    problems.append(text)


def promised():
    """The metrics queries.yaml exports: name -> (type, labels), as the
    sql_exporter collectors are written from it"""
    out = {}
    for c in make_collectors.collectors(yaml.safe_load(open(QUERIES))).values():
        for m in c["metrics"]:
            out[m["metric_name"]] = (m["type"], m.get("key_labels", []))
    return out


def check_names(text, where, exported):
    for name, _ in METRIC.findall(text):
        if name not in exported:
            problem("%s names %s, which the queries file does not export" % (where, name))


def verdict_sets():
    """The state sets list every verdict of rules.c: an application's up to
    ok, the server's ok and those after it"""
    rules = open(os.path.join(ROOT, "src", "rules.c")).read()
    names = re.findall(r'\[PGPS_[A-Z_]+\] = "([a-z_]+)"', rules)
    if "ok" not in names:
        problem("no verdict names found in src/rules.c")
        return
    ok = names.index("ok")
    spec = yaml.safe_load(open(QUERIES))
    for ns, want in (("pgpool_stats_application", names[:ok + 1]),
                     ("pgpool_stats_server", names[ok:])):
        listed = re.findall(r"\('([a-z_]+)'\)", spec[ns]["query"])
        if sorted(listed) != sorted(want):
            problem("%s lists the verdicts %s, rules.c has %s" % (ns, listed, want))


def metrics():
    verdict_sets()
    return [{"name": n, "type": t, "labels": l} for n, (t, l) in sorted(promised().items())]


def dashboard(path, rate_interval, chosen):
    dash = json.load(open(path))
    schema = json.load(open(SCHEMA))
    validator = jsonschema.Draft7Validator(schema)
    for e in sorted(validator.iter_errors(dash), key=lambda e: list(e.absolute_path)):
        problem("schema: %s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(top)", e.message))
    if problems:
        return None
    exported = promised()
    variables = {v["name"]: v for v in dash["templating"].get("list", [])}
    for name in ("datasource", "instance", "application_name"):
        if name not in variables:
            problem("no %s variable" % name)
    ds = variables.get("datasource")
    if ds and (ds["type"] != "datasource" or ds.get("query") != "prometheus"):
        problem("the datasource variable is not a Prometheus data source choice")
    values = {}
    for name, v in variables.items():
        if v["type"] == "query":
            if v.get("datasource") != DATASOURCE:
                problem("variable %s does not query ${datasource}" % name)
            if not v.get("includeAll") or v.get("allValue") != ".*":
                problem("variable %s has no All value of .*" % name)
            values[name] = v.get("allValue") or ".*"
    for name, value in chosen.items():
        if name not in variables:
            problem("--set %s: no such variable" % name)
        values[name] = value

    def substitute(expr, where):
        def one(m):
            name = m.group(1) or m.group(2)
            if name == "__rate_interval":
                return rate_interval
            if name in BUILTIN:
                return rate_interval
            if name not in variables:
                problem("%s uses $%s, which is not a variable" % (where, name))
                return m.group(0)
            return values.get(name, m.group(0))
        return VARIABLE.sub(one, expr)

    out = {"targets": [], "variables": []}
    for name, v in variables.items():
        if v["type"] != "query":
            continue
        q = v["query"] if isinstance(v["query"], str) else v["query"].get("query", "")
        check_names(q, "variable %s" % name, exported)
        out["variables"].append({"name": name, "query": substitute(q, "variable " + name)})

    panels = []
    for p in dash["panels"]:
        panels.extend(p["panels"] if p["type"] == "row" else [p])
        if p["type"] == "row":
            panels.append({"id": p["id"], "gridPos": p.get("gridPos"), "type": "row", "title": p.get("title", "")})
    ids = [p["id"] for p in panels]
    for i in set(ids):
        if ids.count(i) > 1:
            problem("panel id %d is used %d times" % (i, ids.count(i)))
    cells = {}
    for p in panels:
        g = p.get("gridPos")
        where = "panel %d (%s)" % (p["id"], p.get("title", ""))
        if g:
            if g["x"] + g["w"] > 24:
                problem("%s goes past the 24th column" % where)
            for x in range(g["x"], min(g["x"] + g["w"], 24)):
                for y in range(g["y"], g["y"] + g["h"]):
                    if (x, y) in cells:
                        problem("%s lies on %s" % (where, cells[(x, y)]))
                        break
                    cells[(x, y)] = where
                else:
                    continue
                break
        if p["type"] == "row":
            continue
        if p.get("datasource") != DATASOURCE:
            problem("%s does not use ${datasource}" % where)
        refs = [t["refId"] for t in p["targets"]]
        if len(set(refs)) != len(refs):
            problem("%s repeats a refId" % where)
        for t in p["targets"]:
            w = "%s, query %s" % (where, t["refId"])
            if t.get("datasource") != DATASOURCE:
                problem("%s does not use ${datasource}" % w)
            if "expr" not in t:
                problem("%s has no expression" % w)
                continue
            check_names(t["expr"], w, exported)
            out["targets"].append({"where": w, "expr": substitute(t["expr"], w),
                                   "instant": bool(t.get("instant"))})
    return out


def alerts(path):
    exported = promised()
    rules = []
    for g in yaml.safe_load(open(path))["groups"]:
        for r in g["rules"]:
            name = r.get("alert") or r.get("record")
            check_names(r["expr"], "rule " + name, exported)
            # the queries of the annotations' templates
            for key, text in r.get("annotations", {}).items():
                for query in re.findall(r'printf "((?:[^"\\]|\\.)*)"', text):
                    check_names(query, "rule %s's %s" % (name, key), exported)
            rules.append({"alert": name, "expr": r["expr"],
                          "selectors": ["".join(s) for s in METRIC.findall(r["expr"])]})
    return rules


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    what = args.pop(0)
    rate_interval = "1m"
    chosen = {}
    while "--set" in args:
        i = args.index("--set")
        name, _, value = args[i + 1].partition("=")
        chosen[name] = value
        del args[i:i + 2]
    if "--rate-interval" in args:
        i = args.index("--rate-interval")
        rate_interval = args[i + 1]
        del args[i:i + 2]
    if what == "metrics":
        out = metrics()
    elif what == "dashboard":
        out = dashboard(args[0] if args else DASHBOARD, rate_interval, chosen)
    elif what == "alerts":
        out = alerts(args[0] if args else ALERTS)
    else:
        sys.exit(__doc__)
    if problems:
        sys.exit("\n".join(problems))
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
