# SetHandler expacme-status: the status file expacmectl publishes, as JSON
# (Accept: application/json or ?json) or as an HTML page made from the line
# form beside it (common/status_flat.h) with everything escaped; a
# placeholder before the helper ever published; a table in mod_status's
# server-status and key: value lines under ?auto; GET only.
# (17_status_page.t looks at the page itself, in a browser.)
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Path qw(make_path);
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

plan tests => 22, need_module 'expacme', need_module 'status';

my $file = store_path() . '/status.json';
my $flat = store_path() . '/status.flat';
unlink $file, $flat;

my $r = req('expacme_status', 'GET', '/expacme-status', Accept => 'application/json');
is($r->{status}, 200, 'no status published yet: 200');
like($r->{body}, qr/not published a status yet/, 'placeholder says so');
$r = req('expacme_status', 'GET', '/expacme-status');
like($r->{body}, qr/not published a status yet/, 'HTML placeholder says so');

make_path(store_path(), { mode => 0755 });
my $doc = '{"certificates":[{"name":"server","state":"deployed",'
        . '"detail":"<script>alert(1)</script>"}],"generated":1}';
open my $fh, '>', "$file.tmp" or die "$file.tmp: $!";
print {$fh} $doc;
close $fh;
chmod 0644, "$file.tmp";
rename "$file.tmp", $file or die "rename: $!";
open $fh, '>', "$flat.tmp" or die "$flat.tmp: $!";
print {$fh} "expacme-status 1\ngenerated 1\ncert server\nstate deployed\n"
    . "automated on\nwarning <script>alert(1)</script>\n"
    . "last_sign.result success\nlast_sign.time 1796144724\nend\n";
close $fh;
chmod 0644, "$flat.tmp";
rename "$flat.tmp", $flat or die "rename: $!";

$r = req('expacme_status', 'GET', '/expacme-status', Accept => 'application/json');
is($r->{status}, 200, 'JSON: 200');
like($r->{header}->('Content-Type') // '', qr{^application/json}, 'JSON: content type');
is($r->{body}, $doc, 'JSON: the published document verbatim');
is($r->{header}->('Cache-Control') // '', 'no-store', 'JSON: no-store');

$r = req('expacme_status', 'GET', '/expacme-status?json');
is($r->{body}, $doc, '?json also gives JSON');

$r = req('expacme_status', 'GET', '/expacme-status');
like($r->{header}->('Content-Type') // '', qr{^text/html}, 'HTML page');
ok($r->{body} !~ /<script>/ && $r->{body} =~ /&lt;script&gt;/,
   'HTML: the published strings are escaped');
like($r->{body}, qr/deployed/, 'HTML: shows the state');

$r = req('expacme_status', 'POST', '/expacme-status', body => 'x');
is($r->{status}, 405, 'POST refused');

$r = req('expacme_status', 'GET', '/server-status');
is($r->{status}, 200, 'server-status answers');
like($r->{body}, qr/ACME certificate service \(mod_expacme\)/,
     'server-status has the mod_expacme section');
ok($r->{body} !~ /<script>alert/, 'server-status section escaped');
like($r->{body}, qr{<table[^>]*>.*<td>server</td><td>deployed</td>}s,
     'server-status: a table row per certificate');
ok($r->{body} !~ /"certificates"/, 'server-status: no raw JSON');

$r = req('expacme_status', 'GET', '/server-status?auto');
is($r->{status}, 200, 'server-status?auto answers');
like($r->{body}, qr/^ExpAcmeCertificates: 1$/m, '?auto: the number of certificates');
like($r->{body}, qr/^ExpAcme server State: deployed$/m, '?auto: the state');
like($r->{body}, qr/^ExpAcme server Warnings: 1$/m, '?auto: the warnings');
ok($r->{body} !~ /<|"certificates"/, '?auto: key: value lines, no markup or JSON');

unlink $file, $flat;
