# Applications behind PgBouncer, with both cores kept busy by pgbench.  A
# pooler sets each client's application_name on the server connection it
# lends: the sampler counts that connection's busy states for the
# application too.  Each application gets its own row, with its busy p99
# within 1 of what its client measured; the pooler is recognised and sized
# as a pooler; the server row counts it once; a direct application next to
# them is unaffected.  Transaction mode (database postgres) and session
# mode (database sess), through one PgBouncer.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use IPC::Run;
use JSON::PP;
use PgpsTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $python = '/usr/bin/python3';
my $client = "$FindBin::RealBin/../clients/psycopg_app.py";
my $node_app = "$FindBin::RealBin/../clients/pg_app.js";
die "node-postgres is not installed: npm ci --prefix test/clients"
  unless -d "$FindBin::RealBin/../clients/node_modules/pg";

my $node = pgps_node('pooler', conf => "pgpool_stats.sample_interval = '10ms'");
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'postgres' ], 'pgbench tables');
$node->safe_psql('postgres', 'CREATE DATABASE sess');
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'sess' ], 'pgbench tables in sess');
my $mon = bg_session($node, 'monitor');

# PgBouncer: postgres in transaction mode, 6 server connections at most;
# sess in session mode.  The psql that checks it is up says it is 'api'.
my ($port, $bouncer);
{
	local $ENV{PGAPPNAME} = 'api';
	($port, $bouncer) = start_pgbouncer($node,
		"postgres = host=\@HOST\@ port=\@PORT\@ dbname=postgres\n"
		  . "sess = host=\@HOST\@ port=\@PORT\@ dbname=sess pool_mode=session",
		default_pool_size => 6, stats_users => 'postgres');
}
my $node_port = $node->port;

my $load = start_load($node, $mon);
my $via = "host=127.0.0.1 port=$port user=postgres";

# Start a psycopg application; its truth once it is done
sub start_client
{
	my ($dsn, @args) = @_;
	my %run = (out => '', err => '');
	$run{h} = IPC::Run::start([ $python, $client, $dsn, '--sample-busy', @args ],
		'>', \$run{out}, '2>', \$run{err});
	return \%run;
}

sub finish_client
{
	my ($run) = @_;
	$run->{h}->finish or die "the client failed: $run->{err}";
	return decode_json($run->{out});
}

# An application's row, once its window has the samples a verdict needs
sub app_row
{
	my ($app, $db) = @_;
	$db //= 'postgres';
	my ($samples) = $mon->query_safe(qq{SELECT coalesce(max(samples), 0) FROM pgpool_stats_activity a
		JOIN pg_database d ON d.oid = a.dbid WHERE application_name = '$app' AND d.datname = '$db'});
	$mon->query_safe('SELECT count(pgpool_stats_sample()) FROM generate_series(1, '
		  . (600 - $samples) . ')') if $samples < 600;
	my $row = $mon->query_safe(qq{
		SELECT verdict || '|' || reason || '|' || busy_p99 || '|' || busy_burst || '|'
		       || recommended_pool_size || '|' || pooler || '|' || behind_pooler || '|' || clients
		       || '|' || open_connections
		  FROM pgpool_stats_recommendations WHERE application_name = '$app' AND datname = '$db'});
	my %r;
	@r{qw(verdict reason busy_p99 busy_burst pool pooler behind clients open)} = split /\|/, $row;
	return \%r;
}

# --- transaction mode: two applications, a connect-per-query one, a direct one
# 'api': 4 workers, 30 ms queries, 20 ms of thinking; 'worker': 2 workers,
# 60 ms queries, 40 ms; 'cron': node-postgres with a new connection to
# PgBouncer per query, each a 10 ms sleep; 'direct': a psycopg pool of 3
# straight to the server.
my $api = start_client("$via dbname=postgres", '--app', 'api', '--pool', '4', '--workers', '4',
	'--seconds', '8', '--think-ms', '20', '--no-prepare', '--query', 'SELECT pg_sleep(0.03)');
my $worker = start_client("$via dbname=postgres", '--app', 'worker', '--pool', '2', '--workers', '2',
	'--seconds', '8', '--think-ms', '40', '--no-prepare', '--query', 'SELECT pg_sleep(0.06)');
my $direct = start_client('host=' . $node->host . " port=$node_port dbname=postgres", '--app', 'direct',
	'--pool', '3', '--workers', '2', '--seconds', '8', '--think-ms', '20');
