# store: shm
# The store file missing (the helper never ran): redirect mode still
# redirects, the challenge path is not special, nothing crashes or floods
# the log.  Once expacmectl creates the store, its tokens are served; a
# store removed and created again is picked up as well.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

plan tests => 21, need_module 'expacme';

reset_store();
remove_store();
ok(!-e store_file(), 'store file removed');

my $log_from = error_log_size();
my $probe = new_token();
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($probe))->{status} == 301 }),
   'missing store: challenge path redirects');
my ($redirects, $notfound) = (0, 0);
for (1 .. 20) {
    $redirects++ if req('expacme_redirect', 'GET', chal_path($probe))->{status} == 301;
    $notfound++  if req('expacme_chonly', 'GET', chal_path($probe))->{status} == 404;
}
is($redirects, 20, 'missing store: 20 of 20 challenge requests redirected');
is($notfound, 20, 'missing store: 20 of 20 challenge-only requests 404');
redirect_ok(req('expacme_redirect', 'GET', '/foo?a=1'), 'https://localhost/foo?a=1',
            'missing store: other paths redirect');
my @noisy = grep { /\[expacme:(?:notice|warn|error|crit|alert|emerg)\]/ }
            error_log_lines_since($log_from);
ok(@noisy <= 1, 'missing store: at most one notice in the log for 41 requests')
    or diag @noisy;

# The helper creates the store; the module picks it up.
my $t1 = new_token();
my $k1 = new_keyauth($t1);
is(token_put($t1, $k1, 'localhost'), 0, 'token put creates the store');
ok(-f store_file(), 'store file exists');
my $mode = (stat store_file())[2] & 07777;
is(sprintf('%04o', $mode), '0644', 'store file mode 0644');
my $dmode = (stat store_path())[2] & 07777;
ok(($dmode & 0005) == 0005, sprintf('store directory reachable by httpd workers (%04o)', $dmode));
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($t1))->{status} == 200 }),
   'token served once the store exists');
challenge_ok(req('expacme_redirect', 'GET', chal_path($t1)), $k1, 'created store: body');
challenge_ok(req('expacme_chonly', 'GET', chal_path($t1)), $k1, 'created store: challenge-only');

# Store removed and created again with another token.
remove_store();
my $t2 = new_token();
my $k2 = new_keyauth($t2);
is(token_put($t2, $k2, 'localhost'), 0, 'token put recreates the store');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($t2))->{status} == 200 }),
   'recreated store: new token served');
challenge_ok(req('expacme_redirect', 'GET', chal_path($t2)), $k2, 'recreated store: body');
refused_ok(req('expacme_redirect', 'GET', chal_path($t1)), 404,
           'recreated store: old token gone (404, window open)', $k1);
refused_ok(req('expacme_chonly', 'GET', chal_path($t1)), 404,
           'recreated store: old token gone (challenge-only)', $k1);
my @listed = token_list();
is(join(',', @listed), $t2, 'token list shows only the new token');

# Removed while a token is listed, nothing recreated: no crash, and the
# server keeps answering.
remove_store();
my $r = req('expacme_redirect', 'GET', '/after-removal');
redirect_ok($r, 'https://localhost/after-removal', 'store removed again: still redirects');
ok(wait_for(sub { my $s = req('expacme_redirect', 'GET', chal_path($probe))->{status};
                  $s == 301 || $s == 404 }), 'store removed again: server answers');

reset_store();
