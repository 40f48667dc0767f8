# Failed logins and full tables: no failed login can evict a real
# application or fill the table, applications with no demand add nothing to
# the server's recommended total, and sessions that got no key still count
# in the server's row.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pgps_node('hostile',
	conf => "pgpool_stats.max_entries = 20\npgpool_stats.sample_interval = '10ms'",
	hba => "host all pwuser 127.0.0.0/8 password");
# The reset forgets CREATE EXTENSION's session, which can be seen busy in
# enough samples to make a demand of its own (the server total below must
# be the monitor's alone); this set-up session is quick (its key, kept by
# the reset, counts its end, not its start).
$node->safe_psql('postgres',
	q{SELECT pgpool_stats_reset(); CREATE ROLE pwuser LOGIN PASSWORD 'right'});
my $mon = bg_session($node, 'monitor');
my $keys = 'SELECT count(*) FROM pgpool_stats_connections';

# Eight real applications, each connected once and gone; the first ran a
# query long enough to be seen busy in samples, a one-off all the same.
my @real = map { "real$_" } 1 .. 8;
run_psql($node, "dbname=postgres application_name=$_",
	$_ eq 'real1' ? 'SELECT pg_sleep(0.2)' : 'SELECT 1') for @real;
is($mon->query_safe($keys), '10', 'eight applications, the monitor and the set-up: ten keys');

# A role that does not exist passes trust (or peer, ident...) and then
# fails: thirty such logins under thirty names make one key, evict nothing.
for my $i (1 .. 30)
{
	my ($rc, $out, $err) =
	  run_psql($node, "dbname=postgres user=nobody application_name=ghost$i", 'SELECT 1');
	die "expected a refused login, got: $err" unless $err =~ /role "nobody" does not exist/;
}
is( $mon->query_safe(q{
	SELECT count(*) || '|' || sum(login_failures) || '|' || bool_and(application_name = '')
	  FROM pgpool_stats_connections WHERE usename IS NULL}),
	'1|30|true', 'thirty logins of a role that does not exist: one key, no name, 30 failures');
is($mon->query_safe('SELECT evicted FROM pgpool_stats_info'), '0', 'nothing evicted');

# Wrong passwords from a hundred client addresses, a name each: one key.
my $refused = `/usr/bin/python3 $FindBin::RealBin/../clients/failed_logins.py @{[ $node->port ]} pwuser 100`;
chomp $refused;
is($refused, '100', 'the client saw its hundred logins refused');
is( $mon->query_safe(q{
	SELECT count(*) || '|' || sum(auth_failures) || '|' || bool_and(client_addr IS NULL AND application_name = '')
	  FROM pgpool_stats_connections WHERE usename = 'pwuser'}),
	'1|100|true', 'a hundred failures from a hundred addresses: one key, no name, no address');
is($mon->query_safe($keys), '12', 'the table holds the ten real keys and two of failures');

# Fill the table with real keys, fail once more (the failures' keys are now
# the most recently seen), then a new application needs room: a key that
# only ever failed goes, every real one stays.
run_psql($node, "dbname=postgres application_name=fill$_", 'SELECT 1') for 1 .. 8;
is($mon->query_safe($keys), '20', 'the table is full');
`/usr/bin/python3 $FindBin::RealBin/../clients/failed_logins.py @{[ $node->port ]} pwuser 1 again`;
run_psql($node, "dbname=postgres user=nobody application_name=ghost", 'SELECT 1');
run_psql($node, 'dbname=postgres application_name=newcomer', 'SELECT 1');
is( $mon->query_safe(q{
	SELECT count(*) FILTER (WHERE connections + disconnections > 0) || '|'
		   || count(*) FILTER (WHERE connections + disconnections = 0) FROM pgpool_stats_connections}),
	'19|1', 'a failures-only key made room: 19 real keys (newcomer included), one of failures left');
is( $mon->query_safe(q{
	SELECT count(*) FROM pgpool_stats_connections
	 WHERE application_name LIKE 'real%' OR application_name LIKE 'fill%'}),
	'16', 'every real application is still there');

# With enough samples for verdicts, the one-off applications and the
# failures need no pool: the recommended total is the monitor's alone (the
# only application with a connection open), though real1 was busy.
ok( poll_bg($mon, q{
	SELECT bool_and(verdict <> 'insufficient_data') FROM pgpool_stats_recommendations}, 't'),
	'every application has a verdict');
