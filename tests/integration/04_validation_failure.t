# A name whose DNS points where nothing answers on port 80: the order
# fails, the error names that identifier with the CA's problem, no token
# stays in the store, nothing becomes pending, status says why.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(proxy => 1, nonce_reject => 0);
$env->setup_account(via => 'proxy');

my @good = $env->names(3, 'good-');
my ($bad) = $env->names(1, 'nowhere-');
# Pebble resolves through challtestsrv: 127.0.0.9 has no httpd on the
# validation port.
$env->add_a($bad, '127.0.0.9');

$env->make_csr(names => [@good, $bad]);
# A badNonce on the way (retried, harmless: every other authorization
# request gets one) must not end up as the reported problem of the
# failure.
$env->faults([{match => '^/authZ/', every => 2, kind => 'status',
               status => 400,
               body => {type => 'urn:ietf:params:acme:error:badNonce',
                        detail => 'injected by fault_proxy'}}]);
# Under valgrind where it is installed: the failure path must not read
# freed memory (exit 99).
my $r = $env->ctl({valgrind => 1, timeout => 120}, 'sign');
$env->faults([]);
SKIP: {
    skip 'valgrind not installed', 1 unless $ExpAcme::Env::VALGRIND;
    unlike($r->{stderr}, qr/==\d+== (Invalid|Conditional|Use of uninit)/,
           'valgrind: no invalid memory access on the failure path')
        or diag($r->{stderr});
}
exit_is($r, 1, 'sign with an unreachable name: exit 1');
stderr_like($r, qr/^expacmectl: EXP\d{5}: .*\Q$bad\E/m,
            'the error names the failing identifier');
stderr_like($r, qr/\Q$bad\E.*urn:ietf:params:acme:error:\w+/,
            "the error carries the CA's problem type");
unlike(join("\n", grep { /EXP\d{5}/ } split /\n/, $r->{stderr}),
       qr/good-1\./, 'the error does not blame a good name');
ok(!$r->{timed_out} && $r->{elapsed} < 60, 'fails promptly');
my $published = $env->status_file_cert('server');
is($published && $published->{last_sign} && $published->{last_sign}{result},
   'failure', 'status_file (status page): the failed sign is published');
no_tokens($env, 'no token left in the store after the failure');
my $p = $env->ctl('pending', 'show');
exit_is($p, 1, 'nothing pending');
my $c = $env->cert_status('server');
is($c->{last_sign}{result}, 'failure', 'status: last_sign.result failure');
like($c->{last_sign}{detail} // '', qr/\Q$bad\E/,
     'status: last_sign.detail names the identifier');
is($c->{state}, 'csr', 'status: state back to csr');
my $prob = $c->{last_sign}{problem};
ok(!$prob || ($prob->{type} // '') !~ /badNonce/,
   'status: last_sign.problem is not the badNonce retried on the way')
    or diag(explain($c->{last_sign}));
ok(!$prob || ($prob->{type} // '') eq 'urn:ietf:params:acme:error:connection',
   "status: last_sign.problem, if any, is the challenge's error")
    or diag(explain($c->{last_sign}));

# The same CSR without the bad name signs (the good names were fine).
$env->make_csr(names => \@good);
sign_ok($env, 'the good names alone sign');
chain_ok($env, 'server', \@good);
no_tokens($env);

# --json: the error in the document.
$env->make_csr(cert => 'bad2', names => [$bad]);
$r = $env->ctl('--json', '--cert', 'bad2', 'sign');
exit_is($r, 1, '--json: exit 1');
json_error_like($r, qr/\Q$bad\E/, '--json: error names the identifier');
no_tokens($env, '--json: no token left');

done_testing;
