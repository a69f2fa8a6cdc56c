# A cluster (SPEC §8): three httpd peers on 127.0.0.2, .3 and .4, each
# with the module on the same Redis (requirepass and ACL users), each
# peer's helper pointed at it.  A token published by peer A's helper is
# served by B and C; an order for the cluster name run by A's helper
# while the CA's DNS points that name at B succeeds; with A's helper on
# an shm: store instead it fails, naming the identifier.  Every peer's
# status page lists all three peers.  Bad credentials are clear errors,
# and a write the store refuses fails the order before the CA validates.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

-x '/usr/bin/redis-server' or BAIL_OUT('redis-server is missing (tools/deps)');

my $env = ExpAcme::Env->new(httpd => 0, redis => 1);
my $tag = $env->tag;
my %ip = (a => '127.0.0.2', b => '127.0.0.3', c => '127.0.0.4');
my %peer;
$peer{$_} = $env->start_peer("peer-$_.$tag.example.test", $ip{$_}) for sort keys %ip;
my $A = $peer{a};

# Peer A's helper is this environment's expacme.conf.
# Its pre-flight check asks its own httpd: peer A's listener.
$env->set_config(challenge_store => $env->redis_url,
                 challenge_store_auth_file => $env->redis_auth('helper'),
                 cluster_peer => $A->{name},
                 check_http_address => "$A->{ip}:$env->{http_port}",
                 status_file => "$A->{dir}/run/status.json");
$env->setup_account;

sub get_from {
    my ($p, $token, $host) = @_;
    return $env->http_get("/.well-known/acme-challenge/$token", $host, $p->{ip});
}

# --- a token published by A's helper, served by every peer ---------------
{
    my $token = 'clusterToken_' . $tag;
    my $ka = "$token.KeyAuthorizationOfTheClusterTest";
    my $host = "cluster.$tag.example.test";
    my $r = $env->ctl('token', 'put', $token, $ka, '--host', $host, '--ttl', 120);
    exit_is($r, 0, 'A: token put into Redis');
    for my $p (map { $peer{$_} } qw(b c a)) {
        my $g = get_from($p, $token, $host);
        is($g->{status}, 200, "$p->{name} serves A's token");
        is($g->{body}, $ka, "$p->{name}: the key authorization");
    }
    my $p = $env->redis_prefix;
    my $ttl = $env->redis_cli('TTL', "$p:challenge:$token");
    ok($ttl > 0 && $ttl <= 120, "the token's key carries its TTL ($ttl s)");
    my $open_ttl = $env->redis_cli('TTL', "$p:open");
    ok($open_ttl > 0 && $open_ttl <= 120, "so does the open signal ($open_ttl s)");
    my $l = $env->ctl({config => $peer{b}{config}}, '--json', 'token', 'list');
    exit_is($l, 0, 'B: token list');
    ok((grep { $_->{token} eq $token && $_->{host} eq $host }
        @{$l->{json}{tokens} || []}), "B's helper lists A's token");
    is($l->{json}{store}, $env->redis_url, 'token list names the Redis store');
    $r = $env->ctl({config => $peer{c}{config}}, 'token', 'del', $token);
    exit_is($r, 0, 'C: token del of A\'s token');
    my $g = get_from($peer{b}, $token, $host);
    isnt($g->{status}, 200, 'withdrawn by C: B no longer serves it');
    no_tokens($env, 'the store is empty again');
}

# --- an order for the cluster name, validated on peer B -------------------
my $cluster = "www.cluster.$tag.example.test";
$env->add_a($cluster, $ip{b});
$env->add_a($A->{name}, $ip{a});
$env->make_csr(cert => 'cluster', names => [$cluster, $A->{name}]);
{
    my $r = $env->ctl('--cert', 'cluster', 'sign');
    exit_is($r, 0, 'A signs for the cluster name while the CA validates it on B');
    chain_ok($env, 'cluster', [$cluster, $A->{name}]);
    no_tokens($env, 'no token left in Redis after the order');
    my $log = $env->slurp("$peer{b}{dir}/logs/error.log");
    like($log, qr/EXP01010: answered http-01 challenge for \Q$cluster\E/,
         'peer B answered the CA for the cluster name');
}

# --- the same with an shm: store on A: B cannot answer --------------------
{
    $env->set_config(challenge_store => "shm:$A->{dir}/run/challenges",
                     challenge_store_auth_file => undef, order_timeout => 20);
    $env->make_csr(cert => 'solo', names => [$cluster]);
    my $r = $env->ctl('--cert', 'solo', 'sign');
    exit_is($r, 1, 'shm: store: the order for the cluster name fails');
    stderr_like($r, qr/EXP\d{5}: .*\Q$cluster\E/,
                'the error names the identifier B could not answer for');
    $env->set_config(challenge_store => $env->redis_url,
                     challenge_store_auth_file => $env->redis_auth('helper'),
                     order_timeout => undef);
}

