# What the load-test reports measure by hand, measured exactly: the
# transactions and statements of each application's connections (reuse),
# how its sessions ended, a configured pool's use, and the report.  Every
# count is cross-checked with pg_stat_database, which counts the same
# things per database: autovacuum is off, so that only clients run
# transactions in the database "usage".
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = pgps_node('usage', conf => "autovacuum = off\nmax_prepared_transactions = 2");
$node->safe_psql('postgres', 'CREATE DATABASE usage');
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'usage' ],
	'pgbench tables created');
# the load on both cores runs in postgres
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'postgres' ],
	'pgbench tables created for the load');
my $dir = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$dir/one.sql", "SELECT 1;\n");
# one statement that outlasts the test: a worker busy at every instant
PostgreSQL::Test::Utils::append_to_file("$dir/hold.sql", "SELECT pg_sleep(600);\n");

my $mon = bg_session($node, 'monitor');
$mon->query_safe('SET stats_fetch_consistency = none');

# Ours and pg_stat_database's, for the database "usage"
my $both = q{
	SELECT (SELECT coalesce(sum(connections), 0) || '|' ||
				   coalesce(sum(transactions), 0) || '|' ||
				   coalesce(sum(sessions_abandoned), 0) || '|' ||
				   coalesce(sum(sessions_fatal), 0) || '|' ||
				   coalesce(sum(sessions_killed), 0)
			  FROM pgpool_stats_connections WHERE datname = 'usage')
		   || '#' ||
		   (SELECT sessions || '|' || xact_commit + xact_rollback || '|' ||
				   sessions_abandoned || '|' || sessions_fatal || '|' || sessions_killed
			  FROM pg_stat_database WHERE datname = 'usage')};

# Wait until every backend of "usage" has gone and flushed its statistics;
# returns ours and theirs, each (sessions, transactions, abandoned, fatal,
# killed)
sub settled
{
	poll_bg($mon, q{SELECT count(*) FROM pg_stat_activity WHERE datname = 'usage'}, '0');
	poll_bg($mon, q{SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections
		 WHERE datname = 'usage'}, '0');
	my $last = '';
	# pg_stat_database has a session's figures once its backend is gone
	for (1 .. 50)
	{
		my $now = $mon->query_safe($both);
		last if $now eq $last;
		$last = $now;
		usleep(100_000);
	}
	my ($ours, $theirs) = split /#/, $last;
	return ([ split /\|/, $ours ], [ split /\|/, $theirs ]);
}

# A session in "usage" under an application_name, with server options
sub session_in
{
	my ($app, $options) = @_;
	local $ENV{PGAPPNAME} = $app;
	local $ENV{PGOPTIONS} = $options // '';
	return $node->background_psql('usage');
}

sub pgbench_as
{
	my ($app, @args) = @_;
	local $ENV{PGAPPNAME} = $app;
	$node->command_ok([ 'pgbench', '-n', @args, 'usage' ], "pgbench as $app");
}

my ($ours0, $theirs0) = settled();

# --- reuse: pgbench makes a known number of transactions per connection ----
# A custom script: each client runs its transactions on one connection, and
# pgbench's own first connection runs none.
pgbench_as('reuse', '-f', "$dir/one.sql", '-c', '3', '-t', '40');
# one connection per transaction
pgbench_as('churn', '-f', "$dir/one.sql", '-C', '-c', '2', '-t', '10');
# the built-in TPC-B-like script: 7 statements a transaction (BEGIN, three
# UPDATEs, a SELECT, an INSERT, END), and two more transactions of one
# statement on pgbench's first connection, which reads the scale and
# whether pgbench_accounts is partitioned
pgbench_as('tpcb', '-c', '2', '-t', '25');
# extended and prepared protocols count alike (and as pg_stat_database does)
pgbench_as('extended', '-M', 'extended', '-f', "$dir/one.sql", '-c', '1', '-t', '30');
pgbench_as('prepared', '-M', 'prepared', '-f', "$dir/one.sql", '-c', '1', '-t', '30');
# two-phase commit: the server counts the prepared transaction when COMMIT
# PREPARED runs, and that statement's own transaction too; here the first
# counts where it ran, at PREPARE TRANSACTION
{
	local $ENV{PGAPPNAME} = 'twophase';
	$node->safe_psql('usage', "BEGIN;\nSELECT 1;\nPREPARE TRANSACTION 'pgps';");
	$node->safe_psql('usage', "COMMIT PREPARED 'pgps';");
}

