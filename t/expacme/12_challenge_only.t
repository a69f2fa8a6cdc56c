# challenge-only mode: everything but an open challenge gets 404, without
# a redirect and without touching the DocumentRoot.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

my $C = CHAL;
my @urls = ('/', '/index.html', '/foo?x=1', '/.well-known/', "${C}", "${C}abc",
            '/acme/index.html', '//index.html');
my @methods = qw(GET HEAD POST PUT DELETE OPTIONS);

plan tests => 2 * @urls * @methods + 1 + 2 + 4 + 2, need_module 'expacme';

reset_store();
my $tok = new_token();
my $ka  = new_keyauth($tok);

sub sweep {
    my $state = shift;
    for my $u (@urls) {
        for my $m (@methods) {
            my $r = req('expacme_chonly', $m, $u, $m =~ /^P/ ? (body => 'q') : ());
            refused_ok($r, 404, "$state: $m $u 404", 'ACME-DOCROOT-INDEX', 'welcome to', $ka);
        }
    }
}

sweep('closed');
ok(open_window($tok, $ka), 'window opened');
challenge_ok(req('expacme_chonly', 'GET', chal_path($tok)), $ka, 'open: challenge served');
challenge_ok(req('expacme_chonly', 'GET', chal_path($tok) . '?x=y'), $ka, 'open: with a query');
sweep('open');
for my $m (qw(HEAD POST PUT DELETE)) {
    refused_ok(req('expacme_chonly', $m, chal_path($tok), $m =~ /^P/ ? (body => 'q') : ()), 404,
               "open: $m on the token 404", $ka);
}
refused_ok(req('expacme_chonly', 'GET', chal_path($tok), Host => 'other.example.test'), 404,
           'open: other host 404', $ka);
refused_ok(req('expacme_chonly', 'GET', "/$C$tok"), 404, 'open: double slash 404', $ka);

reset_store();