is( $mon->query_safe(q{
	SELECT busy_burst >= 1 FROM pgpool_stats_recommendations WHERE application_name = 'real1'}),
	't', 'the one-off real1 was seen busy');
is( $mon->query_safe(q{
	SELECT (s.recommended_total = r.recommended_pool_size) || '|' || s.verdict
	  FROM pgpool_stats_server s, pgpool_stats_recommendations r
	 WHERE r.application_name = 'monitor'}),
	'true|ok', 'applications with no demand add nothing: the total is the monitor\'s pool')
  or diag($mon->query_safe(q{
	SELECT string_agg(application_name || ' ' || verdict || ' ' || recommended_pool_size || ' '
					  || busy_p99 || ' ' || busy_burst || ' ' || open_connections, E'\n')
	  FROM pgpool_stats_recommendations}));

# A table full of keys with open connections: sessions beyond it get no key,
# and still count in the server's row and in a sample.
$node->safe_psql('postgres', 'SELECT pgpool_stats_reset()');
my @open = map { bg_session($node, "open$_") } 1 .. 19;	# with the monitor: 20
my @unkeyed = map { bg_session($node, "nokey$_") } 1 .. 8;
is($mon->query_safe($keys), '20', 'the table is full of keys with open connections');
my $clients = $mon->query_safe(
	q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'});
is($clients, '28', 'the server has 28 client sessions');
is($mon->query_safe('SELECT pgpool_stats_sample()'), $clients, 'a sample sees all of them');
is( $mon->query_safe('SELECT client_connections || \'|\' || client_connections_max FROM pgpool_stats_server'),
	"$clients|$clients", 'the server row counts them all, open and at the peak');
$_->quit for (@open, @unkeyed);
ok(poll_bg($mon, 'SELECT client_connections FROM pgpool_stats_server', '1'),
	'and forgets them when they end');

# Who sees what, as in pg_stat_activity: another role's sessions show
# their application_name, not their address nor any figure; so a failed
# login under another role's name shows a reader nothing it could not see
# in pg_stat_activity.
$node->safe_psql('postgres', q{
	SELECT pgpool_stats_reset();
	CREATE ROLE victim LOGIN;
	CREATE ROLE snoop LOGIN});
my $victim = bg_session($node, 'secret-app', extra_params => [ '-U', 'victim' ]);
my $as_snoop = bg_session($node, 'snoop', extra_params => [ '-U', 'snoop' ]);
my $seen = q{
	SELECT application_name || '|' || coalesce(connections::text, 'hidden') || '|'
		   || coalesce(login_failures::text, 'hidden')
	  FROM pgpool_stats_connections WHERE usename = 'victim'};
is( $as_snoop->query_safe(q{
	SELECT application_name || '|' || (backend_start IS NULL) || '|' || (state IS NULL)
	  FROM pg_stat_activity WHERE usename = 'victim'}),
	'secret-app|true|true', 'pg_stat_activity shows another role\'s application_name, not its times or state');
is($as_snoop->query_safe($seen), 'secret-app|hidden|hidden',
	'and so do the extension\'s views');
# the database refuses the role's new sessions: a right guess of its name
# and a wrong one
$node->safe_psql('postgres', q{
	REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
	GRANT CONNECT ON DATABASE postgres TO snoop});
for my $name ('secret-app', 'a-guess')
{
	my ($rc, $out, $err) = run_psql($node, "dbname=postgres user=victim application_name=$name", 'SELECT 1');
	like($err, qr/permission denied for database "postgres"/, "a login as victim under $name refused");
}
$node->safe_psql('postgres', 'GRANT CONNECT ON DATABASE postgres TO PUBLIC');
is( $mon->query_safe(q{
	SELECT string_agg(application_name || ':' || login_failures, ',' ORDER BY application_name)
	  FROM pgpool_stats_connections WHERE usename = 'victim'}),
	':1,secret-app:1', 'a superuser sees the failures: one under the key, one under no name');
is( $as_snoop->query_safe(q{
	SELECT string_agg(application_name || ':' || coalesce(login_failures::text, 'hidden'), ','
					  ORDER BY application_name)
	  FROM pgpool_stats_connections WHERE usename = 'victim'}),
	':hidden,secret-app:hidden', 'another role sees names only: no count to confirm a guess by');
$_->quit for ($victim, $as_snoop);

$mon->quit;
$node->stop;
done_testing();