my ($ours1, $theirs1) = settled();
is( churn_row($mon, 'reuse',
		'connections, transactions, statements, transactions_per_connection, round(reuse_share::numeric, 4)'),
	'4|120|120|30|0.9667',
	'3 clients x 40 transactions on 4 connections: 30 transactions per connection, 96.67% reused');
is(churn_row($mon, 'churn', 'connections, transactions, statements, reuse_share'),
	'21|20|20|0', 'one connection per transaction: nothing reused');
is(churn_row($mon, 'tpcb', 'connections, transactions, statements'),
	'3|52|352', 'TPC-B-like: 2 x 25 transactions of 7 statements, and pgbench\'s 2 on 3 connections');
is(churn_row($mon, 'extended', 'connections, transactions, statements'),
	'2|30|30', 'the extended protocol: 30 transactions, 30 statements');
is(churn_row($mon, 'prepared', 'statements'), '30',
	'prepared statements: 30 statements');
is(churn_row($mon, 'twophase', 'connections, transactions, statements'), '2|2|4',
	'two-phase commit: the prepared transaction and COMMIT PREPARED\'s, as pg_stat_database counts them; 4 statements');
is(churn_row($mon, 'reuse', 'sessions_normal, sessions_abandoned, sessions_fatal, sessions_killed'),
	'4|0|0|0', 'pgbench\'s sessions all ended normally');

# pg_stat_database counts each session's start-up transaction too (and a
# parallel worker's, which none of these start): its transactions grew by
# ours plus the sessions
my $sessions = $ours1->[0] - $ours0->[0];
is($sessions, 4 + 21 + 3 + 2 + 2 + 2, 'the connections pgbench and psql made');
is($sessions, $theirs1->[0] - $theirs0->[0], 'as many as pg_stat_database.sessions grew by');
is( ($ours1->[1] - $ours0->[1]) + $sessions,
	$theirs1->[1] - $theirs0->[1],
	'transactions: ours and the sessions\' start-up ones add up to pg_stat_database\'s xact_commit + xact_rollback');

# --- how sessions end -------------------------------------------------------
# killed: pg_terminate_backend
my $victim = session_in('victim');
my $pid = $victim->query_safe('SELECT pg_backend_pid()');
is($mon->query_safe("SELECT pg_terminate_backend($pid)"), 't', 'a session terminated');

# fatal: idle_session_timeout and idle_in_transaction_session_timeout end
# an idle session with an error; the second one's open transaction is
# rolled back, and counted
my $idler = session_in('idler', '-c idle_session_timeout=100');
$idler->query_safe('SELECT 1');
my $holder = session_in('holder', '-c idle_in_transaction_session_timeout=100');
$holder->query_safe('BEGIN; SELECT 1');

# abandoned: a client killed with SIGKILL, its connection left without a
# goodbye
my $gone = session_in('gone');
$gone->query_safe('SELECT 1');
ok(poll_bg($mon, q{SELECT count(*) FROM pg_stat_activity
	 WHERE datname = 'usage' AND application_name IN ('idler', 'holder', 'victim')}, '0'),
	'the timeouts and the termination ended their sessions');
$gone->{run}->signal('KILL');

my ($ours2, $theirs2) = settled();
is(churn_row($mon, 'victim', 'sessions_normal, sessions_abandoned, sessions_fatal, sessions_killed'),
	'0|0|0|1', 'pg_terminate_backend: one session killed');
is(churn_row($mon, 'idler', 'sessions_abandoned, sessions_fatal, sessions_killed, transactions'),
	'0|1|0|1', 'idle_session_timeout: one session ended by an error');
is(churn_row($mon, 'holder', 'sessions_abandoned, sessions_fatal, sessions_killed, transactions'),
	'0|1|0|1', 'idle_in_transaction_session_timeout: one, its transaction rolled back');
is(churn_row($mon, 'gone', 'sessions_abandoned, sessions_fatal, sessions_killed'),
	'1|0|0', 'a client killed with SIGKILL: one session abandoned');
