# Only GET is answered from the store: other methods on the challenge path
# get what any other URL gets (redirect, or 404 in challenge-only mode).
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

my @methods = qw(POST PUT DELETE HEAD OPTIONS PATCH);
plan tests => 5 + 4 * @methods, need_module 'expacme';

reset_store();
my $tok = new_token();
my $ka  = new_keyauth($tok);
my $loc = "https://localhost/.well-known/acme-challenge/$tok";

# Closed window.
for my $m (@methods) {
    my @body = $m =~ /^(POST|PUT|PATCH)$/ ? (body => 'x=1') : ();
    redirect_ok(req('expacme_redirect', $m, chal_path($tok), @body), $loc, "closed: $m redirects");
    refused_ok(req('expacme_chonly', $m, chal_path($tok), @body), 404, "closed: $m 404 (challenge-only)");
}

ok(open_window($tok, $ka), 'window opened');
challenge_ok(req('expacme_redirect', 'GET', chal_path($tok)), $ka, 'GET served');

for my $m (@methods) {
    my @body = $m =~ /^(POST|PUT|PATCH)$/ ? (body => 'x=1') : ();
    redirect_ok(req('expacme_redirect', $m, chal_path($tok), @body), $loc,
                "open: $m on the token redirects");
    refused_ok(req('expacme_chonly', $m, chal_path($tok), @body), 404,
               "open: $m on the token 404 (challenge-only)", $ka);
}

redirect_ok(req('expacme_redirect', 'POST', '/foo', body => 'a'), 'https://localhost/foo',
            'POST elsewhere redirects');
my $r = req('expacme_redirect', 'HEAD', chal_path($tok));
ok($r->{status} != 200 && $r->{raw} !~ /\Q$ka\E/, 'HEAD never answers the challenge');
challenge_ok(req('expacme_redirect', 'GET', chal_path($tok)), $ka, 'GET still served');

reset_store();
