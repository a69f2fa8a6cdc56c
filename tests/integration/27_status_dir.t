# Publishing the status never changes the mode of a directory the helper
# did not make: a status_file in a shared directory (a sticky /tmp, a web
# root) leaves that directory as it was, and a missing one is made 0755.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(pebble => 0, httpd => 0, challtestsrv => 0);
my $shared = $env->dir . '/shared';
mkdir $shared or die "mkdir $shared: $!";
chmod 01777, $shared;
$env->set_config(status_file => "$shared/status.json");
my $r = $env->ctl('--json', 'status');
exit_is($r, 0, 'status with status_file in a sticky, world-writable directory');
ok(-f "$shared/status.json" && -f "$shared/status.flat", 'status published there');
is((stat $shared)[2] & 07777, 01777, 'the shared directory keeps its mode 1777');

my $group = $env->dir . '/webroot';
mkdir $group or die "mkdir $group: $!";
chmod 02775, $group;
$env->set_config(status_file => "$group/status.json");
exit_is($env->ctl('status'), 0, 'status into a group-writable web root');
is((stat $group)[2] & 07777, 02775, 'the web root keeps its mode 2775');

my $fresh = $env->dir . '/fresh/pub';
$env->set_config(status_file => "$fresh/status.json");
exit_is($env->ctl('status'), 0, 'status into a directory that does not exist');
is((stat $fresh)[2] & 07777, 0755, 'a directory the helper makes is 0755');
done_testing;
