"""A SQLAlchemy application (its QueuePool, psycopg2) for the real-client
tests: worker threads run ORM-style transactions, a select then an update
with the application's work between them, through pool_size connections and
max_overflow more.  At the end it prints, as one JSON line, its own truth:
transactions done, connections the pool opened (its connect events), the
most checked out at once and the most overflow connections in use, the
longest pause inside a transaction, and how often and how long a worker
waited for a connection (a checkout that took more than 5 ms).

    python3 sqlalchemy_app.py URL --app NAME --pool-size 5 --max-overflow 10
        --workers 3 --seconds 8 [--in-tx-ms 20] [--think-ms 10]
"""
import argparse
import json
import threading
import time

import sqlalchemy
from sqlalchemy import event, text

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("--app", required=True)
parser.add_argument("--pool-size", type=int, default=5)
parser.add_argument("--max-overflow", type=int, default=10)
parser.add_argument("--workers", type=int, default=3)
parser.add_argument("--seconds", type=float, default=8)
parser.add_argument("--in-tx-ms", type=float, default=20)
parser.add_argument("--think-ms", type=float, default=10)
args = parser.parse_args()

engine = sqlalchemy.create_engine(
    args.url, pool_size=args.pool_size, max_overflow=args.max_overflow,
    connect_args={"application_name": args.app})
lock = threading.Lock()
truth = {"transactions": 0, "connections_opened": 0, "checked_out_max": 0,
         "overflow_max": 0, "idle_in_tx_max_s": 0.0, "checkout_waits": 0,
         "checkout_wait_max_s": 0.0}


@event.listens_for(engine, "connect")
def on_connect(dbapi_connection, connection_record):
    with lock:
        truth["connections_opened"] += 1


def watch(pool):
    with lock:
        truth["checked_out_max"] = max(truth["checked_out_max"], pool.checkedout())
        truth["overflow_max"] = max(truth["overflow_max"], max(pool.overflow(), 0))


def worker(deadline, first_aid):
    done = 0
    while time.monotonic() < deadline:
        # one transaction: BEGIN, select, the application's work, update, COMMIT
        asked = time.monotonic()
        with engine.begin() as conn:
            waited = time.monotonic() - asked
            with lock:
                if waited > 0.005:
                    truth["checkout_waits"] += 1
                truth["checkout_wait_max_s"] = max(truth["checkout_wait_max_s"], waited)
            watch(engine.pool)
            aid = (first_aid + done) % 100000 + 1   # no two workers on one row
            conn.execute(text("SELECT abalance FROM pgbench_accounts WHERE aid = :aid"), {"aid": aid})
            start = time.monotonic()
            time.sleep(args.in_tx_ms / 1000)
            conn.execute(text("UPDATE pgbench_accounts SET abalance = abalance WHERE aid = :aid"),
                         {"aid": aid})
            with lock:
                truth["idle_in_tx_max_s"] = max(truth["idle_in_tx_max_s"], time.monotonic() - start)
        done += 1
        time.sleep(args.think_ms / 1000)
    with lock:
        truth["transactions"] += done


begin = time.monotonic()
threads = [threading.Thread(target=worker, args=(begin + args.seconds, 1000 * i))
           for i in range(args.workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
engine.dispose()
print(json.dumps(truth), flush=True)
