# Verdicts on real Python client libraries, psycopg 3 with psycopg_pool and
# SQLAlchemy's QueuePool, with both cores kept busy by pgbench the whole
# time: each application logs its own truth (test/clients/psycopg_app.py,
# sqlalchemy_app.py) and the views are checked against it.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use IPC::Run;
use JSON::PP;
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $python = '/usr/bin/python3';
my $client = "$FindBin::RealBin/../clients/psycopg_app.py";

my $node = pgps_node('clients', conf => "pgpool_stats.sample_interval = '10ms'\n"
	  . "max_connections = 40",
	hba => 'host all all 127.0.0.1/32 trust');
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'postgres' ], 'pgbench tables');
my $mon = bg_session($node, 'monitor');
my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';

# Both cores busy: a transaction's pauses last longer, samples come late.
my $load = start_load($node, $mon);

# Run the application and return its truth
sub run_client
{
	my @args = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $python, $client, $dsn, @args ], '>', \$out, '2>', \$err)
	  or die "the client failed: $err";
	return decode_json($out);
}

# --- short transactions: psycopg's default, an ORM's select-then-update ----
# Two workers on a pool of 4, each transaction two statements 20 ms apart
# (the application's work inside the transaction), then 10 ms of thinking.
# Its transactions sit idle between statements much of the time, for
# milliseconds each: normal, not a transaction left open.
my $orm = run_client('--app', 'orm', '--pool', '4', '--workers', '2',
	'--seconds', '8', '--in-tx-ms', '20', '--think-ms', '10');
settle_app($mon, 'orm');
cmp_ok($orm->{idle_in_tx_share}, '>=', 0.05,
	"the client says a transaction of it sat idle between statements "
	  . sprintf('%.0f%%', 100 * $orm->{idle_in_tx_share}) . ' of the time');
cmp_ok($orm->{idle_in_tx_max_s}, '<', 1, 'each time for well under a second');
is(churn_row($mon, 'orm', 'connections'),
	$orm->{connections_opened}, "connections: exactly the $orm->{connections_opened} the pool opened");
my ($seen_iit) = $mon->query_safe(q{
	SELECT idle_in_transaction_max_s FROM pgpool_stats_activity WHERE application_name = 'orm'});
cmp_ok($seen_iit, '>', 0, 'the sampler saw its transactions idle');
cmp_ok($seen_iit, '<=', $orm->{idle_in_tx_max_s} + 0.05, 'never longer than the client says');
my ($verdict, $reason) = split /\|/, $mon->query_safe(q{
	SELECT verdict || '|' || reason FROM pgpool_stats_recommendations WHERE application_name = 'orm'});
isnt($verdict, 'idle_in_transaction', "short transactions are not left open ($verdict: $reason)");
isnt($verdict, 'insufficient_data', 'and there was enough data for a verdict');

# --- the same with SQLAlchemy's QueuePool (psycopg2) -------------------------
# Run the SQLAlchemy application and return its truth
sub run_sqlalchemy
{
	my @args = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $python, "$FindBin::RealBin/../clients/sqlalchemy_app.py",
			'postgresql+psycopg2://postgres@/postgres?host=' . $node->host . '&port=' . $node->port,
			@args ],
		'>', \$out, '2>', \$err)
	  or die "the SQLAlchemy application failed: $err";
	return decode_json($out);
}

# pool_size 5 and max_overflow 10, three workers: select, 20 ms of work,
# update, commit, then 60 ms of thinking.
my $sqla = run_sqlalchemy('--app', 'orm-sqla', '--pool-size', '5', '--max-overflow', '10',
	'--workers', '3', '--seconds', '8', '--in-tx-ms', '20', '--think-ms', '60');
settle_app($mon, 'orm-sqla');
is($sqla->{overflow_max}, 0, "the pool never overflowed ($sqla->{checked_out_max} checked out at most)");
is(churn_row($mon, 'orm-sqla', 'connections'), $sqla->{connections_opened},
	"connections: exactly the $sqla->{connections_opened} the pool opened");
($verdict, $reason) = split /\|/, $mon->query_safe(q{
	SELECT verdict || '|' || reason FROM pgpool_stats_recommendations WHERE application_name = 'orm-sqla'});
is($verdict, 'ok', "ORM transactions with work inside: ok ($reason)");
# Its transactions, exactly: the client's, and SQLAlchemy's own queries at
# its first connection (two transactions with this version)
my ($xacts, $stmts) = split /\|/, churn_row($mon, 'orm-sqla', 'transactions, statements');
cmp_ok($xacts - $sqla->{transactions}, '>=', 0, "transactions: the client's $sqla->{transactions} ...");
cmp_ok($xacts - $sqla->{transactions}, '<=', 5, "... and SQLAlchemy's first-connect queries ($xacts)");
cmp_ok($stmts, '>=', 4 * $sqla->{transactions}, 'statements: BEGIN, SELECT, UPDATE and COMMIT in each');
# Checked as configured, 5 + 10: the overflow never used, as the pool says
is( $mon->query_safe(q{
	SELECT overflow_reached || '|' || open_max || '|' || verdict
	  FROM pgpool_stats_pool_check('orm-sqla', 5, 10)}),
	"false|$sqla->{connections_opened}|ok",
	'pool_check(5, 10): its overflow never reached, the pool fits');