for my $i (2 .. 4)
{
	my $what = (undef, undef, 'abandoned', 'fatal', 'killed')[$i];
	is($ours2->[$i] - $ours1->[$i], $theirs2->[$i] - $theirs1->[$i],
		"sessions $what: as many as pg_stat_database counted");
}
is( ($ours2->[1] - $ours1->[1]) + ($ours2->[0] - $ours1->[0]),
	$theirs2->[1] - $theirs1->[1],
	'and the transactions still add up');

# --- a configured pool's use, under load ------------------------------------
# 4 workers each busy all the time: a pool of 4 has no connection left to
# lend (undersized), one of 20 keeps 16 idle (oversized), one of 6 fits; a
# pool of 2 with an overflow of 2 lives in its overflow.  Checked with both
# cores loaded.  Each worker runs one long statement, never a gap between
# two: with short ones, a client starved of CPU by the load leaves its
# connection idle between them, and a burst of samples may see no instant
# with all 4 busy.
my $load = start_load($node, $mon);
my $workers;
{
	local $ENV{PGAPPNAME} = 'fullpool';
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	my ($out, $err) = ('', '');
	$workers = IPC::Run::start(
		[ 'pgbench', '-n', '-f', "$dir/hold.sql", '-c', '4', '-j', '2', '-T', '300', 'usage' ],
		'>', \$out, '2>', \$err);
}
ok(poll_bg($mon, q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fullpool'}, '4'),
	'the 4 workers run');
$mon->query_safe('SELECT pgpool_stats_reset()');
$mon->query_safe('SELECT count(pgpool_stats_sample()) FROM generate_series(1, 700)');
my $check = q{SELECT verdict, recommended_pool_size, open_max, busy_max_pct,
	overflow_reached, exhausted_share > 0.5, busy_above_85_share > 0.5
	FROM pgpool_stats_pool_check('fullpool', %d, %d)};
is($mon->query_safe(sprintf($check, 4, 0)), 'undersized|8|4|100|f|t|t',
	'a pool of 4 for 4 busy workers: undersized, try 8');
is($mon->query_safe(sprintf($check, 20, 0)), 'oversized|5|4|20|f|f|f',
	'a pool of 20: oversized, a pool of 5 would do');
is($mon->query_safe(sprintf($check, 6, 0)), 'ok|5|4|66.66666666666667|f|f|f',
	'a pool of 6 fits');
is($mon->query_safe(sprintf($check, 2, 2)), 'undersized|8|4|200|t|t|t',
	'a pool of 2 with an overflow of 2: in its overflow, and out of it');
like($mon->query_safe(q{SELECT reason FROM pgpool_stats_pool_check('fullpool', 2, 2)}),
	qr/^all 4 of its connections \(pool 2, its overflow of 2 in use in \d+\.\d% of samples\) were busy in \d+\.\d% of samples/,
	'the reason says the pool and its overflow were all busy');
is($mon->query_safe(q{SELECT count(*) FROM pgpool_stats_pool_check('fullpool', 4, datname => 'postgres')}),
	'0', 'a database that is not the application\'s: no row');
$workers->kill_kill;
$load->kill_kill;
$mon->query_safe(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE application_name = 'fullpool'});
ok(poll_bg($mon, q{SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fullpool'}, '0'),
	'the workers have gone');

# --- the report ---------------------------------------------------------------
my $report = $mon->query_safe('SELECT pgpool_stats_report()');
like($report, qr/^pgpool_stats report, /, 'the text report');
like($report, qr/application fullpool \(database usage, role \S+, 1 instance\)\n  verdict     /,
	'names each application');
like($report, qr/\nserver: \d+ of \d+ usable connections open/, 'ends with the server');
my $md = $mon->query_safe(q{SELECT pgpool_stats_report('markdown')});
like($md, qr/^# pgpool_stats report\n/, 'the markdown report');
like($md, qr/\n\| fullpool \| usage \| \S+ \| \w+ \|/, 'a table row per application');
like($md, qr/\n## Server\n/, 'and the server');
$mon->query_safe('SELECT pgpool_stats_reset()');
note($report);

$mon->quit;
$node->stop;
done_testing();
