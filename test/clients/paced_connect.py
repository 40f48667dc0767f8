"""An application that opens a connection per request, at a steady pace:
every 1/--rate seconds, on a fixed schedule, it connects with psycopg 3,
runs one query and disconnects.  At the end it prints its own truth as one
JSON line: the connections it opened, when the first and the last began
(Unix time) and the rate it kept.

    python3 paced_connect.py DSN --app NAME --rate 20 --seconds 10
"""
import argparse
import json
import time

import psycopg

parser = argparse.ArgumentParser()
parser.add_argument("dsn")
parser.add_argument("--app", required=True)
parser.add_argument("--rate", type=float, default=20)
parser.add_argument("--seconds", type=float, default=10)
args = parser.parse_args()

step = 1.0 / args.rate
start = time.time()
due = start
opened = 0
last = start
while due < start + args.seconds:
    now = time.time()
    if now < due:
        time.sleep(due - now)
    last = time.time()
    with psycopg.connect(args.dsn, application_name=args.app) as conn:
        conn.execute("SELECT 1").fetchone()
    opened += 1
    due += step

print(json.dumps({"connections": opened, "first": start, "last": last,
                  "rate": opened / max(last - start, step)}))
