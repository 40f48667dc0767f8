# Applications behind PgBouncer in transaction mode, with both cores kept
# busy by pgbench: the pooler's server connections sit idle in a
# transaction for the moment between a transaction's statements, which is
# normal, so the pooler gets no idle_in_transaction verdict; each client
# logs its own truth (test/clients/psycopg_app.py).
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

my $node = pgps_node('pgbouncer', conf => "pgpool_stats.sample_interval = '10ms'");
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'postgres' ], 'pgbench tables');
my $mon = bg_session($node, 'monitor');

# PgBouncer in transaction mode with 4 server connections at most
my ($port, $bouncer) = start_pgbouncer($node, 'postgres = host=@HOST@ port=@PORT@ dbname=postgres',
	default_pool_size => 4);

my $load = start_load($node, $mon);

# Six psycopg workers through PgBouncer, psycopg's default transactions:
# select, 5 ms of work, a second statement, commit, then 20 ms of thinking.
my ($out, $err) = ('', '');
IPC::Run::run([ $python, $client, "host=127.0.0.1 port=$port dbname=postgres user=postgres",
		'--app', 'behind-pooler', '--pool', '6', '--workers', '6', '--seconds', '8',
		'--in-tx-ms', '5', '--think-ms', '20', '--no-prepare' ],
	'>', \$out, '2>', \$err)
  or die "the client failed: $err";
my $truth = decode_json($out);
$mon->query_safe('SELECT count(pgpool_stats_sample()) FROM generate_series(1, 600)');
cmp_ok($truth->{transactions}, '>', 500, "the client ran $truth->{transactions} transactions");
cmp_ok($truth->{idle_in_tx_share}, '>=', 0.05,
	'the client says a transaction of it sat idle between statements '
	  . sprintf('%.0f%%', 100 * $truth->{idle_in_tx_share}) . ' of the time, '
	  . sprintf('%.3f s', $truth->{idle_in_tx_max_s}) . ' at most');

# The server sees PgBouncer's connections, under the name it connected with
my ($open, $seen_iit) = split /\|/, $mon->query_safe(q{
	SELECT a.total_max || '|' || a.idle_in_transaction_max_s
	  FROM pgpool_stats_activity a
	 WHERE a.application_name = '' AND a.client_addr IS NULL});
cmp_ok($open, '<=', 4, "the pooler held $open server connections, within its pool of 4");
cmp_ok($seen_iit, '>', 0, 'the sampler saw them idle in a transaction');
my ($verdict, $reason) = split /\|/, $mon->query_safe(q{
	SELECT verdict || '|' || reason FROM pgpool_stats_recommendations WHERE application_name = ''});
isnt($verdict, 'idle_in_transaction', "the pooler's short transactions are not left open ($verdict: $reason)");
isnt($verdict, 'insufficient_data', 'and there was enough data for a verdict');

$load->kill_kill;
$bouncer->kill_kill;
$mon->quit;
$node->stop;
done_testing();
