# A first sign on a machine where nothing ever created the challenge
# store's directory (/run/expacme after a reboot, say): the helper makes
# it, reachable by httpd's workers, and the module finds the store.
use strict;
use warnings;
use Test::More;
use File::Path qw(remove_tree);
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new;
$env->setup_account;
my $dir = "$env->{dir}/run";
remove_tree($dir);
ok(!-e $dir, 'the store directory does not exist');

my @names = $env->names(2, 'storedir-');
$env->make_csr(cert => 'server', names => \@names);
my $r = $env->ctl('sign');
exit_is($r, 0, 'sign creates the store directory and succeeds');
ok(-d $dir, 'store directory created');
is((stat $dir)[2] & 0777, 0755, 'store directory is 0755 (httpd workers reach it)');
is((stat $env->store_path)[2] & 0777, 0644, 'store file is 0644');
my $j = $env->ctl('--json', 'token', 'list')->{json} || {};
is(scalar @{ $j->{tokens} || [] }, 0, 'no token left in the store');
done_testing;
