# The token is judged on the raw, still %-encoded request path: anything
# that is not 1..255 base64url characters right after the prefix is never
# a 200, whatever httpd would decode or normalise it to.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

my $C = CHAL;                  # /.well-known/acme-challenge/
my $tok = 'abc';
my $ka  = 'abc.KeyAuthForTheRawPathTests';
my $long = 'L' x 255;
my $kalong = 'L255.KeyAuthForTheLongToken';

# [request target, status wanted on the redirect vhost (undef: any but 200)]
my @cases = (
    # on the prefix, the token part is not a valid token: 404
    ["${C}ab%63",                  404],
    ["${C}%61bc",                  404],
    ["${C}%61%62%63",              404],
    ["${C}abc%00",                 404],
    ["${C}%00abc",                 404],
    ["${C}abc%2f",                 404],
    ["${C}abc%2F",                 404],
    ["${C}abc%5c",                 404],
    ["${C}abc%20",                 404],
    ["${C}abc/",                   404],
    ["${C}abc/.",                  404],
    ["${C}./abc",                  404],
    ["${C}x/../abc",               404],
    ["${C}../acme-challenge/abc",  404],
    ["${C}%2e%2e/acme-challenge/abc", 404],
    ["${C}%2e/abc",                404],
    ["${C}/abc",                   404],
    ["${C}abc=",                   404],
    ["${C}abc;x=1",                404],
    ["${C}abc.txt",                404],
    ["${C}abc~",                   404],
    ["${C}abc+",                   404],
    ["${C}abc%2b",                 404],
    ["${C}ABC",                    404],
    ["${C}ab",                     404],
    ["${C}abcd",                   404],
    ["${C}",                       404],
    ["${C}${long}L",               404],
    ["${C}" . ('A' x 4000),        404],
    # raw bytes httpd itself may refuse
    ["${C}abc\\",                  undef],
    ["${C}\\abc",                  undef],
    # not the challenge prefix at all: an ordinary URL (redirect)
    ["/$C$tok",                    301],
    ["/.well-known//acme-challenge/abc", 301],
    ["/.well-known/acme-challenge%2fabc", 301],
    ["/%2ewell-known/acme-challenge/abc", 301],
    ["/.well-known/x/../acme-challenge/abc", 301],
    ["/.well-known/./acme-challenge/abc", 301],
    ["/.WELL-KNOWN/acme-challenge/abc", 301],
    ["/.well-known/ACME-CHALLENGE/abc", 301],
    ["/.well-known/acme-challenge", 301],
);

my @bad_puts = ('', 'a/b', 'a.b', 'a%62', 'a b', 'a=', 'L' x 256, "a\nb");

plan tests => 6 + @cases + 1 + @bad_puts, need_module 'expacme';

reset_store();
ok(open_window($tok, $ka), 'token abc served');
ok(open_window($long, $kalong), '255-character token served');
challenge_ok(req('expacme_redirect', 'GET', "$C$tok"), $ka, 'control: plain path served');
challenge_ok(req('expacme_redirect', 'GET', "$C$long"), $kalong, 'control: long token served');

for my $c (@cases) {
    my ($target, $want) = @$c;
    (my $name = $target) =~ s/(.{60}).+/$1.../;
    $name =~ s/([^\x21-\x7e])/sprintf '\\x%02x', ord $1/ge;
    refused_ok(req('expacme_redirect', 'GET', $target), $want,
               "$name: " . (defined $want ? $want : 'not 200'), $ka, $kalong);
}

# A raw NUL byte in the request line.
refused_ok(req('expacme_redirect', 'GET', '', raw =>
               "GET ${C}abc\0 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
           undef, 'raw NUL after the token: not 200', $ka);

# The helper refuses to publish invalid tokens (checked before the store).
for my $bad (@bad_puts) {
    (my $name = $bad) =~ s/(.{20}).+/$1.../;
    $name =~ s/\n/\\n/g;
    isnt(token_put($bad, 'x.y', 'localhost', quiet => 1), 0, "token put '$name' refused");
}
my %listed = map { $_ => 1 } token_list();
is(join(',', sort keys %listed), join(',', sort($tok, $long)),
   'only the valid tokens are in the store');
challenge_ok(req('expacme_redirect', 'GET', "$C$tok"), $ka, 'still served after all that');

reset_store();
