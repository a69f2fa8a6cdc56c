# dns-01 through the operator's dns_hook (SPEC §12): a hook in the test
# tree sets TXT records through pebble-challtestsrv's management API (the
# DNS Pebble and dns_resolver ask).  A wildcard certificate is signed and
# deployed; a wildcard without dns-01 is refused; a preference list uses
# http-01 where it can and dns-01 for the wildcard; a hook that fails,
# hangs or never makes the record visible gives a clear error, the record
# is deleted and nothing is staged; a helper killed with -9 mid-dns-01
# leaves records the next run deletes.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(https => 1, proxy => 1, nonce_reject => 0,
                            timeouts => {order_timeout => 60});
$env->setup_account(via => 'proxy');
my $zone = $env->tag . '.example.test';
my $wild = "*.$zone";

# Every record added was deleted again, after it was added.
sub all_deleted {
    my ($label) = @_;
    my (%open, @order);
    for my $c (@{$env->dns_hook_calls}) {
        my ($verb, $name) = @$c;
        $open{$name}++ if $verb eq 'add';
        delete $open{$name} if $verb eq 'del';
    }
    ok(!%open, "$label: every TXT record added was deleted")
        or diag(explain($env->dns_hook_calls));
}

note 'a wildcard without dns-01';
my $r = $env->ctl('csr', 'generate', '--cn', $wild);
exit_is($r, 2, 'csr generate *.zone without dns-01: usage error');
stderr_like($r, qr/\Q$wild\E.*a wildcard needs dns-01: set 'challenges = dns-01'/,
            'the message says what to configure');

note 'a wildcard certificate through dns-01';
$env->set_config(dns_wait => 4, dns_hook_timeout => 2,
                 cert => {server => {challenges => 'dns-01',
                                     dns_hook => $env->dns_hook('ok')}});
$env->make_csr(names => [$wild, $zone]);
$r = sign_ok($env, 'sign the wildcard certificate');
stderr_like($r, qr/check \Q$wild\E \(dns-01\): ok: dns_hook .* is executable/,
            'the pre-flight check looked at the hook');
stderr_like($r, qr/TXT _acme-challenge\.\Q$zone\E visible/,
            'the record was polled until visible');
my $pem = chain_ok($env, 'server', [$wild, $zone]);
my $c = $env->cert_status('server');
is_deeply($c->{last_sign}{validated}, {$wild => 'dns-01', $zone => 'dns-01'},
          'status: both names validated by dns-01');
my @adds = grep { $_->[0] eq 'add' && $_->[3] eq 'ok' } @{$env->dns_hook_calls};
is(scalar @adds, 2, 'the hook added two TXT values');
is($adds[0][1], "_acme-challenge.$zone", 'at _acme-challenge of the base name');
like($adds[0][2], qr/^[A-Za-z0-9_-]{43}$/, 'the value is base64url(SHA-256)');
all_deleted('after success');
no_tokens($env);
deploy_ok($env, 'the wildcard certificate deploys');
served_is($env, $pem, 'the HTTPS listener serves it for www.' . $zone);
my $status_page = $env->status_file_cert('server');
is_deeply($status_page->{last_sign}{validated},
          {$wild => 'dns-01', $zone => 'dns-01'},
          'status page document: which type validated each name');

note 'a preference list: http-01 first, dns-01 for the wildcard';
my $other = "www2.$zone";
$env->set_config(cert => {mixed => {challenges => 'http-01 dns-01',
                                    dns_hook => $env->dns_hook('ok')}});
$env->make_csr(cert => 'mixed', names => ["*.m.$zone", $other]);
sign_ok($env, 'a mixed certificate signs', '--cert', 'mixed');
$c = $env->cert_status('mixed');
is_deeply($c->{last_sign}{validated},
          {"*.m.$zone" => 'dns-01', $other => 'http-01'},
          'http-01 where it can, dns-01 for the wildcard');
all_deleted('mixed');
no_tokens($env);

