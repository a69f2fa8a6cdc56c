# store: redis
# The status page of a cluster: every peer's report under PREFIX:peer:*
# (common/redis_layout.h) is on this peer's page — JSON, HTML and the
# server-status section — with when it last reported, escaped, sorted by
# peer; a report that is not in the layout is left out, one that expired
# drops off.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;
use ExpAcme::Redis ();
use JSON::PP ();

plan tests => 18, need_module 'expacme', need_module 'status';

my $p = ExpAcme::Redis::prefix();
my $now = time;

# What each peer's helper publishes (expacmectl status_publish).
sub report {
    my ($peer, $reported, $status, $ttl) = @_;
    my $key = "$p:peer:$peer";
    redis_cli('DEL', $key);
    redis_cli('HSET', $key, 'reported', $reported, 'status', $status);
    redis_cli('EXPIRE', $key, $ttl // 3600);
}

sub doc {
    my ($name, $detail) = @_;
    return JSON::PP->new->canonical->encode({ generated => $now, certificates => [
        { name => 'server', state => 'deployed', names => [$name, 'cluster.test'],
          detail => $detail } ] });
}

redis_cli('DEL', map { "$p:peer:$_" } qw(peer-a.test peer-b.test peer-c.test bad.test));
report('peer-b.test', $now - 90, doc('peer-b.test', 'renewed'));
report('peer-a.test', $now - 5, doc('peer-a.test', '<script>alert(1)</script>'));
report('peer-c.test', $now - 7200, doc('peer-c.test', 'quiet'));
redis_cli('HSET', "$p:peer:bad.test", 'reported', 'yesterday', 'status', '{}');
# Another prefix on the same Redis: not ours, never shown.
redis_cli('HSET', 'other:peer:stranger.test', 'reported', $now, 'status', '{}');

my $r = req('expacme_status', 'GET', '/expacme-status?json');
is($r->{status}, 200, 'JSON: 200');
my $data = eval { JSON::PP->new->decode($r->{body}) };
ok($data, 'JSON: one valid document') or diag $r->{body};
my @peers = map { $_->{peer} } @{ $data->{peers} || [] };
is(join(',', @peers), 'peer-a.test,peer-b.test,peer-c.test',
   'JSON: every peer, sorted; the malformed and the foreign left out');
is($data->{peers}[1]{reported}, $now - 90, 'JSON: when peer-b reported');
like($data->{peers}[1]{reported_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'JSON: and as RFC 3339');
is($data->{peers}[0]{status}{certificates}[0]{names}[0], 'peer-a.test',
   'JSON: peer-a\'s certificates');
ok(exists $data->{local}, 'JSON: this peer\'s own document beside them');

$r = req('expacme_status', 'GET', '/expacme-status');
like($r->{header}->('Content-Type') // '', qr{^text/html}, 'HTML page');
for my $peer (qw(peer-a.test peer-b.test peer-c.test)) {
    like($r->{body}, qr{<h3>\Q$peer\E</h3>}, "HTML: $peer has its block");
}
like($r->{body}, qr/Last reported \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(2 h ago\)/,
     'HTML: when each last reported, readable, with its time zone');
ok($r->{body} !~ /<script>/ && $r->{body} =~ /&lt;script&gt;/, 'HTML: escaped');
like($r->{body}, qr/3 peers reporting/, 'HTML: how many');

$r = req('expacme_status', 'GET', '/server-status');
like($r->{body}, qr{<td>peer-b\.test</td><td>[^<]*UTC \(9[0-4] s ago\)</td>},
     'server-status: the peers table');
$r = req('expacme_status', 'GET', '/server-status?auto');
like($r->{body}, qr/^ExpAcmePeers: 3$/m, 'server-status?auto: ExpAcmePeers');

# A peer that stops reporting drops off when its report expires.
report('peer-c.test', $now - 7200, doc('peer-c.test', 'quiet'), 1);
ok(wait_for(sub {
    my $d = eval { JSON::PP->new->decode(req('expacme_status', 'GET', '/expacme-status?json')->{body}) };
    $d && @{ $d->{peers} } == 2;
}, 4), 'an expired report drops off');

redis_cli('DEL', map { "$p:peer:$_" } qw(peer-a.test peer-b.test peer-c.test bad.test));
redis_cli('DEL', 'other:peer:stranger.test');
$r = req('expacme_status', 'GET', '/expacme-status?json');
$data = eval { JSON::PP->new->decode($r->{body}) };
is(ref($data && $data->{peers}), 'ARRAY', 'no peer: an empty list');
