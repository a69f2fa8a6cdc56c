# store: redis
# The Redis directives against the suite's real redis-server: `httpd -t`
# accepts working credentials (ACL user or password only, TCP or UNIX
# socket) and refuses, with one clear line and never a password, a wrong
# password, a missing auth file, one others may read, a user without
# access to our keys, bad URLs and timeouts.  An unreachable Redis only
# warns.  A server whose credentials are refused never starts, so it
# serves nothing from a store it could not authenticate to.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;
use ExpAcme::Redis ();
use File::Temp ();
use IO::Socket::INET ();
use Socket qw(SOCK_STREAM);

my $vars = Apache::Test::vars();
my $tmp  = File::Temp->newdir;
my $dir  = redis_dir();
my $port = ExpAcme::Redis::port($dir);
my $prefix = ExpAcme::Redis::prefix();
my $url  = "redis://127.0.0.1:$port/$prefix";
my @secrets = map { my $f = ExpAcme::Redis::auth_file($dir, $_);
                    (split ' ', `cat $f`)[-1] } qw(httpd helper other default);

sub auth_file_with {
    my ($name, $text, $mode) = @_;
    my $f = "$tmp/$name";
    open my $fh, '>', $f or die "$f: $!";
    print {$fh} $text;
    close $fh;
    chmod $mode, $f;
    return $f;
}
my $wrong = auth_file_with('wrong.auth', "expacme-httpd not-the-password\n", 0600);
my $wrong_default = auth_file_with('wrong-default.auth', "not-the-password\n", 0600);
my $world = auth_file_with('world.auth', `cat $dir/httpd.auth`, 0644);
my $group = auth_file_with('group.auth', `cat $dir/httpd.auth`, 0640);
symlink "$dir/httpd.auth", "$tmp/link.auth" or die "symlink: $!";
push @secrets, 'not-the-password';

# A port where nothing listens: bound, never listening, kept for the test.
my $closed = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Proto => 'tcp', Type => SOCK_STREAM)
    or die "bind: $!";
my $closed_port = $closed->sockport;

my $httpd_auth = "$dir/httpd.auth";
# [name, directives, accepted?, what the output must say]
my @cases = (
    ['ACL user', "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $httpd_auth", 1],
    ['password only (requirepass)',
     "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $dir/default.auth", 1],
    ['UNIX socket',
     "ExpAcmeChallengeStore redis+unix://$dir/redis.sock?prefix=$prefix\n"
         . "ExpAcmeRedisAuthFile $httpd_auth", 1],
    ['default prefix', "ExpAcmeChallengeStore redis://127.0.0.1:$port\n"
         . "ExpAcmeRedisAuthFile $dir/default.auth", 1],
    ['timeout 1', "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $httpd_auth\n"
         . "ExpAcmeRedisTimeout 1000", 1],
    ['wrong password', "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $wrong",
     0, qr/EXP01036: .*refused our credentials: WRONGPASS/],
    ['wrong password (default user)',
     "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $wrong_default",
     0, qr/EXP01036: .*refused our credentials: WRONGPASS/],
    ['no auth file directive', "ExpAcmeChallengeStore $url",
     0, qr/EXP01033: .*needs ExpAcmeRedisAuthFile/],
    ['auth file missing', "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $tmp/none",
     0, qr/EXP01034: .*\Q$tmp\E\/none: No such file/],
    ['auth file readable by others', "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $world",
     0, qr/EXP01034: .*mode 0644: group or others may read/],
    ['auth file readable by the group', "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $group",
     0, qr/EXP01034: .*mode 0640/],
    ['auth file a symlink', "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $tmp/link.auth",
     0, qr/EXP01034: .*symbolic link/],
    ['user without access to our keys',
     "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $dir/other.auth",
     0, qr/EXP01036: .*refused to read our keys: NOPERM/],
    ['unreachable Redis warns only',
     "ExpAcmeChallengeStore redis://127.0.0.1:$closed_port/$prefix\nExpAcmeRedisAuthFile $httpd_auth",
     1, qr/EXP01036: .*Connection refused; starting anyway/],
    ['no port', "ExpAcmeChallengeStore redis://127.0.0.1\nExpAcmeRedisAuthFile $httpd_auth",
     0, qr/ExpAcmeChallengeStore: the URL needs HOST:PORT/],
    ['password in the URL',
     "ExpAcmeChallengeStore redis://u:not-the-password\@127.0.0.1:$port\nExpAcmeRedisAuthFile $httpd_auth",
     0, qr/ExpAcmeChallengeStore: credentials do not belong in the URL/],
    ['bad prefix', "ExpAcmeChallengeStore redis://127.0.0.1:$port/a:b\nExpAcmeRedisAuthFile $httpd_auth",
     0, qr/ExpAcmeChallengeStore: the key prefix/],
    ['relative socket', "ExpAcmeChallengeStore redis+unix://redis.sock\nExpAcmeRedisAuthFile $httpd_auth",
     0, qr/ExpAcmeChallengeStore: redis\+unix:\/\/ needs an absolute socket path/],
    ['timeout 0', "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $httpd_auth\nExpAcmeRedisTimeout 0",
     0, qr/ExpAcmeRedisTimeout must be/],
    ['timeout 10001', "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $httpd_auth\nExpAcmeRedisTimeout 10001",
     0, qr/ExpAcmeRedisTimeout must be/],
    ['timeout abc', "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $httpd_auth\nExpAcmeRedisTimeout abc",
     0, qr/ExpAcmeRedisTimeout must be/],
    ['auth file in a vhost', "ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $httpd_auth",
     0, qr/ExpAcmeRedisAuthFile cannot occur within <VirtualHost>/, "ExpAcmeRedisAuthFile $httpd_auth"],
);

