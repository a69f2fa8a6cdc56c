# store: shm
# Issue 10: a store file turned against the module.  Truncated in place
# (`: > file`, a shorter copy) while children have it mapped: no child dies
# of SIGBUS, challenges are simply not answered until expacmectl rewrites
# it.  A FIFO at the store path: no worker blocks in open(), every request
# is answered at once.  A directory there: the same.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;
use Fcntl qw(O_RDWR O_NONBLOCK);
use POSIX ();
use Time::HiRes ();

plan tests => 15, need_module 'expacme';

reset_store();
my $log_from = error_log_size();

sub answered_quickly {
    my ($path, $what) = @_;
    my ($ok, $slowest) = (0, 0);
    for (1 .. 20) {
        my $t0 = Time::HiRes::time();
        my $s = req('expacme_redirect', 'GET', $path)->{status};
        my $took = Time::HiRes::time() - $t0;
        $slowest = $took if $took > $slowest;
        $ok++ if ($s == 301 || $s == 404) && $took < 2;
    }
    is($ok, 20, sprintf('%s: 20 of 20 requests answered (slowest %.2fs)',
                        $what, $slowest));
}

# Truncation in place while the children have the store mapped.
my $t1 = new_token();
my $k1 = new_keyauth($t1);
is(token_put($t1, $k1, 'localhost'), 0, 'token put');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($t1))->{status} == 200 }),
   'token served');
# Every child maps the store: many requests spread over them.
my $served = grep { req('expacme_redirect', 'GET', chal_path($t1))->{status} == 200 } 1 .. 30;
is($served, 30, 'served 30 times before the truncation');
truncate(store_file(), 8192) or die "truncate: $!";
answered_quickly(chal_path($t1), 'store truncated to 8 KiB');
open my $fh, '>', store_file() or die "truncate: $!";
close $fh;
is(-s store_file(), 0, 'store truncated to nothing (: > file)');
answered_quickly(chal_path($t1), 'store truncated to nothing');
my $t2 = new_token();
my $k2 = new_keyauth($t2);
is(token_put($t2, $k2, 'localhost'), 0, 'token put rewrites the truncated store');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($t2))->{status} == 200 }),
   'rewritten store: token served again');

# A FIFO at the store path.
remove_store();
mkdir store_path(), 0755 or die "mkdir: $!";
POSIX::mkfifo(store_file(), 0644) or die "mkfifo: $!";
answered_quickly(chal_path($t2), 'a FIFO at the store path');
answered_quickly('/.well-known/acme-challenge/x', 'a FIFO, another token');
# Release any worker a regression left blocked in open(), then clean up.
sysopen my $fifo, store_file(), O_RDWR | O_NONBLOCK;
close $fifo if $fifo;
unlink store_file();

# A directory at the store path.
mkdir store_file(), 0755 or die "mkdir: $!";
answered_quickly(chal_path($t2), 'a directory at the store path');
rmdir store_file();

my @crash = grep { /exit signal|Bus error|Segmentation fault|AH00052|dumped core/i }
            error_log_lines_since($log_from);
ok(!@crash, 'no child died') or diag @crash;
my @noisy = grep { /\[expacme:(?:notice|warn|error|crit|alert|emerg)\]/ }
            error_log_lines_since($log_from);
ok(@noisy <= 6, 'at most one warning per change of cause') or diag @noisy;

is(token_put($t2, $k2, 'localhost'), 0, 'token put recreates the store');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($t2))->{status} == 200 }),
   'recreated store: served');
reset_store();
