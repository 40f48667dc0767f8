"""An application whose requests arrive on their own schedule, whatever the
pool does (open-loop): through a psycopg_pool pool of --pool connections
(opened at the start, never more), a request every 1/--rate seconds on a
fixed schedule (or at random, Poisson, with --random-arrivals) takes a
connection, waiting for one if none is free, holds it for a random time
(exponential, of mean --hold-ms: SELECT pg_sleep inside a transaction) and
gives it back.  The holds come from --seed, so two runs with the same seed
hold their connections alike.  At the end it prints its own truth as one
JSON line: the requests, and psycopg_pool's own figures of the waits
(requests_num, requests_queued, requests_wait_ms: the share of requests
that waited and their mean wait over every request), with the p95 and
p99 of the waits, the mean time a connection was held and the squared
coefficient of variation of those times, as the client timed them.

    python3 open_loop_pool.py DSN --app NAME --pool 4 --rate 50 --hold-ms 40
        --seconds 30 [--seed 1] [--random-arrivals]
"""
import argparse
import concurrent.futures
import json
import random
import threading
import time

import psycopg_pool

parser = argparse.ArgumentParser()
parser.add_argument("dsn")
parser.add_argument("--app", required=True)
parser.add_argument("--pool", type=int, default=4)
parser.add_argument("--rate", type=float, default=50,
                    help="requests a second")
parser.add_argument("--hold-ms", type=float, default=40,
                    help="mean time a request holds its connection")
parser.add_argument("--seconds", type=float, default=30)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--random-arrivals", action="store_true",
                    help="Poisson arrivals instead of a fixed schedule")
args = parser.parse_args()

rng = random.Random(args.seed)
arrivals = random.Random(args.seed + 1)
pool = psycopg_pool.ConnectionPool(
    args.dsn, kwargs={"application_name": args.app},
    min_size=args.pool, max_size=args.pool, timeout=120, open=True)
pool.wait(timeout=60)

lock = threading.Lock()
waits = []
holds = []
errors = []


def request(hold_s):
    try:
        asked = time.monotonic()
        with pool.connection() as conn:
            got = time.monotonic()
            # BEGIN, the statement, COMMIT as the block ends
            conn.execute("SELECT pg_sleep(%s)", (hold_s,))
        given = time.monotonic()
        with lock:
            waits.append(got - asked)
            holds.append(given - got)
    except Exception as e:      # noqa: BLE001 - reported, and the run fails
        with lock:
            errors.append(repr(e))


# enough threads that a request never waits for a thread, only for a
# connection
executor = concurrent.futures.ThreadPoolExecutor(max_workers=400)
pool.pop_stats()
start = time.monotonic()
due = start
futures = []
while True:
    due += arrivals.expovariate(args.rate) if args.random_arrivals else 1 / args.rate
    if due > start + args.seconds:
        break
    hold_s = rng.expovariate(1000 / args.hold_ms)
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    futures.append(executor.submit(request, hold_s))
for f in futures:
    f.result()
elapsed = time.monotonic() - start
stats = pool.get_stats()
pool.close()

waits.sort()
n = len(waits)
requests = stats.get("requests_num", 0)


def percentile(fraction):
    return 1000 * waits[min(n - 1, int(fraction * n))] if n else None


print(json.dumps({
    "app": args.app,
    "pool": args.pool,
    "requests": n,
    "seconds": round(elapsed, 3),
    "requests_num": requests,
    "requests_queued": stats.get("requests_queued", 0),
    "requests_wait_ms": stats.get("requests_wait_ms", 0),
    "wait_share": stats.get("requests_queued", 0) / requests if requests else None,
    "wait_avg_ms": stats.get("requests_wait_ms", 0) / requests if requests else None,
    "wait_p95_ms": percentile(0.95),
    "wait_p99_ms": percentile(0.99),
    "hold_avg_ms": 1000 * sum(holds) / n if n else None,
    "hold_scv": (sum(h * h for h in holds) / n) / (sum(holds) / n) ** 2 - 1 if n else None,
    "errors": errors[:5],
}))
