# What counts as a connection, an authentication failure and a login
# failure, and how keys keep applications and client addresses apart.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgpsTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = pgps_node(
	'logins',
	hba => "local all pwuser scram-sha-256\n"
	  . "host all pwuser 127.0.0.1/32 scram-sha-256");
$node->safe_psql('postgres', q{
	CREATE ROLE pwuser LOGIN PASSWORD 'right';
	CREATE ROLE cannot_login NOLOGIN;
	CREATE DATABASE closed;
	REVOKE CONNECT ON DATABASE closed FROM PUBLIC;
	CREATE ROLE outsider LOGIN;
});
my $mon = bg_session($node, 'monitor');
my $tcp = 'host=127.0.0.1 dbname=postgres';

# A wrong password is an authentication failure, not a connection.  The
# client chose its application_name unauthenticated: a name that has no key
# yet makes none, the failure counts under an empty name and no address.
my ($rc) = run_psql($node, "$tcp user=pwuser password=wrong application_name=badpw",
	'SELECT 1');
isnt($rc, 0, 'wrong password refused');
is( churn_row($mon, '',
		'datname, usename, auth_failures, connections, login_failures'),
	'postgres|pwuser|1|0|0',
	'wrong password: one authentication failure, under an empty name and no address');
is($mon->query_safe(
		"SELECT count(*) FROM pgpool_stats_connections WHERE application_name = 'badpw'"),
	'0', 'a failed authentication makes no key for its name');

# The right password over the same path is a connection; a wrong one after
# it counts under the key that now exists.
($rc) = run_psql($node, "$tcp user=pwuser password=right application_name=badpw",
	'SELECT 1');
is($rc, 0, 'right password accepted');
($rc) = run_psql($node, "$tcp user=pwuser password=wrong application_name=badpw",
	'SELECT 1');
isnt($rc, 0, 'wrong password refused again');

# Many names, none authenticated: still one key.
for my $i (1 .. 5)
{
	run_psql($node, "$tcp user=pwuser password=wrong application_name=guess$i",
		'SELECT 1');
}
is( churn_row($mon, '', 'auth_failures'),
	'6', 'five more names that failed: counted under the empty name');
is($mon->query_safe(
		"SELECT count(*) FROM pgpool_stats_connections WHERE application_name LIKE 'guess%'"),
	'0', 'no key for any of them');

# A client that hangs up at the password request (as psql does before it
# prompts) is neither: the server sees the end of the connection.
($rc) = run_psql($node, "$tcp user=pwuser application_name=nopw", 'SELECT 1');
isnt($rc, 0, 'no password given');

# Logins that pass authentication and then fail are login failures; with no
# key of their own (they never connected) they count as failed
# authentications do, under their database and role with no name.
($rc) = run_psql($node, 'dbname=nosuchdb application_name=ghost', 'SELECT 1');
isnt($rc, 0, 'missing database refused');
($rc) = run_psql($node, 'dbname=postgres user=cannot_login application_name=nologin',
	'SELECT 1');
isnt($rc, 0, 'NOLOGIN role refused');
($rc) = run_psql($node, 'dbname=closed user=outsider application_name=noconnect',
	'SELECT 1');
isnt($rc, 0, 'database without CONNECT right refused');

# Two applications, and one of them from two client addresses.
run_psql($node, 'dbname=postgres application_name=app_a', 'SELECT 1') for 1 .. 2;
run_psql($node, "$tcp application_name=app_a", 'SELECT 1') for 1 .. 3;
run_psql($node, 'dbname=postgres application_name=app_b', 'SELECT 1');

ok( poll_bg($mon,
		"SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections "
		  . "WHERE application_name <> 'monitor'", '0'),
	'every test session ended');

is( churn_row($mon, 'badpw', 'auth_failures, connections, disconnections', '127.0.0.1'),
	'1|1|1', 'right password, then a wrong one: both under the name that now has a key');
is($mon->query_safe(
		"SELECT count(*) FROM pgpool_stats_connections WHERE application_name = 'nopw'"),
	'0', 'a client hanging up at the password request is not counted');
my $me = $node->safe_psql('postgres', 'SELECT current_user');
is( $mon->query_safe(
		"SELECT login_failures || '|' || connections FROM pgpool_stats_connections "
		  . "WHERE application_name = '' AND datname IS NULL AND usename = '$me'"),
	'1|0', 'missing database: a login failure, not a connection');
# the role is refused before the database is looked up: no database known
is( $mon->query_safe(
		"SELECT login_failures || '|' || connections FROM pgpool_stats_connections "
		  . "WHERE application_name = '' AND datname IS NULL AND usename = 'cannot_login'"),
	'1|0', 'NOLOGIN role: a login failure');
is( $mon->query_safe(
		"SELECT login_failures || '|' || connections FROM pgpool_stats_connections "
		  . "WHERE application_name = '' AND datname = 'closed' AND usename = 'outsider'"),
	'1|0', 'no CONNECT right: a login failure under that database');
is( $mon->query_safe(
		"SELECT count(*) FROM pgpool_stats_connections "
		  . "WHERE application_name IN ('ghost', 'nologin', 'noconnect')"),
	'0', 'no key for the names of logins that never succeeded');

is(churn_row($mon, 'app_a', 'connections, disconnections'),
	'2|2', 'app_a over the Unix socket: its own key');
is(churn_row($mon, 'app_a', 'connections, disconnections', '127.0.0.1'),
	'3|3', 'app_a from 127.0.0.1: its own key');
is(churn_row($mon, 'app_b', 'connections, disconnections'),
	'1|1', 'app_b: its own key');
is( $mon->query_safe(
		"SELECT count(*) FROM pgpool_stats_connections WHERE application_name LIKE 'app_%'"),
	'3', 'three keys, no more');

# The monitor itself: open now, established once.
is(churn_row($mon, 'monitor', 'connections, open_connections, disconnections'),
	'1|1|0', 'an open session is counted as open');

$mon->quit;
$node->stop;
done_testing();
