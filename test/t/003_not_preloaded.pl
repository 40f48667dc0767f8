# Without shared_preload_libraries every function fails with a clear error
# (SQLSTATE 55000 and a hint naming the setting), and the server is fine.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pgps_node('not_preloaded', no_preload => 1);

foreach my $sql (
	'SELECT * FROM pgpool_stats_connections',
	'SELECT * FROM pgpool_stats_activity',
	'SELECT * FROM pgpool_stats_history',
	'SELECT * FROM pgpool_stats_recommendations',
	'SELECT * FROM pgpool_stats_server',
	'SELECT * FROM pgpool_stats_advise(0)',
	'SELECT * FROM pgpool_stats_advise_server()',
	'SELECT * FROM pgpool_stats_info',
	'SELECT * FROM pgpool_stats_memory',
	'SELECT pgpool_stats_sample()',
	'SELECT pgpool_stats_reset()')
{
	my ($rc, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\n$sql");
	isnt($rc, 0, "$sql fails");
	like($err, qr/ERROR:  55000: pgpool_stats must be loaded via shared_preload_libraries/,
		"$sql: SQLSTATE 55000 and what is wrong");
	like($err, qr/HINT:  Add pgpool_stats to the shared_preload_libraries setting and restart the server/,
		"$sql: hint names the setting");
}
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still works');

$node->stop;
done_testing();
