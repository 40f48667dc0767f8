// A node-postgres application for the real-client tests: worker loops that
// run a query, either through a pg.Pool or with a new pg.Client for every
// query (connect, query, end), then think.  At the end it prints, as one
// JSON line, its own truth: queries done, connections it opened.
//
//   node pg_app.js --host H --port P --app NAME --mode pool|per-query
//       [--max 5] [--workers 3] [--seconds 8] [--think-ms 20] [--sleep-ms 0]
//
// With --sleep-ms, each query is a pg_sleep of that long instead of a read.
'use strict';

const pg = require('pg');

const opts = { max: 5, workers: 3, seconds: 8, 'think-ms': 20, 'sleep-ms': 0, mode: 'pool' };
for (let i = 2; i < process.argv.length; i += 2)
  opts[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

const config = {
  host: opts.host, port: Number(opts.port), user: 'postgres',
  database: 'postgres', application_name: opts.app,
};
const truth = { queries: 0, connections_opened: 0 };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The query each worker runs, and its parameter
function query() {
  if (Number(opts['sleep-ms']) > 0)
    return ['SELECT pg_sleep($1)', [Number(opts['sleep-ms']) / 1000]];
  return ['SELECT abalance FROM pgbench_accounts WHERE aid = $1', [truth.queries % 100000 + 1]];
}

async function main() {
  let pool = null;
  if (opts.mode === 'pool') {
    pool = new pg.Pool({ ...config, max: Number(opts.max), idleTimeoutMillis: 0 });
    pool.on('connect', () => { truth.connections_opened++; });
  }
  const deadline = Date.now() + Number(opts.seconds) * 1000;
  async function worker() {
    while (Date.now() < deadline) {
      if (pool) {
        await pool.query(...query());
      } else {
        const client = new pg.Client(config);
        await client.connect();
        truth.connections_opened++;
        await client.query(...query());
        await client.end();
      }
      truth.queries++;
      await sleep(Number(opts['think-ms']));
    }
  }
  await Promise.all(Array.from({ length: Number(opts.workers) }, worker));
  if (pool)
    await pool.end();
  console.log(JSON.stringify(truth));
}

main().catch((err) => { console.error(err); process.exit(1); });
