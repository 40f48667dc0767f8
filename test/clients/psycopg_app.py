"""A psycopg 3 application with a psycopg_pool pool, for the real-client
tests: worker threads check a connection out, run a transaction of one or
two statements (with the application's own work between them, inside the
transaction), give it back and think.  At the end it prints, as one JSON
line, its own truth: transactions done, connections the pool opened, the
requests that had to wait for a connection and how long they waited (the
pool's own figures), the longest time a transaction sat idle between its
statements and the share of the run during which some transaction of it
did, as the client measured them.

    python3 psycopg_app.py DSN --app NAME --pool 4 --workers 2 --seconds 8
        [--autocommit] [--in-tx-ms 20] [--think-ms 10] [--transactions N]
        [--query SQL] [--max-pool 20] [--leak 6 [--leak-in-tx]] [--late 3] [--hold]

With --leak, a leaker thread also takes connections from the pool and never
gives them back (idle, or idle in a transaction with --leak-in-tx), as code
that forgets to on one path does; the truth then has the leaked
connections' backend pids.  With --late, once the workers are done, that
many requests at once make the pool open new connections unless enough are
free.  With --hold the application prints its
truth and keeps every connection open until its standard input closes.
"""
import sys
import argparse
import json
import threading
import time

import psycopg_pool

parser = argparse.ArgumentParser()
parser.add_argument("dsn")
parser.add_argument("--app", required=True)
parser.add_argument("--pool", type=int, default=4)
parser.add_argument("--workers", type=int, default=2)
parser.add_argument("--seconds", type=float, default=8)
parser.add_argument("--transactions", type=int, default=0,
                    help="per worker; 0: as many as fit in --seconds")
parser.add_argument("--autocommit", action="store_true")
parser.add_argument("--in-tx-ms", type=float, default=0,
                    help="the application's work between the two statements")
parser.add_argument("--think-ms", type=float, default=0,
                    help="between transactions, the connection given back")
parser.add_argument("--no-prepare", action="store_true",
                    help="no server-side prepared statements (behind a "
                         "transaction pooler)")
parser.add_argument("--burst", type=int, default=0,
                    help="instead of workers: this many transactions at once, "
                         "every --burst-every-ms, for --seconds")
parser.add_argument("--burst-every-ms", type=float, default=3000)
parser.add_argument("--max-pool", type=int, default=0,
                    help="the pool may grow to this many (0: --pool)")
parser.add_argument("--leak", type=int, default=0,
                    help="connections taken and never given back")
parser.add_argument("--leak-every-ms", type=float, default=300)
parser.add_argument("--leak-start-ms", type=float, default=1500)
parser.add_argument("--leak-in-tx", action="store_true",
                    help="each leaked connection is left in a transaction")
parser.add_argument("--late", type=int, default=0,
                    help="once the workers are done, this many 300 ms "
                         "requests at once")
parser.add_argument("--sample-busy", action="store_true",
                    help="sample every 10 ms how many workers are inside a "
                         "transaction, and give the 99th percentile")
parser.add_argument("--hold", action="store_true",
                    help="print the truth, then hold every connection open "
                         "until standard input closes")
parser.add_argument("--query", default="SELECT abalance FROM pgbench_accounts WHERE aid = %s",
                    help="the transaction's first statement (%%s: a number)")
args = parser.parse_args()

lock = threading.Lock()
truth = {"transactions": 0, "idle_in_tx_max_s": 0.0}
in_flight = [0]                 # workers inside a transaction now
errors = []                     # a worker's failure fails the run
idle_spans = []                 # (start, end) of every pause inside a transaction


def worker(pool, deadline):
    try:
        run_worker(pool, deadline)
    except Exception as e:      # noqa: BLE001 - reported, and the run fails
        with lock:
            errors.append(repr(e))


def run_worker(pool, deadline):
    done = 0
    while True:
        if args.transactions and done >= args.transactions:
            break
        if not args.transactions and time.monotonic() >= deadline:
            break
        with pool.connection() as conn, busy():
            # psycopg's default: the first statement opens a transaction,
            # leaving the block commits it (BEGIN, queries, COMMIT)
            if "%s" in args.query:
                conn.execute(args.query, (done % 100000 + 1,))
            else:
                conn.execute(args.query)
            if args.in_tx_ms > 0:
                start = time.monotonic()
                time.sleep(args.in_tx_ms / 1000)
                conn.execute("SELECT 1")
                end = time.monotonic()
                with lock:
                    idle_spans.append((start, end))
                    truth["idle_in_tx_max_s"] = max(truth["idle_in_tx_max_s"], end - start)
        done += 1
        if args.think_ms > 0:
            time.sleep(args.think_ms / 1000)
    with lock:
        truth["transactions"] += done