plan tests => 3 * @cases + 4, need_module 'expacme';

open my $fh, '<', "$vars->{t_conf}/httpd.conf" or die "httpd.conf: $!";
my @mpm = grep { /^\s*LoadModule\s+mpm_\w+\s/ } <$fh>;
close $fh;

sub write_conf {
    my ($server, $vhost, $listen) = @_;
    my $conf = "$tmp/case.conf";
    open my $out, '>', $conf or die "$conf: $!";
    print {$out} <<"CONF";
ServerRoot "$vars->{t_dir}"
ServerName localhost
Listen 127.0.0.1:$listen
PidFile "$tmp/httpd.pid"
ErrorLog "$tmp/error_log"
DocumentRoot "$vars->{documentroot}"
@mpm
LoadModule expacme_module "$vars->{expacme_module}"
$server
<VirtualHost 127.0.0.1:$listen>
ExpAcmeHttpMode challenge-only
$vhost
</VirtualHost>
CONF
    close $out;
    return $conf;
}

for my $c (@cases) {
    my ($name, $server, $want_ok, $say, $vhost) = @$c;
    my $conf = write_conf($server, $vhost // '', 1);
    my $output = `"$vars->{httpd}" -t -f "$conf" 2>&1`;
    my $rc = $? >> 8;
    if ($want_ok) {
        is($rc, 0, "$name: accepted") or diag $output;
    }
    else {
        isnt($rc, 0, "$name: refused") or diag $output;
    }
    if ($say) {
        like($output, $say, "$name: says why") or diag $output;
    }
    else {
        unlike($output, qr/expacme|EXP\d{5}/i, "$name: no complaint from the module")
            or diag $output;
    }
    my @leaked = grep { index($output, $_) >= 0 } @secrets;
    ok(!@leaked, "$name: no password in the output") or diag $output;
}

# A server whose credentials Redis refuses does not start: nothing is
# ever served from a store we could not authenticate to.
my $free = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Proto => 'tcp', Listen => 1) or die "bind: $!";
my $listen = $free->sockport;
close $free;
my $conf = write_conf("ExpAcmeChallengeStore $url\nExpAcmeRedisAuthFile $wrong", '', $listen);
my $output = `"$vars->{httpd}" -f "$conf" -k start 2>&1`;
isnt($? >> 8, 0, 'wrong password: httpd -k start fails') or diag $output;
like($output, qr/refused our credentials/, 'wrong password: start says why') or diag $output;
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $listen, Timeout => 2);
ok(!$sock, 'wrong password: nothing listens on the port');
if (-s "$tmp/httpd.pid") {
    system "$vars->{httpd}", '-f', $conf, '-k', 'stop';
}
ok(!-s "$tmp/httpd.pid", 'wrong password: no server left running');
