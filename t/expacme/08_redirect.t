# Redirect mode: everything but an open challenge gets 301 to
# https://<host>[:port]<path>?<query>, path and query kept as sent.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use ExpAcme::Test;

my $long = '/' . join('/', ('segment') x 400);   # ~3200 characters

my @paths = (
    ['/',                        '/'],
    ['/foo',                     '/foo'],
    ['/foo/',                    '/foo/'],
    ['/foo/bar.html?x=1&y=2',    '/foo/bar.html?x=1&y=2'],
    ['/a%20b/c?q=1%202',         '/a%20b/c?q=1%202'],
    ['/index.html',              '/index.html'],
    ['/?',                       undef],            # "/" or "/?"
    ['/x?a=b?c=d',               '/x?a=b?c=d'],
    ['/x?url=https://evil.com/', '/x?url=https://evil.com/'],
    [$long,                      $long],
);

plan tests => 2 * @paths + 6 + 6 + 8 + 3 + 3, need_module 'expacme';

reset_store();
my $port = vhost_port('expacme_redirect');

for my $p (@paths) {
    my ($target, $want) = @$p;
    (my $name = $target) =~ s/(.{40}).+/$1.../;
    my $r = req('expacme_redirect', 'GET', $target);
    if (defined $want) {
        redirect_ok($r, "https://localhost$want", "GET $name");
    }
    else {
        ok($r->{status} == 301 && ($r->{header}->('Location') // '') =~ m{^https://localhost/\??$},
           "GET $name") or diag $r->{raw};
    }
    # the DocumentRoot is never served in redirect mode
    ok(index($r->{raw}, 'ACME-DOCROOT-INDEX') < 0, "GET $name: no file content");
}

# Every method.
for my $m (qw(HEAD POST PUT DELETE OPTIONS PATCH)) {
    redirect_ok(req('expacme_redirect', $m, '/foo?x=1', $m =~ /^P/ ? (body => 'z') : ()),
                'https://localhost/foo?x=1', "$m redirects");
}

# The host as the client addressed it, port stripped.
redirect_ok(req('expacme_redirect', 'GET', '/foo', Host => "www.example.test:$port"),
            'https://www.example.test/foo', 'Host with port');
redirect_ok(req('expacme_redirect', 'GET', '/foo', Host => 'www.example.test'),
            'https://www.example.test/foo', 'Host without port');
{
    my $r = req('expacme_redirect', 'GET', '/foo', Host => 'WWW.Example.TEST');
    ok($r->{status} == 301 && lc($r->{header}->('Location') // '') eq 'https://www.example.test/foo',
       'mixed-case Host') or diag $r->{raw};
}
redirect_ok(req('expacme_redirect', 'GET', '/foo', Host => "127.0.0.1:$port"),
            'https://127.0.0.1/foo', 'IPv4 literal Host');
redirect_ok(req('expacme_redirect', 'GET', '/foo', Host => "[::1]:$port"),
            'https://[::1]/foo', 'IPv6 literal Host keeps its brackets');
{
    my $r = req('expacme_redirect', 'GET', '/foo', Host => undef, proto => 'HTTP/1.0');
    ok($r->{status} == 301 && ($r->{header}->('Location') // '') =~ m{^https://[A-Za-z0-9.-]+/foo$},
       'HTTP/1.0 without Host: redirect to the server name') or diag $r->{raw};
}

# ExpAcmeHttpsPort.
redirect_ok(req('expacme_port', 'GET', '/foo?x=1'), 'https://localhost:8443/foo?x=1',
            'ExpAcmeHttpsPort 8443 in the Location');
redirect_ok(req('expacme_port', 'GET', '/foo', Host => 'www.example.test:' . vhost_port('expacme_port')),
            'https://www.example.test:8443/foo', '8443 replaces the request port');
redirect_ok(req('expacme_port', 'GET', '/'), 'https://localhost:8443/', '8443, path /');
redirect_ok(req('expacme_port443', 'GET', '/foo?x=1'), 'https://localhost/foo?x=1',
            'ExpAcmeHttpsPort 443: port omitted');
redirect_ok(req('expacme_port443', 'GET', '/foo', Host => 'www.example.test:8080'),
            'https://www.example.test/foo', 'ExpAcmeHttpsPort 443 with a request port');
redirect_ok(req('expacme_htaccess', 'GET', '/foo'), 'https://localhost/foo',
            'redirect before any .htaccess');
redirect_ok(req('expacme_redirect', 'GET', '/.well-known/acme-challenge/x', Host => 'www.example.test'),
            'https://www.example.test/.well-known/acme-challenge/x', 'closed challenge path redirects');
redirect_ok(req('expacme_port', 'POST', '/p', body => 'a'), 'https://localhost:8443/p',
            'POST redirect with port');

# Encoded CR LF stays encoded: no response splitting.
{
    my $t = '/x%0d%0aSet-Cookie:%20a=1%0d%0a?y=%0d%0aX-Injected:%201';
    my $r = req('expacme_redirect', 'GET', $t);
    is($r->{status}, 301, 'encoded CRLF: 301');
    ok(!defined $r->{header}->('Set-Cookie') && !defined $r->{header}->('X-Injected'),
       'encoded CRLF: no injected header') or diag $r->{raw};
    is($r->{header}->('Location'), "https://localhost$t", 'encoded CRLF: Location kept encoded');
}

# LWP, as a browser would see it.
{
    Apache::TestRequest::user_agent(reset => 1, requests_redirectable => 0);
    Apache::TestRequest::module('expacme_redirect');
    my $res = Apache::TestRequest::GET('/some/page?k=v');
    is($res->code, 301, 'LWP: 301');
    is($res->header('Location'), 'https://localhost/some/page?k=v', 'LWP: Location');
    ok(!$res->is_success, 'LWP: not followed');
}