my ($cron_out, $cron_err) = ('', '');
IPC::Run::run([ 'node', $node_app, '--host', '127.0.0.1', '--port', $port, '--app', 'cron',
		'--mode', 'per-query', '--workers', '1', '--seconds', '8', '--think-ms', '50',
		'--sleep-ms', '10' ],
	'>', \$cron_out, '2>', \$cron_err)
  or die "the node application failed: $cron_err";
my $cron = decode_json($cron_out);
$api = finish_client($api);
$worker = finish_client($worker);
$direct = finish_client($direct);

for my $app ([ 'api', $api ], [ 'worker', $worker ])
{
	my ($name, $truth) = @$app;
	my $r = app_row($name);
	is($r->{behind}, 'true', "$name: seen through the pooler");
	is($r->{pooler}, 'false', "$name: not a pooler itself");
	is($r->{open}, '0', "$name: no server connection of its own");
	cmp_ok(abs($r->{busy_p99} - $truth->{busy_p99}), '<=', 1,
		"$name: busy p99 $r->{busy_p99}, the client measured $truth->{busy_p99}");
	is($r->{verdict}, 'ok', "$name: ok ($r->{reason})");
	like($r->{reason}, qr/^behind a pooler: at most \d+ of its server connections busy in 99% of samples/,
		"$name: the reason says what it takes of the pooler's server pool");
}

my $r = app_row('cron');
cmp_ok($cron->{connections_opened}, '>=', 30, "cron opened $cron->{connections_opened} connections to PgBouncer");
is($r->{behind}, 'true', 'cron: seen through the pooler');
isnt($r->{verdict}, 'no_pooling', "cron: the server sees none of its connections: no no_pooling ($r->{verdict})");

$r = app_row('direct');
is($r->{behind}, 'false', 'direct: not behind the pooler');
is($r->{pooler}, 'false', 'direct: not a pooler');
is(churn_row($mon, 'direct', 'connections'), $direct->{connections_opened},
	"direct: exactly the $direct->{connections_opened} connections its pool opened");

