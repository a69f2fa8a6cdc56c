# store: shm
# The store grows: expacmectl, asked for more slots, builds a bigger file,
# carries the live challenges over, renames it into place and marks the
# old one retired.  Every httpd child must switch to the new file at once
# (no stale mapping): old and new tokens are both served afterwards.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

plan tests => 9, need_module 'expacme';

reset_store();
my $t1 = new_token();
my $k1 = new_keyauth($t1);
is(token_put($t1, $k1, 'localhost'), 0, 'token put in a store of the default size');
my $ino_before = (stat store_file())[1];
my $size_before = -s store_file();
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($t1))->{status} == 200 }),
   'token served from the original store');
# Make every child map the original file before it is replaced.
req('expacme_redirect', 'GET', chal_path($t1)) for 1 .. 20;

# A config asking for a bigger store.
my $big = config_file() . '.big';
open my $fh, '>', $big or die "$big: $!";
print {$fh} 'challenge_store = shm:' . store_file() . "\nchallenge_store_capacity = 8192\n";
close $fh;
my $t2 = new_token();
my $k2 = new_keyauth($t2);
my ($rc_put, $o_put, $e_put) = ctl_with($big, 'token', 'put', $t2, $k2, '--host', 'localhost');
is($rc_put, 0, 'token put with a larger capacity') or diag $e_put;
ok((stat store_file())[1] != $ino_before, 'the store file was replaced');
ok(-s store_file() > 2 * $size_before, 'by a larger one');

my ($old_ok, $new_ok) = (0, 0);
for (1 .. 30) {
    my $r1 = req('expacme_redirect', 'GET', chal_path($t1));
    my $r2 = req('expacme_redirect', 'GET', chal_path($t2));
    $old_ok++ if $r1->{status} == 200 && $r1->{body} eq $k1;
    $new_ok++ if $r2->{status} == 200 && $r2->{body} eq $k2;
}
is($old_ok, 30, 'the carried-over token served by every request');
is($new_ok, 30, 'the new token served by every request (no stale mapping)');
my ($rc, $out) = ctl('--json', 'token', 'list');
like($out, qr/"capacity": 8192/, 'token list shows the new capacity');
unlink $big;
reset_store();
remove_store();
ok(!-e store_file(), 'grown store removed: the next test starts from none');
