# A published challenge is answered: 200, exactly the key authorization,
# and the headers of manual section 7, on every vhost with the module on.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use ExpAcme::Test;

plan tests => 29, need_module 'expacme';

reset_store();

my $tok = new_token();
my $ka  = new_keyauth($tok);
is(token_put($tok, $ka, 'localhost'), 0, 'token put exits 0');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($tok))->{status} == 200 }),
   'the token is served within the deadline');

my $r = req('expacme_redirect', 'GET', chal_path($tok));
status_is($r, 200, 'GET challenge: 200');
is($r->{body}, $ka, 'body is exactly the key authorization');
is(join(',', $r->{header}->('Content-Type')), 'text/plain', 'Content-Type: text/plain');
is(join(',', $r->{header}->('Cache-Control')), 'no-store', 'Cache-Control: no-store');
is(join(',', $r->{header}->('X-Content-Type-Options')), 'nosniff',
   'X-Content-Type-Options: nosniff');
my $cl = $r->{header}->('Content-Length');
ok(!defined $cl || $cl == length $ka, 'Content-Length, if sent, matches the body');
ok(!defined $r->{header}->('Location'), 'no Location header');

# The same through LWP, as a real client sees it.
{
    Apache::TestRequest::user_agent(reset => 1, requests_redirectable => 0);
    Apache::TestRequest::module('expacme_redirect');
    my $res = Apache::TestRequest::GET(chal_path($tok));
    is($res->code, 200, 'LWP GET: 200');
    is($res->content, $ka, 'LWP GET: body is the key authorization');
    is($res->header('Content-Type'), 'text/plain', 'LWP GET: Content-Type');
}

# A query string is ignored.
challenge_ok(req('expacme_redirect', 'GET', chal_path($tok) . '?x=1&y=%2F'), $ka,
             'query string ignored');
challenge_ok(req('expacme_redirect', 'GET', chal_path($tok) . '?'), $ka,
             'empty query string ignored');

# HTTP/1.0 with a Host header.
challenge_ok(req('expacme_redirect', 'GET', chal_path($tok), proto => 'HTTP/1.0'), $ka,
             'HTTP/1.0 request served');

# Several tokens at once, each with its own key authorization.
my $tok2 = new_token(86);
my $ka2  = new_keyauth($tok2);
is(token_put($tok2, $ka2, 'localhost'), 0, 'second token put');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($tok2))->{status} == 200 }),
   'second token served');
challenge_ok(req('expacme_redirect', 'GET', chal_path($tok2)), $ka2, 'second token: its own body');
challenge_ok(req('expacme_redirect', 'GET', chal_path($tok)), $ka, 'first token still served');

# Shortest and longest tokens, and the two non-alphanumeric characters.
my $max = new_token(255);
my $kamax = new_keyauth($max);
my $min = 'Z';
my $punct = '-_-_';
my $ok = 1;
for ([$max, $kamax], [$min, "$min.min"], [$punct, "$punct.punct"]) {
    $ok &&= token_put($_->[0], $_->[1], 'localhost') == 0;
}
ok($ok, 'token put of 255-char, 1-char and -_ tokens');
wait_for(sub { req('expacme_redirect', 'GET', chal_path($punct))->{status} == 200 });
challenge_ok(req('expacme_redirect', 'GET', chal_path($max)), $kamax, '255-character token');
challenge_ok(req('expacme_redirect', 'GET', chal_path($min)), "$min.min", '1-character token');
challenge_ok(req('expacme_redirect', 'GET', chal_path($punct)), "$punct.punct", 'token of - and _');

# Every vhost with the module on answers it.
challenge_ok(req('expacme_chonly', 'GET', chal_path($tok), Host => 'localhost'), $ka,
             'challenge-only vhost serves it');
challenge_ok(req('expacme_port', 'GET', chal_path($tok), Host => 'localhost'), $ka,
             'vhost with ExpAcmeHttpsPort 8443 serves it');
challenge_ok(req('expacme_htaccess', 'GET', chal_path($tok), Host => 'localhost'), $ka,
             'served even where a .htaccess denies everything');

# Deleted: no longer served (the window stays open: 404).
is(token_del($tok), 0, 'token del exits 0');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($tok))->{status} != 200 }),
   'deleted token no longer served');
refused_ok(req('expacme_redirect', 'GET', chal_path($tok)), 404,
           'deleted token: 404 while others are open', $ka);

reset_store();
