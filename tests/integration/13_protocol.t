# What goes over the wire, seen from the fault proxy, and what httpd
# answers meanwhile: JWS headers and payloads (RFC 8555 §6), badNonce
# retried with the nonce the error carried (§6.5), every challenge
# answered before the first poll (manual §4.3), the key authorizations
# served by mod_expacme from the store while the order is open, IP
# identifiers (RFC 8738), and the preferred chain among alternates.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256);
use MIME::Base64 qw(encode_base64url decode_base64url);
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $E = 'urn:ietf:params:acme:error';
my $env = ExpAcme::Env->new(proxy => 1, nonce_reject => 0);
$env->setup_account(via => 'proxy');
my $acct_dir = $env->state_dir . '/accounts/pebble';
my $account = $env->json->decode($env->slurp("$acct_dir/account.json"))->{url};
my $port = $env->proxy_port;

# RFC 7638 thumbprint of the (P-256) account key.
sub thumbprint {
    my ($keyfile) = @_;
    my $der = `openssl pkey -in $keyfile -pubout -outform DER 2>/dev/null`;
    my $xy = substr($der, -64);
    my ($x, $y) = map { encode_base64url($_) } substr($xy, 0, 32),
        substr($xy, 32);
    return encode_base64url(
        sha256(qq({"crv":"P-256","kty":"EC","x":"$x","y":"$y"})));
}

