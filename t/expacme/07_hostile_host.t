# Hostile Host headers and request targets: never a challenge answered to
# the wrong host, never an injected response header, never a Location that
# points anywhere but https://<a sane host>/<the request's own path>.
# httpd itself answers 400 to many of them, which is fine.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

my $path = '/hostile/x?q=1';
my $host_re = qr/(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\])/;

# Host header values (sent verbatim inside "Host: ...\r\n").
my @hosts = (
    'evil.com/x',
    'evil.com/x?y',
    'evil.com\\x',
    'evil.com x',
    "evil.com\tx",
    'evil.com@localhost',
    'localhost@evil.com',
    'evil.com:80/x',
    'evil.com:443@x',
    'evil.com%0d%0aX-Injected:%201',
    'evil.com%2fx',
    'evil.com#x',
    'evil.com,localhost',
    '"evil.com"',
    '<evil.com>',
    "evil.com\r\n X-Injected: 1",      # obsolete line folding
    "evil.com\rX-Injected: 1",         # bare CR
    "evil.com\nX-Injected: 1",         # bare LF
    "evil.com\0X-Injected: 1",         # NUL
    "\xc3\xa9vil.com",                 # UTF-8
    'localhost:99999',
    'localhost:abc',
    'localhost:',
    ':80',
    '',
    '[::1',
    '[evil.com]',
    '[::1]x',
    '..',
    '.',
    '-',
    ('a' x 63 . '.') x 30 . 'com',     # ~1900 characters
    'a' x 7000,
);

my @raw_extra = (
    ['two Host headers', "Host: localhost\r\nHost: evil.com\r\n"],
    ['X-Forwarded-Host ignored', "Host: localhost\r\nX-Forwarded-Host: evil.com\r\n"],
    ['Forwarded ignored', "Host: localhost\r\nForwarded: host=evil.com\r\n"],
);

plan tests => 7 + 4 * @hosts + 4 * @raw_extra, need_module 'expacme';

reset_store();
my $tok = new_token();
my $ka  = new_keyauth($tok);
ok(open_window($tok, $ka), 'token for localhost served');
my $port = vhost_port('expacme_redirect');

# Checks one response of the redirect vhost; returns nothing, 2 assertions.
sub check_redirect_response {
    my ($r, $name, $want_host) = @_;
    my @bad;
    push @bad, "status $r->{status}, want 301 or 400"
        unless $r->{status} == 301 || $r->{status} == 400;
    my ($head) = split /\r\n\r\n/, $r->{raw}, 2;
    $head = '' unless defined $head;
    push @bad, 'injected header' if $head =~ /^X-Injected/mi;
    push @bad, 'bare CR/LF in the head' if $head =~ /\r(?!\n)|(?<!\r)\n/;
    ok(!@bad, "$name: status and head") or diag join("\n", @bad, $r->{raw});
    my @loc = $r->{header}->('Location');
    if ($r->{status} == 301) {
        my $ok = @loc == 1 && $loc[0] =~ m{^https://($host_re)(?::\d+)?(/.*)$} && $2 eq $path;
        $ok &&= lc($1) eq lc($want_host) if $ok && defined $want_host;
        ok($ok, "$name: Location is https://<sane host>$path")
            or diag "Location: @loc";
    }
    else {
        ok(!@loc, "$name: no Location on $r->{status}") or diag "Location: @loc";
    }
}

for my $h (@hosts) {
    (my $name = $h) =~ s/(.{40}).+/$1.../s;
    $name =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    $name = "Host '$name'";
    my $r = req('expacme_redirect', 'GET', $path, raw =>
                "GET $path HTTP/1.1\r\nHost: $h\r\nConnection: close\r\n\r\n");
    check_redirect_response($r, $name);
    $r = req('expacme_redirect', 'GET', '', raw =>
             "GET " . chal_path($tok) . " HTTP/1.1\r\nHost: $h\r\nConnection: close\r\n\r\n");
    refused_ok($r, undef, "$name: challenge not served", $ka);
    $r = req('expacme_chonly', 'GET', '', raw =>
             "GET $path HTTP/1.1\r\nHost: $h\r\nConnection: close\r\n\r\n");
    ok(($r->{status} == 404 || $r->{status} == 400) && !defined $r->{header}->('Location')
       && $r->{raw} !~ /^X-Injected/mi, "$name: challenge-only 404/400, no Location")
        or diag $r->{raw};
}

for my $x (@raw_extra) {
    my ($name, $hdrs) = @$x;
    my $r = req('expacme_redirect', 'GET', '', raw =>
                "GET $path HTTP/1.1\r\n${hdrs}Connection: close\r\n\r\n");
    check_redirect_response($r, $name, $name =~ /ignored/ ? 'localhost' : undef);
    $r = req('expacme_redirect', 'GET', '', raw =>
             "GET " . chal_path($tok) . " HTTP/1.1\r\n${hdrs}Connection: close\r\n\r\n");
    if ($name =~ /ignored/) {
        challenge_ok($r, $ka, "$name: challenge still served to localhost");
    }
    else {
        ok($r->{status} != 200 || $r->{body} eq $ka, "$name: nothing but the right answer");
    }
    ok($r->{raw} !~ /evil\.com/i, "$name: evil.com never echoed");
}

# Absolute-form request targets: httpd takes the host from the target; the
# redirect keeps only its path and query.
for my $t ("http://evil.com$path", "http://localhost\@evil.com$path") {
    my $r = req('expacme_redirect', 'GET', '', raw =>
                "GET $t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    check_redirect_response($r, "absolute-form $t");
}
my $r = req('expacme_redirect', 'GET', '', raw =>
            "GET http://evil.com" . chal_path($tok) . " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
refused_ok($r, undef, 'absolute-form with another host: challenge not served', $ka);

# Request targets that are not paths.
$r = req('expacme_redirect', 'OPTIONS', '*');
ok($r->{status} != 0 && !defined $r->{header}->('Location')
   || ($r->{header}->('Location') // '') =~ m{^https://$host_re(?::\d+)?/}, 'OPTIONS *: no odd Location')
    or diag $r->{raw};

reset_store();
