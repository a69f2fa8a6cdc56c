# Persistent connections: after a redirect, a 404 or a challenge answer
# the connection either serves the next request or says it will close
# ("Connection: close") -- never a silent close that loses the next request.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use ExpAcme::Test;
use IO::Select ();
use Time::HiRes ();

plan tests => 8, need_module 'expacme';

reset_store();
my $tok = new_token();
my $ka  = new_keyauth($tok);
ok(open_window($tok, $ka), 'window opened');

# Reads one response (head + Content-Length body) from $sock; undef on EOF
# or after 10 s.
sub read_response {
    my $sock = shift;
    my $buf = '';
    my $sel = IO::Select->new($sock);
    my $end = Time::HiRes::time() + 10;
    my ($head, $need);
    while (Time::HiRes::time() < $end) {
        if (!defined $head && $buf =~ /\r\n\r\n/) {
            ($head) = $buf =~ /^(.*?\r\n)\r\n/s;
            my ($cl) = $head =~ /^Content-Length:\s*(\d+)/mi;
            $need = length($head) + 2 + ($cl || 0);
        }
        return { head => $head, all => substr($buf, 0, $need) }
            if defined $head && length($buf) >= $need;
        last unless $sel->can_read($end - Time::HiRes::time());
        my $n = sysread $sock, $buf, 65536, length $buf;
        last unless $n;
    }
    return undef;
}

# Two requests on one connection, the second sent after the first answer.
sub second_request_ok {
    my ($vhost, $first, $name) = @_;
    my $sock = Apache::TestRequest::vhost_socket($vhost) or die "connect $vhost: $!";
    $sock->autoflush(1);
    my $host = 'localhost:' . vhost_port($vhost);
    print {$sock} "GET $first HTTP/1.1\r\nHost: $host\r\n\r\n";
    my $r1 = read_response($sock);
    unless ($r1) {
        fail("$name: first response");
        return;
    }
    if ($r1->{head} =~ /^Connection:.*\bclose\b/mi) {
        pass("$name: server announced Connection: close");
        return;
    }
    print {$sock} "GET /second HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n";
    my $r2 = read_response($sock);
    ok($r2 && $r2->{head} =~ m{^HTTP/1\.1 [34]\d\d}, "$name: next request on the connection answered")
        or diag "first response:\n$r1->{head}\nsecond: " . ($r2 ? $r2->{head} : 'connection closed');
}

second_request_ok('expacme_redirect', '/foo', 'after a redirect');
second_request_ok('expacme_redirect', chal_path($tok), 'after a challenge answer');
second_request_ok('expacme_redirect', chal_path(new_token()), 'after an unknown-token 404');
second_request_ok('expacme_chonly', '/foo', 'after a challenge-only 404');
second_request_ok('expacme_chonly', chal_path($tok), 'after a challenge answer (challenge-only)');
second_request_ok('expacme_port', '/foo', 'after a redirect with port');
second_request_ok('expacme_off', '/', 'control: mode off');

reset_store();