def leaker(pool, begin, leaked):
    """Take --leak connections and keep them: never given back"""
    try:
        for i in range(args.leak):
            time.sleep(max(begin + (args.leak_start_ms + i * args.leak_every_ms) / 1000
                           - time.monotonic(), 0))
            conn = pool.getconn()
            conn.execute("SELECT 1")
            if not args.leak_in_tx and not args.autocommit:
                conn.commit()
            leaked.append(conn)
    except Exception as e:      # noqa: BLE001 - reported, and the run fails
        with lock:
            errors.append(repr(e))


class busy:
    """Counts a worker inside a transaction (exited after its commit)"""

    def __enter__(self):
        with lock:
            in_flight[0] += 1

    def __exit__(self, *exc):
        with lock:
            in_flight[0] -= 1


def sample_busy(stop, samples):
    while not stop.is_set():
        samples.append(in_flight[0])
        time.sleep(0.01)


def run_all(threads):
    """Start the threads at once, and wait for all of them"""
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def covered(spans, begin, end):
    """Seconds of [begin, end] during which at least one span was open."""
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted(spans):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total / max(end - begin, 1e-9)


pool = psycopg_pool.ConnectionPool(
    args.dsn + f" application_name={args.app}", min_size=args.pool,
    max_size=max(args.max_pool, args.pool), open=True,
    kwargs={"autocommit": args.autocommit,
            "prepare_threshold": None if args.no_prepare else 5})
pool.wait()
begin = time.monotonic()
if args.burst:
    # rare bursts: the pool idle in between
    truth["bursts"] = 0
    args.transactions = 1
    while time.monotonic() + args.burst_every_ms / 1000 <= begin + args.seconds:
        start = time.monotonic()
        run_all([threading.Thread(target=worker, args=(pool, 0))
                 for _ in range(args.burst)])
        truth["bursts"] += 1
        time.sleep(max(args.burst_every_ms / 1000 - (time.monotonic() - start), 0))
else:
    busy_samples = []
    stop_sampling = threading.Event()
    if args.sample_busy:
        sampler = threading.Thread(target=sample_busy, args=(stop_sampling, busy_samples))
        sampler.start()
    leaked = []
    threads = [threading.Thread(target=worker, args=(pool, begin + args.seconds))
               for _ in range(args.workers)]
    if args.leak:
        threads.append(threading.Thread(target=leaker, args=(pool, begin, leaked)))
    run_all(threads)
    if args.late:
        # later demand: the pool opens new connections if none is free
        opened = pool.get_stats().get("connections_num", 0)
        args.transactions = 1
        args.query = "SELECT pg_sleep(0.3)"
        run_all([threading.Thread(target=worker, args=(pool, 0))
                 for _ in range(args.late)])
        truth["late_opened"] = pool.get_stats().get("connections_num", 0) - opened
    if args.sample_busy:
        stop_sampling.set()
        sampler.join()
        busy_samples.sort()
        truth["busy_p99"] = busy_samples[min(len(busy_samples) - 1,
                                             int(0.99 * len(busy_samples)))]
        truth["busy_max"] = busy_samples[-1]
    if args.leak:
        truth["leaked"] = len(leaked)
        truth["leaked_pids"] = [c.info.backend_pid for c in leaked]
finish = time.monotonic()
stats = pool.get_stats()
truth["connections_opened"] = stats.get("connections_num", 0)
truth["requests"] = stats.get("requests_num", 0)
truth["requests_queued"] = stats.get("requests_queued", 0)
truth["requests_wait_ms"] = stats.get("requests_wait_ms", 0)
truth["idle_in_tx_share"] = covered(idle_spans, begin, finish)
truth["seconds"] = finish - begin
if errors:
    raise SystemExit("a worker failed: " + errors[0])
print(json.dumps(truth), flush=True)
if args.hold:
    sys.stdin.read()
pool.close()
