# A challenge is answered only to the host it was published for: the Host
# header, port stripped, compared case-insensitively.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

plan tests => 25, need_module 'expacme';

reset_store();
my $port = vhost_port('expacme_redirect');

my $tok = new_token();
my $ka  = new_keyauth($tok);
ok(open_window($tok, $ka, 'www.example.test'), 'token for www.example.test served');

my $get = sub { req('expacme_redirect', 'GET', chal_path($tok), Host => $_[0]) };

challenge_ok($get->('www.example.test'), $ka, 'exact host');
challenge_ok($get->("www.example.test:$port"), $ka, 'host with port');
challenge_ok($get->('WWW.EXAMPLE.TEST'), $ka, 'upper-case host');
challenge_ok($get->('Www.Example.Test:80'), $ka, 'mixed case with another port');

for my $h ("localhost:$port", 'example.test', 'www.example.tes', 'ww.example.test',
           'www.example.test.evil.test', 'evil.www.example.test',
           'www-example.test', '127.0.0.1') {
    refused_ok($get->($h), 404, "other host '$h': 404 (window open)", $ka);
}
refused_ok(req('expacme_redirect', 'GET', chal_path($tok), Host => undef,
               proto => 'HTTP/1.0'), undef, 'HTTP/1.0 without Host: not served', $ka);
refused_ok(req('expacme_chonly', 'GET', chal_path($tok), Host => 'localhost'), 404,
           'challenge-only vhost, other host: 404', $ka);
challenge_ok(req('expacme_chonly', 'GET', chal_path($tok), Host => 'www.example.test'), $ka,
             'challenge-only vhost, right host');

# IPv4 and IPv6 identifiers (RFC 8738): the Host header carries the literal.
my $t4 = new_token();
ok(open_window($t4, "$t4.v4", '127.0.0.1'), 'token for 127.0.0.1 served');
challenge_ok(req('expacme_redirect', 'GET', chal_path($t4), Host => "127.0.0.1:$port"),
             "$t4.v4", 'IPv4 literal with port');
refused_ok(req('expacme_redirect', 'GET', chal_path($t4), Host => "127.0.0.2:$port"),
           404, 'other IPv4 address', "$t4.v4");

my $t6 = new_token();
is(token_put($t6, "$t6.v6", '[::1]'), 0, 'token put for [::1]');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($t6), Host => "[::1]:$port")
                      ->{status} == 200 }), 'token for [::1] served');
challenge_ok(req('expacme_redirect', 'GET', chal_path($t6), Host => '[::1]'),
             "$t6.v6", 'IPv6 literal without port');

# The same token for two hosts: each host gets its own key authorization.
my $ts = new_token();
is(token_put($ts, "$ts.a", 'a.example.test') + token_put($ts, "$ts.b", 'b.example.test'),
   0, 'one token put for two hosts');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($ts), Host => 'b.example.test')
                      ->{status} == 200 }), 'served to the second host');
challenge_ok(req('expacme_redirect', 'GET', chal_path($ts), Host => 'a.example.test'),
             "$ts.a", 'first host gets its key authorization');

reset_store();
