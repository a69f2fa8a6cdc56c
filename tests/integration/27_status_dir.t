# Publishing the status never changes the mode of a directory the helper
# did not make: a status_file in a sticky, world-writable directory (/tmp)
# is not published (with a warning) and the directory left as it was, one
# in a group-writable web root is published there, and a missing
# directory is made 0755.
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
my $r = $env->ctl('status');
exit_is($r, 0, 'status with status_file in a sticky, world-writable directory');
stderr_like($r, qr/not publishing the status in \Q$shared\E: others can write there/,
            'warns that it does not publish where others can write');
ok(!-e "$shared/status.json" && !-e "$shared/status.flat",
   'and publishes nothing there (anyone could forge or take over the page)');
is((stat $shared)[2] & 07777, 01777, 'the shared directory keeps its mode 1777');

my $group = $env->dir . '/webroot';
mkdir $group or die "mkdir $group: $!";
chmod 02775, $group;
$env->set_config(status_file => "$group/status.json");
exit_is($env->ctl('status'), 0, 'status into a group-writable web root');
ok(-f "$group/status.json" && -f "$group/status.flat", 'published there');
is((stat $group)[2] & 07777, 02775, 'the web root keeps its mode 2775');

my $fresh = $env->dir . '/fresh/pub';
$env->set_config(status_file => "$fresh/status.json");
exit_is($env->ctl('status'), 0, 'status into a directory that does not exist');
is((stat $fresh)[2] & 07777, 0755, 'a directory the helper makes is 0755');
done_testing;
