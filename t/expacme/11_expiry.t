# Tokens carry a TTL: an expired token is not served, and expired tokens
# do not keep the challenge window open.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

plan tests => 15, need_module 'expacme';

reset_store();
my $probe = new_token();

# A (ttl 2 s) expires while B (default ttl, minutes) keeps the window open.
my ($ta, $tb) = (new_token(), new_token());
my ($ka, $kb) = (new_keyauth($ta), new_keyauth($tb));
is(token_put($tb, $kb, 'localhost'), 0, 'put B (default ttl)');
is(token_put($ta, $ka, 'localhost', ttl => 2), 0, 'put A --ttl 2');
my $r = wait_for(sub { my $x = req('expacme_redirect', 'GET', chal_path($ta)); $x->{status} == 200 && $x }, 1.5);
ok($r && $r->{body} eq $ka, 'A served before it expires');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($ta))->{status} != 200 }, 2 + DEADLINE),
   'A no longer served after its ttl');
refused_ok(req('expacme_redirect', 'GET', chal_path($ta)), 404,
           'expired A: 404 while B keeps the window open', $ka);
refused_ok(req('expacme_chonly', 'GET', chal_path($ta)), 404, 'expired A: 404 (challenge-only)', $ka);
challenge_ok(req('expacme_redirect', 'GET', chal_path($tb)), $kb, 'B still served');

# C (ttl 1 s) alone: once it expires the window is closed.
is(token_del($tb), 0, 'B deleted');
my $tc = new_token();
my $kc = new_keyauth($tc);
is(token_put($tc, $kc, 'localhost', ttl => 1), 0, 'put C --ttl 1');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($tc))->{status} == 301 }, 1 + DEADLINE),
   'C expired and the window closed');
redirect_ok(req('expacme_redirect', 'GET', chal_path($tc)),
            "https://localhost/.well-known/acme-challenge/$tc", 'expired C: redirect');
redirect_ok(req('expacme_redirect', 'GET', chal_path($probe)),
            "https://localhost/.well-known/acme-challenge/$probe", 'closed: other tokens redirect');
refused_ok(req('expacme_chonly', 'GET', chal_path($tc)), 404, 'expired C: challenge-only 404', $kc);

# The default ttl is long enough for a CA to validate: still served now.
my $td = new_token();
ok(open_window($td, "$td.default"), 'default ttl token served');
challenge_ok(req('expacme_redirect', 'GET', chal_path($td)), "$td.default",
             'default ttl token still served a moment later');

reset_store();