# --- a SQLAlchemy pool that lives in its overflow ---------------------------
# pool_size 2 and max_overflow 3 for 7 workers that never think: the pool
# lends all 5, closes the overflow ones as they come back (more connections
# opened), and its workers wait for one (the client logs its waits).
my $sqla_full = run_sqlalchemy('--app', 'orm-full', '--pool-size', '2', '--max-overflow', '3',
	'--workers', '7', '--seconds', '6', '--in-tx-ms', '20', '--think-ms', '0');
settle_app($mon, 'orm-full');
is($sqla_full->{checked_out_max}, 5, 'the client had its 5 connections out at once');
is($sqla_full->{overflow_max}, 3, 'its overflow of 3 all in use');
cmp_ok($sqla_full->{checkout_waits}, '>', 0,
	"its workers waited for a connection $sqla_full->{checkout_waits} times, up to $sqla_full->{checkout_wait_max_s} s");
is(churn_row($mon, 'orm-full', 'connections'), $sqla_full->{connections_opened},
	"connections: exactly the $sqla_full->{connections_opened} the pool opened (overflow ones closed on return)");
my ($pc_verdict, $pc_pool, $pc_open, $pc_over, $pc_reason) = split /\|/, $mon->query_safe(q{
	SELECT verdict || '|' || recommended_pool_size || '|' || open_max || '|' ||
		   overflow_reached || '|' || reason
	  FROM pgpool_stats_pool_check('orm-full', 2, 3)});
is("$pc_verdict|$pc_pool|$pc_open|$pc_over", 'undersized|10|5|true',
	'pool_check(2, 3): undersized, its 5 connections at most, the overflow reached; try 10');
like($pc_reason, qr/^all 5 of its connections \(pool 2, its overflow of 3 in use in \d+\.\d% of samples\) were busy in \d+\.\d% of samples/,
	"the reason says the pool and its overflow were all busy ($pc_reason)");

# --- a transaction left open across the application's work ----------------
# One worker that opens a transaction, then works 2.5 s before its second
# statement, three times.
my $open = run_client('--app', 'forgetful', '--pool', '1', '--workers', '1',
	'--transactions', '3', '--in-tx-ms', '2500');
settle_app($mon, 'forgetful');
cmp_ok(abs($open->{idle_in_tx_max_s} - 2.5), '<', 0.5, 'the client held its transactions open 2.5 s');
($seen_iit) = $mon->query_safe(q{
	SELECT idle_in_transaction_max_s FROM pgpool_stats_activity WHERE application_name = 'forgetful'});
cmp_ok($seen_iit, '>=', 1.5, "the sampler saw it idle in its transaction for $seen_iit s");
cmp_ok($seen_iit, '<=', $open->{idle_in_tx_max_s} + 0.05, 'never longer than the client says');
($verdict, $reason) = split /\|/, $mon->query_safe(q{
	SELECT verdict || '|' || reason FROM pgpool_stats_recommendations WHERE application_name = 'forgetful'});
is($verdict, 'idle_in_transaction', 'a transaction open across seconds of work: idle_in_transaction');
like($reason, qr/^a session sat idle in a transaction for 1 s or more in \d+% of samples, the longest for 2\.\d s/,
	'the reason says how long and how often');

# --- rare bursts -------------------------------------------------------------
# A pool of 10 idle but for a burst of 10 concurrent 50 ms queries every
# 3 s: bursts fill under 1% of the samples, so the 99th percentile misses
# them, yet a pool sized below them turns each into queueing.
my $bursty = run_client('--app', 'bursty', '--pool', '10', '--burst', '10',
	'--burst-every-ms', '3000', '--seconds', '9.5', '--query', 'SELECT pg_sleep(0.05)');
settle_app($mon, 'bursty');
$mon->query_safe('SELECT count(pgpool_stats_sample()) FROM generate_series(1, 3000)');
is($bursty->{bursts}, 3, 'the client ran 3 bursts of 10');
my ($p99, $burst, $pool, $peak) = split /\|/, $mon->query_safe(q{
	SELECT busy_p99 || '|' || busy_burst || '|' || recommended_pool_size || '|' || active_max
	  FROM pgpool_stats_recommendations WHERE application_name = 'bursty'});
