# The directives: accepted values pass `httpd -t`, bad values and wrong
# contexts are refused at configuration time with a message naming the
# directive.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;
use File::Temp ();

my $vars = Apache::Test::vars();
my $tmp  = File::Temp->newdir;

# [name, server-level lines, vhost lines, 1 = accepted / 0 = refused]
my @cases = (
    ['minimal',                   '', 'ExpAcmeHttpMode redirect', 1],
    ['challenge-only',            '', 'ExpAcmeHttpMode challenge-only', 1],
    ['off',                       '', 'ExpAcmeHttpMode off', 1],
    ['no mode',                   '', '', 1],
    ['port 8443',                 '', "ExpAcmeHttpMode redirect\nExpAcmeHttpsPort 8443", 1],
    ['port 443',                  '', "ExpAcmeHttpMode redirect\nExpAcmeHttpsPort 443", 1],
    ['port 1',                    '', "ExpAcmeHttpMode redirect\nExpAcmeHttpsPort 1", 1],
    ['port 65535',                '', "ExpAcmeHttpMode redirect\nExpAcmeHttpsPort 65535", 1],
    ['unknown mode',              '', 'ExpAcmeHttpMode bogus', 0],
    ['mode without argument',     '', 'ExpAcmeHttpMode', 0],
    ['mode with two arguments',   '', 'ExpAcmeHttpMode redirect off', 0],
    ['port 0',                    '', 'ExpAcmeHttpsPort 0', 0],
    ['port 65536',                '', 'ExpAcmeHttpsPort 65536', 0],
    ['port -1',                   '', 'ExpAcmeHttpsPort -1', 0],
    ['port abc',                  '', 'ExpAcmeHttpsPort abc', 0],
    ['port 443x',                 '', 'ExpAcmeHttpsPort 443x', 0],
    ['store in a vhost',          '', 'ExpAcmeChallengeStore shm:/tmp/x', 0],
    ['store of unknown kind',     'ExpAcmeChallengeStore ftp://x/y', '', 0],
    ['store without argument',    'ExpAcmeChallengeStore', '', 0],
    ['mode in <Directory>',       "<Directory />\nExpAcmeHttpMode redirect\n</Directory>", '', 0],
);

plan tests => 2 * @cases, need_module 'expacme';

# The MPM the suite's own server loads (from Apache-Test's httpd.conf;
# none when the MPM is built in).
open my $fh, '<', "$vars->{t_conf}/httpd.conf" or die "httpd.conf: $!";
my @mpm = grep { /^\s*LoadModule\s+mpm_\w+\s/ } <$fh>;
close $fh;

for my $c (@cases) {
    my ($name, $server, $vhost, $want_ok) = @$c;
    my $conf = "$tmp/case.conf";
    open my $out, '>', $conf or die "$conf: $!";
    print {$out} <<"CONF";
ServerRoot "$vars->{t_dir}"
ServerName localhost
Listen 127.0.0.1:1
PidFile "$tmp/httpd.pid"
ErrorLog "$tmp/error_log"
DocumentRoot "$vars->{documentroot}"
@mpm
LoadModule expacme_module "$vars->{expacme_module}"
ExpAcmeChallengeStore shm:$tmp/store/challenges
$server
<VirtualHost 127.0.0.1:1>
$vhost
</VirtualHost>
CONF
    close $out;
    my $cmd = qq{"$vars->{httpd}" -t -f "$conf" 2>&1};
    my $output = `$cmd`;
    my $rc = $? >> 8;
    if ($want_ok) {
        is($rc, 0, "$name: accepted") or diag $output;
        unlike($output, qr/expacme|EXP\d{5}/i, "$name: no complaint from the module");
    }
    else {
        isnt($rc, 0, "$name: refused") or diag $output;
        like($output, qr/ExpAcme\w+/, "$name: the message names the directive") or diag $output;
    }
}
