# store: redis
# A "Redis" that answers garbage (here: a server speaking HTTP instead of
# RESP) or accepts and then trickles a reply byte by byte: an httpd of
# its own on that store still starts (an unreachable or foreign store
# only warns), answers every challenge request 404 within
# ExpAcmeRedisTimeout, redirects everything else at once, and never
# crashes.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;
use ExpAcme::Redis ();
use File::Temp ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

plan tests => 2 * 7, need_module 'expacme';

my $vars = Apache::Test::vars();
my $tmp  = File::Temp->newdir;
chmod 0755, "$tmp";

# A server on a free port: each connection gets $answer->($sock).
sub fake_server {
    my $answer = shift;
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                    Listen => 64, ReuseAddr => 1) or die "listen: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $SIG{CHLD} = 'IGNORE';
        while (my $c = $srv->accept) {
            my $kid = fork;
            if (defined $kid && !$kid) {
                $answer->($c);
                POSIX::_exit(0);
            }
            close $c;
        }
        POSIX::_exit(0);
    }
    my $port = $srv->sockport;
    close $srv;
    return ($pid, $port);
}

my @kinds = (
    ['garbage', sub {
        my $c = shift;
        sysread $c, my $buf, 4096;
        syswrite $c, "HTTP/1.1 400 Bad Request\r\n\r\n";
        Time::HiRes::sleep(0.5);
    }],
    ['trickle', sub {
        my $c = shift;
        sysread $c, my $buf, 4096;
        for (1 .. 40) {
            syswrite $c, '+' or last;
            Time::HiRes::sleep(0.05);
        }
    }],
);

open my $fh, '<', "$vars->{t_conf}/httpd.conf" or die "httpd.conf: $!";
my @mpm = grep { /^\s*LoadModule\s+mpm_\w+\s/ } <$fh>;
close $fh;
my $user = $> == 0 ? "User www-data\nGroup www-data\n" : '';

for my $k (@kinds) {
    my ($name, $answer) = @$k;
    my ($fake, $fport) = fake_server($answer);
    # This httpd's warning at start can reach the suite's error log (logged
    # before its own ErrorLog is open): expected here, not for 99_error_log.
    my $from = error_log_size();
    my $free = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                     Listen => 1) or die "bind: $!";
    my $port = $free->sockport;
    close $free;
    my $conf = "$tmp/$name.conf";
    open my $out, '>', $conf or die "$conf: $!";
    print {$out} <<"CONF";
ServerRoot "$vars->{t_dir}"
ServerName localhost
Listen 127.0.0.1:$port
PidFile "$tmp/$name.pid"
ErrorLog "$tmp/$name.error_log"
DocumentRoot "$vars->{documentroot}"
@mpm
$user
LoadModule expacme_module "$vars->{expacme_module}"
ExpAcmeChallengeStore redis://127.0.0.1:$fport/suite
ExpAcmeRedisAuthFile @{[redis_dir()]}/httpd.auth
ExpAcmeRedisTimeout 250
<VirtualHost 127.0.0.1:$port>
ExpAcmeHttpMode redirect
</VirtualHost>
CONF
    close $out;
    my $started = `"$vars->{httpd}" -f "$conf" -k start 2>&1`;
    is($? >> 8, 0, "$name: httpd starts (the store only warns)") or diag $started;
    # Ready: a child answers (the parent probed the store first).
    my $up = wait_for(sub {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or return 0;
        print {$s} "GET /ready HTTP/1.0\r\nHost: localhost\r\n\r\n";
        my $r = do { local $/; <$s> } // '';
        $r =~ m{^HTTP/1\.1 301};
    }, 15);
    ok($up, "$name: httpd answers");
    my ($n404, $slowest) = (0, 0);
    for (1 .. 10) {
        my $t0 = Time::HiRes::time();
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or next;
        print {$s} "GET /.well-known/acme-challenge/tok$_ HTTP/1.0\r\nHost: localhost\r\n\r\n";
        my $resp = do { local $/; <$s> } // '';
        $n404++ if $resp =~ m{^HTTP/1\.1 404};
        my $t = Time::HiRes::time() - $t0;
        $slowest = $t if $t > $slowest;
    }
    is($n404, 10, "$name: 10 of 10 challenge requests 404");
    cmp_ok($slowest, '<', 0.25 + 0.75, "$name: each within the timeout")
        or diag "slowest: ${slowest}s";
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
    print {$s} "GET /page HTTP/1.0\r\nHost: localhost\r\n\r\n" if $s;
    my $resp = $s ? do { local $/; <$s> } // '' : '';
    like($resp, qr{^HTTP/1\.1 301}, "$name: other paths still redirect");
    system "$vars->{httpd}", '-f', $conf, '-k', 'stop';
    ok(wait_for(sub { !-e "$tmp/$name.pid" }), "$name: httpd stopped");
    kill 'TERM', $fake;
    waitpid $fake, 0;
    open my $log, '<', "$tmp/$name.error_log" or die "error_log: $!";
    my @lines = <$log>;
    close $log;
    ok(!grep({ /exit signal|Segmentation|AH00052/ } @lines), "$name: no child crashed")
        or diag @lines;
    expected_noise($from, "EXP01036: ExpAcmeChallengeStore redis://127\\.0\\.0\\.1:$fport/suite ");
}