cmp_ok($p99, '<', $burst / 2, "the bursts are rare: busy p99 $p99");
cmp_ok($burst, '>=', 8, "the burst size seen: $burst busy connections (the client ran 10)");
cmp_ok($pool, '>=', $burst, "the recommended pool ($pool) serves the bursts");
($verdict, $reason) = split /\|/, $mon->query_safe(q{
	SELECT verdict || '|' || reason FROM pgpool_stats_recommendations WHERE application_name = 'bursty'});
like($reason, qr/bursts reach \d+/, "the reason says the bursts size the pool ($verdict: $reason)");

# --- one exhausted instance next to an idle one -----------------------------
# The same application from two client addresses (127.0.0.1 and the Unix
# socket): one instance runs 12 workers on a pool of 4, each query 200 ms, no
# thinking, so its clients queue for connections; the other runs one worker
# on a pool of 4.  Judged together the idle instance hides the full one.
my $tcp_dsn = 'host=127.0.0.1 port=' . $node->port . ' dbname=postgres';
my ($full_out, $full_err) = ('', '');
my $full = IPC::Run::start([ $python, $client, $tcp_dsn, '--app', 'twins', '--pool', '4',
		'--workers', '12', '--seconds', '8', '--query', 'SELECT pg_sleep(0.2)' ],
	'>', \$full_out, '2>', \$full_err);
my $calm = run_client('--app', 'twins', '--pool', '4', '--workers', '1',
	'--seconds', '8', '--think-ms', '200');
$full->finish or die "the client failed: $full_err";
$full = decode_json($full_out);
settle_app($mon, 'twins');
cmp_ok($full->{requests_queued}, '>', 0,
	"the full instance's clients waited for a connection $full->{requests_queued} times ($full->{requests_wait_ms} ms)");
is($calm->{requests_queued}, 0, "the calm instance's never did");
is($mon->query_safe(q{SELECT clients FROM pgpool_stats_recommendations WHERE application_name = 'twins'}),
	'2', 'two instances of one application');
($verdict, $reason) = split /\|/, $mon->query_safe(q{
	SELECT verdict || '|' || reason FROM pgpool_stats_recommendations WHERE application_name = 'twins'});
is($verdict, 'undersized', 'one instance full: undersized');
like($reason, qr/^in 1 of its 2 instances, all 4 connections were busy in \d+% of samples: .*try a pool of 8 in the full instance/,
	'the reason names the instance and doubles its pool');

# --- a pool as large as its workers ----------------------------------------
# Four workers on a pool of 4, each running 50 ms queries with no pause: the
# pool is full nearly all the time, yet no client ever waits.  The server
# cannot tell the two apart: the reason says what it saw and where the
# answer is, and claims no queue.
my $matched = run_client('--app', 'matched', '--pool', '4', '--workers', '4',
	'--seconds', '8', '--query', 'SELECT pg_sleep(0.05)');
settle_app($mon, 'matched');
is($matched->{requests_queued}, 0, 'the client never waited for a connection');
($verdict, $reason) = split /\|/, $mon->query_safe(q{
	SELECT verdict || '|' || reason FROM pgpool_stats_recommendations WHERE application_name = 'matched'});
is($verdict, 'undersized', "a pool full of its own workers is full: undersized ($reason)");
like($reason, qr/^all of its 4 connections were busy in \d+% of samples: the pool is full most of the time; if its clients wait for a connection \(the pool's own wait figures tell\), try a pool of 8/,
	'the reason says what was seen and where to look, not that clients wait');

# --- an oversized pool in autocommit -----------------------------------------
# A pool of 20 for two workers running 10 ms statements in autocommit, with
# 20 ms of thinking: most of it sits idle.
my $roomy = run_client('--app', 'roomy', '--pool', '20', '--workers', '2',
	'--seconds', '8', '--think-ms', '20', '--autocommit', '--query', 'SELECT pg_sleep(0.01)');
settle_app($mon, 'roomy');
is(churn_row($mon, 'roomy', 'connections'), $roomy->{connections_opened},
	"connections: exactly the $roomy->{connections_opened} the pool opened");
($verdict, $reason) = split /\|/, $mon->query_safe(q{
	SELECT verdict || '|' || reason FROM pgpool_stats_recommendations WHERE application_name = 'roomy'});
is($verdict, 'oversized', "20 connections for two workers: oversized ($reason)");
like($reason, qr/^keeps 20 connections open but at most [12] (is|are) busy in 99% of samples, so about (19|20) sit idle(: |; at [\d.]+ transactions\/s of [\d.]+ ms each, .*: )a pool of [23] would do/,
	'the reason has the pool and what sits idle (and the waits the model predicts, when it sizes the pool)');

$load->kill_kill;
$mon->quit;
$node->stop;
done_testing();