for my $case (['fail', qr/dns_hook add _acme-challenge\.\S+: exit status 3: zone example\.test refuses updates\? today/],
              ['hang', qr/dns_hook add _acme-challenge\.\S+: no exit within 2 s/],
              ['invisible', qr/the TXT record _acme-challenge\.\S+ did not show the challenge value within 4 s/]) {
    my ($mode, $want) = @$case;
    note "a hook that does: $mode";
    my $name = "$mode-cert";
    $env->set_config(cert => {$name => {challenges => 'dns-01',
                                        dns_hook => $env->dns_hook($mode)}});
    $env->make_csr(cert => $name, names => ["*.$mode.$zone"]);
    $r = $env->ctl('--cert', $name, 'sign');
    exit_is($r, 1, "$mode: sign fails");
    stderr_like($r, qr/^expacmectl: EXP\d{5}: sign: $want/m,
                "$mode: one clear line, the hook's output escaped");
    ok($r->{elapsed} < 30, "$mode: promptly");
    my @del = grep { $_->[0] eq 'del' && $_->[1] eq "_acme-challenge.$mode.$zone" }
        @{$env->dns_hook_calls};
    is(scalar @del, 1, "$mode: the record was deleted");
    all_deleted($mode);
    exit_is($env->ctl('--cert', $name, 'pending', 'show'), 1,
            "$mode: nothing staged");
    no_tokens($env);
}

note 'the CA refuses the dns-01 challenge (fault proxy)';
$env->set_config(cert => {refused => {challenges => 'dns-01',
                                      dns_hook => $env->dns_hook('ok')}});
$env->make_csr(cert => 'refused', names => ["*.r.$zone"]);
$env->faults([{match => '^/chalZ/', kind => 'status', status => 400,
               body => {type => 'urn:ietf:params:acme:error:malformed',
                        detail => 'injected by fault_proxy'}}]);
$r = $env->ctl('--cert', 'refused', 'sign');
$env->faults([]);
exit_is($r, 1, 'a CA refusing the challenge: sign fails');
stderr_like($r, qr/urn:ietf:params:acme:error:malformed.*injected by fault_proxy/,
            "the CA's problem verbatim");
ok(scalar(grep { $_->[0] eq 'del' && $_->[1] eq "_acme-challenge.r.$zone" }
          @{$env->dns_hook_calls}), 'the record was deleted');
all_deleted('CA refused');
exit_is($env->ctl('--cert', 'refused', 'pending', 'show'), 1,
        'nothing staged');

note 'SIGTERM while waiting for the record';
$env->set_config(dns_wait => 30,
                 cert => {term => {challenges => 'dns-01',
                                   dns_hook => $env->dns_hook('invisible')}});
$env->make_csr(cert => 'term', names => ["*.t.$zone"]);
my $trun = $env->ctl_bg('--cert', 'term', 'sign');
ok(ExpAcme::Env::wait_for(sub {
    grep { $_->[0] eq 'add' && $_->[1] eq "_acme-challenge.t.$zone" }
        @{$env->dns_hook_calls} }, 20), 'the hook was asked to add');
$trun->kill('TERM');
my $tres = $trun->wait(30);
is($tres->{exit}, 1, 'SIGTERM: the helper exits 1 after cleaning up');
ok(scalar(grep { $_->[0] eq 'del' && $_->[1] eq "_acme-challenge.t.$zone" }
          @{$env->dns_hook_calls}), 'SIGTERM: the record was deleted');
is($env->cert_status('term')->{last_sign}{result}, 'interrupted',
   'SIGTERM: status says interrupted');
$env->set_config(dns_wait => 4);

note 'kill -9 while waiting for the record';
$env->set_config(cert => {killed => {challenges => 'dns-01',
                                     dns_hook => $env->dns_hook('invisible')}});
$env->make_csr(cert => 'killed', names => ["*.k.$zone"]);
my $run = $env->ctl_bg('--cert', 'killed', 'sign');
ok(ExpAcme::Env::wait_for(sub {
    grep { $_->[0] eq 'add' && $_->[1] eq "_acme-challenge.k.$zone" }
        @{$env->dns_hook_calls} }, 20), 'the hook was asked to add');
$run->kill('KILL');
is($run->wait(30)->{signal}, 9, 'the helper died of SIGKILL');
ok(!grep({ $_->[0] eq 'del' && $_->[1] eq "_acme-challenge.k.$zone" }
         @{$env->dns_hook_calls}), 'nothing deleted it yet');
$c = $env->cert_status('killed');
is($c->{last_sign}{result}, 'interrupted', 'status: the sign was interrupted');
ok(scalar(grep { $_->[0] eq 'del' && $_->[1] eq "_acme-challenge.k.$zone" }
          @{$env->dns_hook_calls}), 'the next run deleted the record');
all_deleted('after kill -9');

done_testing;