{
    note 'one order, watched';
    my @names = $env->names(3, 'wire-');
    $env->make_csr(names => \@names);
    $env->proxy_reset;
    # The first challenge answer is held 3 s: meanwhile the challenges
    # are open and httpd must serve them.
    $env->faults([{match => '^/chalZ/', count => 1, kind => 'delay',
                   seconds => 3}]);
    my $run = $env->ctl_bg('sign');
    ok(ExpAcme::Env::wait_for(sub { $env->requests_to(qr{^/chalZ/}) }, 30),
       'the sign answers a challenge (held by the proxy)');
    my $tokens = $env->store_tokens;
    is(scalar @$tokens, 3, 'three challenges open in the store');
    my $tp = thumbprint("$acct_dir/account.key");
    my %hosts;
    for my $t (@$tokens) {
        $hosts{$t->{host}}++;
        my $res = $env->http_get("/.well-known/acme-challenge/$t->{token}",
                                 $t->{host});
        is($res->{status}, 200, "httpd serves the challenge of $t->{host}");
        is($res->{body}, "$t->{token}.$tp",
           "$t->{host}: body is token.thumbprint(account key)");
        like($res->{headers}{'content-type'} // '', qr{^text/plain},
             "$t->{host}: text/plain");
        my $other = $env->http_get("/.well-known/acme-challenge/$t->{token}",
                                   'other.example.test');
        isnt($other->{status}, 200, "$t->{host}: not served for another host");
        cmp_ok($t->{expires_epoch}, '>', time, "$t->{host}: expiry in the future");
        cmp_ok($t->{expires_epoch}, '<', time + 3600,
               "$t->{host}: expiry bounded");
    }
    is_deeply([sort keys %hosts], [sort @names],
              'one challenge per name, published for that name');
    my $res = $run->wait(60);
    exit_is($res, 0, 'the sign succeeds');
    no_tokens($env);
    my $gone = $env->http_get("/.well-known/acme-challenge/$tokens->[0]{token}",
                              $tokens->[0]{host});
    is($gone->{status}, 301, 'after the sign the challenge path redirects again');

    my @req = @{$env->proxy_requests};
    my @posts = grep { $_->{method} eq 'POST' } @req;
    my @bad = grep {
        my $p = $_->{protected} || {};
        !($p->{url} && $p->{url} eq "https://127.0.0.1:$port$_->{path}"
          && $p->{nonce} && $p->{alg} && $p->{alg} eq 'ES256')
    } @posts;
    is(scalar @bad, 0, 'every JWS: url = request URL, a nonce, ES256')
        or diag(explain(\@bad));
    my @nokid = grep { ($_->{protected}{kid} // '') ne $account
                       || exists $_->{protected}{jwk} } @posts;
    is(scalar @nokid, 0, 'every JWS of the order: kid = account URL, no jwk');
    my %nonces;
    $nonces{$_->{protected}{nonce} // ''}++ for @posts;
    is(scalar(grep { $_ > 1 } values %nonces), 0, 'no nonce used twice');
    my @h2 = grep { ($_->{alpn} // '') ne 'http/1.1' } @req;
    is(scalar @h2, 0, 'every request over HTTP/1.1 (h2 offered, not taken)')
        or diag(explain([map { $_->{alpn} } @h2]));

    my @authz = grep { $_->{path} =~ m{^/authZ/} } @posts;
    is(scalar(grep { !defined $_->{payload} || $_->{payload} ne '' } @authz),
       0, 'authorizations fetched with POST-as-GET (empty payload)');
    my @chal = grep { $_->{path} =~ m{^/chalZ/} } @posts;
    is(scalar @chal, 3, 'three challenge answers');
    is(scalar(grep { ref $_->{payload} ne 'HASH' || %{$_->{payload}} } @chal),
       0, 'challenge answers carry {}');
    my ($first_chal) = grep { $req[$_]{path} =~ m{^/chalZ/} } 0 .. $#req;
    my ($last_chal) = reverse grep { $req[$_]{path} =~ m{^/chalZ/} } 0 .. $#req;
    my ($first_poll) = grep { $req[$_]{path} =~ m{^/authZ/} } $first_chal .. $#req;
    ok(defined $first_poll && $last_chal < $first_poll,
       'all challenges answered before the first poll');
    my ($fin) = grep { $_->{path} =~ m{^/finalize-order/} } @posts;
    my $csr_der = `openssl req -in @{[$env->state_dir]}/certs/server/csr.pem -outform DER 2>/dev/null`;
    is($fin && decode_base64url($fin->{payload}{csr} // ''), $csr_der,
       'finalize carries the stored CSR (base64url DER)');
    my ($cert) = grep { $_->{path} =~ m{^/certZ/} } @posts;
    ok($cert && $cert->{payload} eq '', 'certificate fetched with POST-as-GET');
}

{
    note 'badNonce: retried with the nonce the error carried';
    $env->make_csr(cert => 'nonce', names => [$env->names(1, 'bn-')]);
    $env->proxy_reset;
    $env->faults([{match => '^/order-plz', count => 3, kind => 'status',
                   status => 400,
                   body => {type => "$E:badNonce", detail => 'stale'}}]);
    my $r = $env->ctl('--cert', 'nonce', 'sign');
    exit_is($r, 0, 'three badNonce in a row: the sign succeeds');
    my @o = $env->requests_to(qr{^/order-plz});
    is(scalar @o, 4, 'newOrder sent 4 times');
    for my $i (1 .. $#o) {
        is($o[$i]{protected}{nonce}, $o[$i - 1]{reply_nonce},
           "retry $i uses the Replay-Nonce of the badNonce answer");
    }
}

{
    note 'IP identifier (RFC 8738)';
    my ($dns) = $env->names(1, 'ip-');
    $env->proxy_reset;
    $env->make_csr(cert => 'ip', names => [$dns, '127.0.0.1']);
    my $r = $env->ctl('--cert', 'ip', 'sign');
    exit_is($r, 0, 'sign for a DNS name and 127.0.0.1');
    my ($o) = map { $_->{payload} } $env->requests_to(qr{^/order-plz});
    is_deeply([sort map { "$_->{type}:$_->{value}" } @{$o->{identifiers} || []}],
              [sort("dns:$dns", 'ip:127.0.0.1')],
              'newOrder: a dns and an ip identifier');
    my $pem = $env->pending_pem('ip') // '';
    my ($leaf) = ExpAcme::Env::split_pem($pem);
    my $san = `echo '$leaf' | openssl x509 -noout -ext subjectAltName 2>&1`;
    like($san, qr/IP Address:127\.0\.0\.1/, 'the certificate has the IP');
    like($san, qr/DNS:\Q$dns\E/, 'and the DNS name');
    my ($ok, $out) = $env->verify_chain($pem);
    ok($ok, 'and verifies against Pebble\'s root') or diag($out);
    no_tokens($env);
}

{
    note 'alternate chains and --preferred-chain';
    my $alt = ExpAcme::Env->new(pebble_env => {PEBBLE_ALTERNATE_ROOTS => 1},
                                nonce_reject => 0);
    my $root1 = $alt->_mgmt('/roots/1');
    my $cn = `echo '$root1' | openssl x509 -noout -subject -nameopt multiline 2>&1`;
    ($cn) = $cn =~ /commonName\s*=\s*(.+?)\s*$/m;
    ok($cn, "the alternate root's CN: " . ($cn // '?'));
    $alt->setup_account(args => ['--preferred-chain', $cn]);
    my @names = $alt->names(1, 'alt-');
    $alt->make_csr(names => \@names);
    my $r = $alt->ctl('--json', 'sign');
    exit_is($r, 0, 'sign with --preferred-chain');
    is($r->{json}{alternates}, 1, 'one alternate chain offered');
    is($r->{json}{issuer}, $cn, 'the preferred chain was chosen');
    my $pem = $alt->pending_pem // '';
    my @certs = ExpAcme::Env::split_pem($pem);
    my $d = $alt->dir;
    $alt->write_file("$d/root1.pem", $root1);
    $alt->write_file("$d/leaf.pem", $certs[0] // '');
    $alt->write_file("$d/chain.pem", join('', @certs[1 .. $#certs]) || "\n");
    my $out = `openssl verify -CAfile $d/root1.pem -untrusted $d/chain.pem $d/leaf.pem 2>&1`;
    like($out, qr/: OK$/m, 'the pending chain verifies against the '
         . 'alternate root');

    $alt->add_provider('pebble');    # same provider, no preference
    $alt->make_csr(cert => 'dflt', names => [$alt->names(1, 'dflt-')]);
    $r = $alt->ctl('--json', '--cert', 'dflt', 'sign');
    exit_is($r, 0, 'sign without a preference');
    isnt($r->{json}{issuer}, $cn, 'the default chain is kept');
    my ($ok, $vout) = $alt->verify_chain($alt->pending_pem('dflt'));
    ok($ok, 'the default chain verifies against root 0') or diag($vout);
}

done_testing;
