# Verdicts on node-postgres (test/clients/pg_app.js, installed from the npm
# registry by test/check.sh), with both cores kept busy by pgbench: a
# pg.Pool and a client per query, each logging its own truth.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use IPC::Run;
use JSON::PP;
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $app = "$FindBin::RealBin/../clients/pg_app.js";
die "node-postgres is not installed: npm ci --prefix test/clients"
  unless -d "$FindBin::RealBin/../clients/node_modules/pg";

my $node = pgps_node('node_clients', conf => "pgpool_stats.sample_interval = '10ms'");
$node->command_ok([ 'pgbench', '-i', '-q', '-s', '1', 'postgres' ], 'pgbench tables');
my $mon = bg_session($node, 'monitor');

my $load = start_load($node, $mon);

# Run the application over TCP and return its truth
sub run_app
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'node', $app, '--host', '127.0.0.1', '--port', $node->port, @_ ],
		'>', \$out, '2>', \$err)
	  or die "the application failed: $err";
	return decode_json($out);
}

sub verdict
{
	my ($name) = @_;
	return split /\|/, $mon->query_safe(
		"SELECT verdict || '|' || reason FROM pgpool_stats_recommendations WHERE application_name = '$name'");
}

# --- a pg.Pool of up to 5, three workers querying every 20 ms ---------------
my $pooled = run_app('--app', 'node-pool', '--mode', 'pool', '--max', '5',
	'--workers', '3', '--seconds', '8', '--think-ms', '20');
settle_app($mon, 'node-pool');
cmp_ok($pooled->{queries}, '>', 100, "the application ran $pooled->{queries} queries");
is(churn_row($mon, 'node-pool', 'connections', '127.0.0.1'), $pooled->{connections_opened},
	"connections: exactly the $pooled->{connections_opened} its pool opened");
my ($verdict, $reason) = verdict('node-pool');
is($verdict, 'ok', "a pool that fits its workers: ok ($reason)");

# --- a client per query ------------------------------------------------------
my $churny = run_app('--app', 'node-per-query', '--mode', 'per-query',
	'--workers', '2', '--seconds', '8', '--think-ms', '20');
settle_app($mon, 'node-per-query');
is(churn_row($mon, 'node-per-query', 'connections || \'|\' || disconnections', '127.0.0.1'),
	"$churny->{connections_opened}|$churny->{connections_opened}",
	"connections and disconnections: exactly the $churny->{connections_opened} it opened and closed");
($verdict, $reason) = verdict('node-per-query');
is($verdict, 'no_pooling', 'a connection per query: no_pooling');
like($reason, qr/^opens [\d.]+ connections\/s, median session \d+ ms/, 'with its rate and median session');

$load->kill_kill;
$mon->quit;
$node->stop;
done_testing();