# --- every peer's status page shows every peer ----------------------------
{
    for my $p (qw(b c)) {
        my $r = $env->ctl({config => $peer{$p}{config}}, 'status');
        exit_is($r, 0, "$peer{$p}{name}: status (reports to the cluster)");
    }
    exit_is($env->ctl('status'), 0, "$A->{name}: status");
    my @names = sort map { $_->{name} } values %peer;
    for my $p (map { $peer{$_} } qw(a b c)) {
        my $doc = $env->peer_status($p->{name});
        my @listed = sort map { $_->{peer} } @{$doc->{peers} || []};
        is("@listed", "@names", "$p->{name}'s status page lists all three peers");
    }
    my $C = $peer{c};
    my $page = $env->http_get('/expacme-status', $C->{name}, $C->{ip},
                              $C->{status_port})->{body} // '';
    like($page, qr{<h3>\Q$A->{name}\E</h3>\s*<p class="meta">Last reported [^<]+</p>(?:(?!<section class="peer">).)*<section class="cert" id="cert-cluster">}s,
         "C's page shows A's certificate 'cluster' as a formatted block")
        or diag(substr($page, index($page, 'id="cluster"'), 3000));
    my $doc = $env->peer_status($peer{c}{name});
    my ($a) = grep { $_->{peer} eq $A->{name} } @{$doc->{peers} || []};
    ok($a && $a->{reported} > time - 120, "C shows when A last reported");
    ok($a && (grep { $_->{name} eq 'cluster' } @{$a->{status}{certificates} || []}),
       "C shows A's certificates");
    my $ttl = $env->redis_cli('TTL', $env->redis_prefix . ":peer:$A->{name}");
    ok($ttl > 3600, "A's report carries a TTL ($ttl s)");
    my $reports = join '', map { scalar $env->redis_cli('HGET', $env->redis_prefix . ":peer:$_", 'status') } @names;
    unlike($reports, qr/PRIVATE KEY|"password"/, 'no secret in any report');
}

# --- bad credentials: clear errors ------------------------------------------
{
    my $d = $env->dir;
    $env->write_file("$d/wrong.auth", "helper not-the-password\n");
    chmod 0600, "$d/wrong.auth";
    $env->set_config(challenge_store_auth_file => "$d/wrong.auth");
    my $r = $env->ctl('token', 'put', 'tokWrong', 'tokWrong.x', '--host', 'x.example.test');
    exit_is($r, 1, 'wrong password: token put fails');
    stderr_like($r, qr/EXP\d{5}: Redis .* refused the credentials of \Q$d\E\/wrong\.auth: WRONGPASS/,
                'wrong password: says Redis refused them');
    unlike($r->{stderr}, qr/not-the-password/, 'the password is never shown');

    chmod 0644, "$d/wrong.auth";
    $r = $env->ctl('token', 'list');
    exit_is($r, 2, 'auth file readable by others: a configuration error');
    stderr_like($r, qr/mode 0644: group or others may read/, 'says why');

    $env->set_config(challenge_store_auth_file => "$d/none.auth");
    $r = $env->ctl('token', 'list');
    exit_is($r, 2, 'missing auth file: a configuration error');
    stderr_like($r, qr/none\.auth: No such file/, 'says which file');

    $env->set_config(challenge_store_auth_file => undef);
    $r = $env->ctl('--cert', 'cluster', 'sign');
    exit_is($r, 2, 'no auth file at all: sign refuses before the CA is asked');
    stderr_like($r, qr/needs challenge_store_auth_file/, 'says what is missing');
    unlike($r->{stderr}, qr/order created/, 'no order was created');

    # A user that may read but not write: the publish fails the order
    # before any challenge is answered.
    $env->set_config(challenge_store_auth_file => $env->redis_auth('reader'));
    # Past the pre-flight check (its probe is refused the same way): the
    # order's own publish is what this shows.
    $r = $env->ctl('--cert', 'cluster', 'sign', '--no-check');
    exit_is($r, 1, 'a refused write fails the order');
    stderr_like($r, qr/cannot publish the challenge for \S+: .*NOPERM/,
                'the error names the name and the refusal');
    unlike($r->{stderr}, qr/authorizations \d+\/\d+ valid/,
           'no authorization was validated');
    $env->set_config(challenge_store_auth_file => $env->redis_auth('helper'));
    no_tokens($env, 'nothing left in the store');
}

done_testing;
