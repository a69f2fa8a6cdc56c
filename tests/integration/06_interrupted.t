# kill -9 of `expacmectl sign` mid-order: the next run (status, or sign)
# withdraws the tokens the dead run left; status shows the interrupted
# sign; a new sign succeeds and leaves no token.  SIGTERM: the run itself
# cleans up.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

{
    note 'kill -9 of a 100-name sign right after it published';
    my $env = ExpAcme::Env->new;
    $env->setup_account;
    my @names = $env->names(100, 'k9-');
    $env->make_csr(names => \@names);
    # Pebble validates 100 names in well under a second: kill as soon as
    # "published" shows up, and retry the rare run that finished first.
    my ($left, $run, $attempt);
    for $attempt (1 .. 5) {
        $run = $env->ctl_bg('sign');
        $run->wait_stderr(qr/published \d+ challenges/, 60);
        $run->kill('KILL');
        my $res = $run->wait(30);
        if ($res->{signal} == 9) {
            $left = $env->store_tokens;
            last if @$left;
        }
        note "attempt $attempt: the sign finished before the kill; again";
        $env->ctl('pending', 'discard');
    }
    like($run->stderr, qr/published 100 challenges/,
         'the killed sign had published 100 challenges');
    cmp_ok(scalar @{$left || []}, '>', 0,
           'killed mid-order: its tokens are still in the store ('
           . scalar(@{$left || []}) . ')');
    my $c = $env->cert_status;
    is($c->{last_sign}{result}, 'interrupted',
       'status: last_sign.result interrupted');
    like($c->{last_sign}{detail} // '', qr/withdrawn/,
         'status: the challenges of the interrupted sign were withdrawn');
    isnt($c->{state}, 'signing', 'status: no longer signing');
    no_tokens($env, 'status withdrew the tokens of the dead run');
    exit_is($env->ctl('pending', 'show'), 1, 'nothing pending');

    my $r = sign_ok($env, 'a new sign succeeds');
    unlike($r->{stderr}, qr/withdrew/, '(status had already recovered)');
    chain_ok($env, 'server', \@names, 'after kill -9');
    no_tokens($env, 'the new sign leaves no token');
}

my $env = ExpAcme::Env->new(proxy => 1);
$env->setup_account(via => 'proxy');

{
    note 'kill -9 while the CA sits on the challenge answers; sign recovers';
    my @names = $env->names(3, 'hang-');
    $env->make_csr(cert => 'hung', names => \@names);
    $env->faults([{match => '^/chalZ/', kind => 'hang'}]);
    my $run = $env->ctl_bg('--cert', 'hung', 'sign');
    ok($run->wait_stderr(qr/published 3 challenges/, 30),
       'the sign published its challenges');
    ok(ExpAcme::Env::wait_for(sub { $env->requests_to(qr{^/chalZ/}) }, 10),
       'and is waiting for the CA');
    my @tokens = map { $_->{token} } @{$env->store_tokens};
    is(scalar @tokens, 3, 'its 3 tokens are published');
    my $signing = $env->slurp($env->state_dir . '/certs/hung/status.json');
    like($signing, qr/"signing"/, 'state records the sign in progress');
    my $st = $env->cert_status('hung');
    is($st->{state}, 'signing', 'status: state signing while it runs');
    is(scalar @{$env->store_tokens}, 3,
       'status leaves the tokens of a live sign alone');
    my $second = $env->ctl('--cert', 'hung', 'sign');
    exit_is($second, 1, 'a second sign of the same certificate: exit 1');
    stderr_like($second, qr/EXP\d{5}: busy/,
                'it says another expacmectl is working on it');
    is(scalar @{$env->store_tokens}, 3,
       'and leaves the running sign\'s tokens alone');
    # What only reads does not wait for the running sign.
    for my $cmd (['status'], ['token', 'list'], ['provider', 'list'],
                 ['--cert', 'hung', 'csr', 'show'], ['account', 'show']) {
        my $rd = $env->ctl('--json', @$cmd);
        ok($rd->{exit} == 0 && $rd->{elapsed} < 3,
           sprintf("'%s' during the sign: answers at once (exit %d, %.1fs)",
                   join(' ', @$cmd), $rd->{exit}, $rd->{elapsed}))
            or diag(ExpAcme::Env::explain($rd));
    }
    my $regen = $env->ctl('--cert', 'hung', 'csr', 'generate', '--cn',
                          $names[0]);
    exit_is($regen, 1, 'csr generate during the sign: exit 1 (busy)');
    ok($run->running, 'the first sign is still running');
    $run->kill('KILL');
    my $res = $run->wait(30);
    is($res->{signal}, 9, 'killed with SIGKILL');
    $env->faults([]);
    my $r = $env->ctl('--cert', 'hung', 'sign');
    exit_is($r, 0, 'the next sign succeeds');
    stderr_like($r, qr/withdrew the challenges of an interrupted sign/,
                'and says it withdrew the dead run\'s challenges');
    no_tokens($env);
    my %now = map { $_->{token} => 1 } @{$env->store_tokens};
    ok(!(grep { $now{$_} } @tokens), 'none of the old tokens remains');
    chain_ok($env, 'hung', \@names);
}

{
    note 'SIGTERM while the CA sits on the challenge answers';
    my @names = $env->names(2, 'term-');
    $env->make_csr(cert => 'termed', names => \@names);
    $env->faults([{match => '^/chalZ/', kind => 'hang'}]);
    my $run = $env->ctl_bg('--cert', 'termed', 'sign');
    ok($run->wait_stderr(qr/published 2 challenges/, 30),
       'the sign published its challenges');
    ExpAcme::Env::wait_for(sub { $env->requests_to(qr{^/chalZ/}) }, 10);
    $run->kill('TERM');
    my $res = $run->wait(15);
    ok(!$res->{timed_out}, sprintf('SIGTERM: the sign stops promptly '
                                   . '(%.1fs)', $res->{elapsed}));
    is($res->{exit}, 1, 'SIGTERM: exit 1');
    $env->faults([]);
    no_tokens($env, 'SIGTERM: the sign withdrew its own tokens');
    my $c = $env->cert_status('termed');
    is($c->{last_sign}{result}, 'interrupted',
       'SIGTERM: status last_sign.result interrupted');
}

done_testing;