# The pooler: PgBouncer's own key, with no application_name
my $p = app_row('');
is($p->{pooler}, 'true', 'PgBouncer is recognised as a pooler');
like($p->{reason}, qr/^a pooler for 3 applications \(its server pool, PgBouncer's default_pool_size\): /,
	"its reason counts api, worker and cron ($p->{verdict}: $p->{reason})");
# its pool: its busy p99 with 20% headroom, and its bursts (doubled if
# full), or less where the wait model says less would keep the waits of
# its transactions within the target
my $p99h = $p->{busy_p99} * 1.2 - 1e-9;
my $demand = int($p99h) + ($p99h > int($p99h) ? 1 : 0);
$demand = 1 if $demand < 1;
$demand = $p->{busy_burst} if $p->{busy_burst} > $demand;
if ($p->{reason} =~ /would make/)
{
	my ($pool, $smallest) = split /\|/, $mon->query_safe(q{
		SELECT r.recommended_pool_size || '|'
			   || (SELECT max(smallest_pool_size) FROM pgpool_stats_what_if('') w
				    WHERE (w.datname, w.usename) = (r.datname, r.usename))
		  FROM pgpool_stats_recommendations r WHERE r.application_name = '' AND r.pooler});
	is($pool, $smallest < $demand ? $smallest : $demand,
		"its pool ($pool): the smallest within the wait target ($smallest), at most what its busy connections ask ($demand)");

	# PgBouncer's own truth: the time its clients waited for a server
	# connection (SHOW STATS), against what the model says 6 make them wait
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-XAqw', '-d', "host=127.0.0.1 port=$port dbname=pgbouncer",
			'-c', 'SHOW STATS' ], '>', \$out, '2>', \$err)
	  or die "SHOW STATS failed: $err";
	my ($head, @rows) = split /\n/, $out;
	my @cols = split /\|/, $head;
	my ($stats) = grep { ($_->{database} // '') eq 'postgres' }
	  map { my %r; @r{@cols} = split /\|/; \%r } @rows;
	die "SHOW STATS has no transactions of database postgres: $out"
	  unless $stats && $stats->{total_xact_count};
	my $waited_ms = $stats->{total_wait_time} / 1000 / $stats->{total_xact_count};
	my $predicted = $mon->query_safe(q{
		SELECT round(wait_avg_ms::numeric, 2) FROM pgpool_stats_what_if('', 6)
		 WHERE datname = 'postgres'});
	note(sprintf('PgBouncer pool of 6: its clients waited %.2f ms a transaction on average '
		  . '(%d transactions); predicted %s ms', $waited_ms, $stats->{total_xact_count}, $predicted));
	# all of its clients' waiting would not make 1% of them wait 10 ms:
	# their p99 wait is within the target, the pool is not undersized
	if ($stats->{total_wait_time} < 0.01 * $stats->{total_xact_count} * 10_000)
	{
		isnt($p->{verdict}, 'undersized',
			'PgBouncer\'s clients waited too little for a p99 of 10 ms: not undersized');
	}
}
elsif ($p->{verdict} eq 'undersized')
{
	cmp_ok($p->{pool}, '>', $demand, "its pool, full, grows: $p->{pool}");
}
else
{
	is($p->{pool}, $demand,
		"its pool ($p->{pool}) serves its busy p99 ($p->{busy_p99}) with 20% headroom, and its bursts ($p->{busy_burst})");
}

# The server counts the pooler once: the applications behind it add nothing,
# nor do those that have gone after one connection (this script's set-up
# sessions) or were never busy (both are read in one statement, but samples
# go on meanwhile: poll)
ok(poll_bg($mon, q{
	SELECT s.recommended_total = (SELECT sum(r.recommended_pool_size * r.clients)
	         FROM pgpool_stats_recommendations r
	        WHERE NOT r.behind_pooler AND r.verdict <> 'insufficient_data'
	          AND (r.open_connections > 0
	               OR ((r.busy_p99 > 0 OR r.busy_burst > 0)
	                   AND (SELECT sum(c.connections) FROM pgpool_stats_connections c
	                         WHERE (c.dbid, c.userid, c.application_name)
	                               = (r.dbid, r.userid, r.application_name)) > 1)))
	  FROM pgpool_stats_server s}, 't'),
	"the server's recommended total is the pooler's and the direct applications', once")
  or diag($mon->query_safe(q{
	SELECT string_agg(application_name || ' ' || verdict || ' ' || recommended_pool_size || ' '
					  || busy_p99 || ' ' || busy_burst || ' ' || open_connections, E'\n')
	  FROM pgpool_stats_recommendations}));

# --- the sum: one sample, two transactions held open through the pooler ---
sub hold_tx
{
	my ($app) = @_;
	my ($in, $out, $err) = ("BEGIN;\nSELECT 1;\n", '', '');
	local $ENV{PGAPPNAME} = $app;
	my $h = IPC::Run::start([ 'psql', '-X', '-q', '-d', "$via dbname=postgres" ],
		'<', \$in, '>', \$out, '2>', \$err);
	$h->pump until $out =~ /1/ || !$h->pumpable;
	return [ $h, \$in ];
}
my @held = (hold_tx('api'), hold_tx('worker'));
ok(poll_bg($mon, q{SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'
	AND application_name IN ('api', 'worker')}, '2'), 'two transactions held open through PgBouncer');
$mon->query_safe('SELECT pgpool_stats_sample()');
my %iit = map { split /\|/ } split /\n/, $mon->query_safe(q{
	SELECT application_name || '|' || sum(idle_in_transaction) FROM pgpool_stats_activity
	 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'postgres')
	   AND application_name IN ('', 'api', 'worker') GROUP BY application_name});
is($iit{api}, 1, 'that sample counted api\'s held transaction for api');
is($iit{worker}, 1, 'and worker\'s for worker');
is($iit{''}, $iit{api} + $iit{worker}, 'and both for the pooler, whose connections they are: the sum holds');
for my $held (@held)
{
	${ $held->[1] } .= "COMMIT;\n\\q\n";
	$held->[0]->finish;
}

# --- session mode ------------------------------------------------------------
# Two workers of 'sess-app' through the session-mode alias: each client
# connection has a server connection of its own for its whole session.
my $sess = start_client("$via dbname=sess", '--app', 'sess-app', '--pool', '2', '--workers', '2',
	'--seconds', '8', '--think-ms', '20', '--query', 'SELECT pg_sleep(0.02)');
$sess = finish_client($sess);
$r = app_row('sess-app', 'sess');
is($r->{behind}, 'true', 'session mode: the application is seen through the pooler');
cmp_ok(abs($r->{busy_p99} - $sess->{busy_p99}), '<=', 1,
	"session mode: busy p99 $r->{busy_p99}, the client measured $sess->{busy_p99}");
$p = app_row('', 'sess');
is($p->{pooler}, 'true', 'session mode: the pooler is recognised');

$load->kill_kill;
$bouncer->kill_kill;
$mon->quit;
$node->stop;
done_testing();
