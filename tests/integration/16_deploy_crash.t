# kill -9 of deploy at every step (EXPACME_TEST_CRASH_AT=STEP makes the
# helper SIGKILL itself as the step starts), on a first deploy (live
# files still plain files) and on a later one (generations in place):
# right after the kill the pair on disk matches and httpd serves a
# certificate; then `status` (first pass) or `deploy` (second pass)
# rolls back: last_deploy.result "interrupted" naming the step, the
# previous pair live and served; and the next deploy succeeds.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(remove_tree);
use ExpAcme::Env;
use ExpAcme::Test;

my @steps = qw(verify backup write switch configtest graceful check-up
               check-served);

my $env = ExpAcme::Env->new(https => 1);
$env->setup_account;
my $root = $env->dir . '/live/.expacme-server';
my $state = $env->state_dir . '/certs/server';
my ($cert_file, $key_file) = ($env->live_cert, $env->live_key);
$env->make_csr(names => [$env->sni, $env->names(1, 'crash-')]);

# Back to plain files holding what is live now: the next deploy is a
# first deploy again.
sub plain_files {
    my ($c, $k) = ($env->slurp($cert_file), $env->slurp($key_file));
    unlink $cert_file, $key_file;
    remove_tree($root);
    $env->write_file($cert_file, $c, 0644);
    $env->write_file($key_file, $k, 0600);
}

for my $pass ('first deploy', 'later deploy') {
    for my $step (@steps) {
        my $label = "$pass, killed at $step";
        note $label;
        plain_files() if $pass eq 'first deploy';
        my $prev = $env->slurp($cert_file);
        my $r = $env->ctl('sign');
        exit_is($r, 0, "$label: sign") or next;
        my $new = $env->pending_pem;

        $r = $env->ctl({env => {EXPACME_TEST_CRASH_AT => $step}}, 'deploy');
        is($r->{signal}, 9, "$label: the helper died of SIGKILL")
            or diag(ExpAcme::Env::explain($r));
        like($r->{stderr}, qr/deploy server: \Q$step\E \(/,
             "$label: it had reached the step");

        # Before anything recovers.
        pair_ok($env, "$label: the pair on disk matches");
        my $served = ExpAcme::Env::pem_fingerprint($env->served_pem);
        ok(defined $served && (grep { $served eq $_ }
               map { ExpAcme::Env::pem_fingerprint($_) } $prev, $new),
           "$label: httpd serves the previous or the new certificate");
        ok($env->httpd_alive, "$label: httpd is running");
        like($env->slurp("$state/status.json"), qr/"deploying"/,
             "$label: the journal records the deploy in progress");

        if ($pass eq 'first deploy') {
            my $c = $env->cert_status;
            is($c->{last_deploy}{result}, 'interrupted',
               "$label: status: last_deploy.result interrupted");
            is($c->{last_deploy}{step}, $step,
               "$label: status: last_deploy.step $step");
            like($c->{last_deploy}{detail} // '', qr/killed at step \Q$step\E/,
                 "$label: status: the detail names the step");
            unlike($env->slurp("$state/status.json"), qr/"deploying"/,
                   "$label: the journal entry is gone");
            is($env->slurp($cert_file), $prev,
               "$label: status rolled back to the previous certificate");
            pair_ok($env, "$label: after the rollback the pair matches");
            served_is($env, $prev, "$label: httpd serves the previous certificate");
            ok(-e "$state/pending.pem", "$label: the new one is still pending");
            $r = $env->ctl('deploy');
            exit_is($r, 0, "$label: the next deploy succeeds");
            unlike($r->{stderr}, qr/rolled back first/,
                   "$label: (status had already rolled back)");
        } else {
            $r = $env->ctl('deploy');
            exit_is($r, 0, "$label: deploy rolls back, then deploys");
            stderr_like($r, qr/an interrupted deploy was rolled back first/,
                        "$label: deploy says it rolled back first");
        }
        served_is($env, $new, "$label: httpd serves the new certificate");
        pair_ok($env, "$label: the new pair matches");
        my @g = glob("$root/gen-*");
        ok(@g <= 2, "$label: at most two generations left (" . scalar(@g) . ')');
        is($env->cert_status->{state}, 'deployed', "$label: status deployed");
    }
}

{
    note 'kill -9 at a random moment of a deploy (first deploys, and later ones)';
    my ($killed, $bad) = (0, 0);
    for my $i (1 .. 12) {
        plain_files() if $i % 2;
        exit_is($env->ctl('sign'), 0, "random kill $i: sign") or next;
        my $run = $env->ctl_bg('deploy');
        # The whole deploy takes some tens of milliseconds here.
        select(undef, undef, undef, rand(0.08));
        $run->kill('KILL');
        my $res = $run->wait(30);
        $killed++ if $res->{signal} == 9;
        my ($ok, $why) = $env->live_pair_ok;
        $bad++, diag("random kill $i: $why") unless $ok;
        my $st = $env->cert_status;    # recovers
        ($ok, $why) = $env->live_pair_ok;
        $bad++, diag("random kill $i, after status: $why") unless $ok;
        my $live = $env->slurp($cert_file);
        served_is($env, $live, "random kill $i: httpd serves what is live")
            or $bad++;
        unlike($env->slurp("$state/status.json"), qr/"deploying"/,
               "random kill $i: no deploy left in the journal");
    }
    note "$killed of 12 deploys were killed before they finished";
    is($bad, 0, 'random kills: the pair on disk matched every time');
}

my $errlog = $env->slurp($env->dir . '/logs/error.log');
unlike($errlog, qr/AH02565|AH00060|AH00052/,
       'httpd logged no key mismatch and no child crash');

done_testing;
