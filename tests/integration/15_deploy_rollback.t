# deploy failures roll back: a pending certificate whose key is not the
# stored key, or whose chain does not link, is refused at step verify
# before anything live is touched (on a first deploy the live files stay
# the very files they were, not even symlinks); a read-only target
# directory fails cleanly (backup on a first deploy, write later); a
# configtest failure, a failing graceful, a listener that is not there
# (check-up) and a listener that keeps the old certificate (check-served)
# each put the previous pair back: exit 1, "deploy failed at step STEP",
# status last_deploy {failure, STEP}, the live pair is the previous one
# and matches, httpd still serves the previous certificate, and the
# pending certificate stays pending for the next try.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(https => 1);
$env->setup_account;
my $live = $env->dir . '/live';
my $root = "$live/.expacme-server";
my $state = $env->state_dir . '/certs/server';
my ($cert_file, $key_file) = ($env->live_cert, $env->live_key);
my @names = ($env->sni, $env->names(1, 'rb-'));
$env->make_csr(names => \@names);

# A failed deploy: exit 1 at STEP, and everything as it was before.
sub failed_at {
    my ($r, $step, $label, %o) = @_;
    exit_is($r, 1, "$label: exit 1");
    stderr_like($r, qr/EXP\d{5}: deploy failed at step \Q$step\E: /,
                "$label: deploy failed at step $step");
    my $c = $env->cert_status;
    is($c->{last_deploy}{result}, 'failure', "$label: last_deploy.result failure");
    is($c->{last_deploy}{step}, $step, "$label: last_deploy.step $step");
    is($env->slurp($cert_file), $o{cert}, "$label: cert_file is the previous one");
    is($env->slurp($key_file), $o{key}, "$label: key_file is the previous one");
    pair_ok($env, "$label: the live pair matches");
    served_is($env, $o{cert}, "$label: httpd still serves the previous certificate");
    ok($env->httpd_alive, "$label: httpd is running");
    ok(-e "$state/pending.pem", "$label: the certificate is still pending");
    return $c;
}

my %selfsigned = (cert => $env->slurp($cert_file), key => $env->slurp($key_file));
my @lstat_before = map { [(lstat $_)[1, 2, 9]] } $cert_file, $key_file;

sub untouched {
    my ($label) = @_;
    ok(!-l $cert_file && !-l $key_file,
       "$label: cert_file and key_file are still plain files");
    is_deeply([map { [(lstat $_)[1, 2, 9]] } $cert_file, $key_file],
              \@lstat_before, "$label: same inodes, modes and mtimes");
    ok(!-e $root, "$label: no generations directory was made");
}

sign_ok($env, 'sign the first certificate');
my $p1 = $env->pending_pem;

{
    note 'the stored key does not match the pending certificate';
    my $good = $env->slurp("$state/key.pem");
    ExpAcme::Env::run_quiet('openssl', 'genpkey', '-algorithm', 'EC',
                            '-pkeyopt', 'ec_paramgen_curve:P-256',
                            '-out', "$state/key.pem");
    chmod 0600, "$state/key.pem";
    my $r = $env->ctl('deploy');
    failed_at($r, 'verify', 'key mismatch', %selfsigned);
    stderr_like($r, qr/not for this key/, 'key mismatch: the error says so');
    untouched('key mismatch');
    $env->write_file("$state/key.pem", $good, 0600);
}

{
    note 'the pending chain does not link (a foreign "intermediate")';
    my @certs = ExpAcme::Env::split_pem($p1);
    $env->write_file("$state/pending.pem", $certs[0] . $selfsigned{cert});
    my $r = $env->ctl('deploy');
    failed_at($r, 'verify', 'chain that does not link', %selfsigned);
    untouched('chain that does not link');
    $env->write_file("$state/pending.pem", $p1);
}

# A read-only directory for cert_file, even for root: a read-only bind
# mount in a mount namespace of the helper's own (unshare -m), else the
# immutable attribute (chattr +i).
my $ro_script = 'd=$1; shift; mount --bind "$d" "$d" && '
    . 'mount -o remount,bind,ro "$d" && exec "$@"';
my @ro_wrap = ('unshare', '-m', '--propagation', 'private', 'sh', '-c',
               $ro_script, 'sh', $live);
my $ro_how;
{
    my $probe = system('unshare', '-m', '--propagation', 'private', 'sh',
                       '-c', $ro_script, 'sh', $live, 'sh', '-c',
                       "touch $live/.probe 2>/dev/null") >> 8;
    unlink "$live/.probe";
    if ($probe == 1) {
        $ro_how = 'mount';
    } elsif (system("chattr +i $live 2>/dev/null") == 0) {
        my $writable = open(my $fh, '>', "$live/.probe");
        system("chattr -i $live");
        unlink "$live/.probe";
        $ro_how = 'chattr' unless $writable;
    }
    note "read-only directory by: " . ($ro_how // 'nothing available');
}

# Runs deploy with cert_file's directory (and below) read-only.
sub deploy_readonly {
    if ($ro_how eq 'mount') {
        return $env->ctl({wrap => \@ro_wrap}, 'deploy');
    }
    my @dirs = grep { -d } ($live, $root, glob("$root/gen-*"));
    system('chattr', '+i', @dirs);
    my $r = eval { $env->ctl('deploy') };
    system('chattr', '-i', @dirs);
    die $@ unless $r;
    return $r;
}

SKIP: {
    skip 'neither a read-only bind mount nor chattr +i works here', 14
        unless $ro_how;
    note "first deploy into a read-only directory ($ro_how)";
    my $r = deploy_readonly();
    failed_at($r, 'backup', 'read-only directory, first deploy', %selfsigned);
    stderr_like($r, qr/Read-only file system|Operation not permitted/,
                'read-only, first deploy: the error names the cause');
    untouched('read-only, first deploy');
}

my $r = $env->ctl('deploy');
exit_is($r, 0, 'the first deploy succeeds once all is well');
served_is($env, $p1, 'httpd serves the first certificate');
my %d1 = (cert => $p1, key => $env->slurp("$state/key.pem"));

sign_ok($env, 'sign the second certificate');
my $p2 = $env->pending_pem;

SKIP: {
    skip 'neither a read-only bind mount nor chattr +i works here', 12
        unless $ro_how;
    note "deploy into a read-only directory ($ro_how)";
    my @gens = glob("$root/gen-*");
    my $current = readlink("$root/current");
    my $r = deploy_readonly();
    failed_at($r, 'write', 'read-only directory', %d1);
    is(readlink("$root/current"), $current, 'read-only: current unchanged');
    is_deeply([glob("$root/gen-*")], \@gens, 'read-only: no generation added');
}

{
    note 'configtest fails: a broken file in the included directory';
    my $broken = $env->include_dir . '/broken.conf';
    $env->write_file($broken, "ThisIsNotAnApacheDirective on\n");
    my $current = readlink("$root/current");
    my $r = $env->ctl('deploy');
    failed_at($r, 'configtest', 'configtest failure', %d1);
    stderr_like($r, qr/ThisIsNotAnApacheDirective|Invalid command/,
                'configtest failure: httpd\'s complaint is in the error');
    is(readlink("$root/current"), $current, 'configtest failure: current switched back');
    unlink $broken;
}

{
    note 'graceful fails (graceful_command = /bin/false)';
    $env->set_config(graceful_command => '/bin/false');
    my $r = $env->ctl('deploy');
    my $c = failed_at($r, 'graceful', 'graceful failure', %d1);
    like($c->{last_deploy}{detail} // '', qr{/bin/false}, 'graceful failure: the detail names the command');
    stderr_like($r, qr/previous pair restored/,
                'graceful failure: says the previous pair was restored');
    $env->reset_config('graceful_command');
}

{
    note 'httpd never serves the new certificate (graceful_command = /bin/true)';
    $env->set_config(graceful_command => '/bin/true', deploy_timeout => 2);
    my $r = $env->ctl('deploy');
    failed_at($r, 'check-served', 'old certificate still served', %d1);
    stderr_like($r, qr/does not present the new certificate/,
                'check-served: the error says what was seen');
    cmp_ok($r->{elapsed}, '<', 10, sprintf('check-served: gave up after '
           . 'deploy_timeout (%.1fs)', $r->{elapsed}));
    $env->reset_config('graceful_command', 'deploy_timeout');
}

{
    note 'nothing listens on https_address after the graceful (check-up)';
    my $closed = ExpAcme::Env::free_port();
    $env->set_config(https_address => "127.0.0.1:$closed", deploy_timeout => 2);
    my $r = $env->ctl('deploy');
    failed_at($r, 'check-up', 'no listener', %d1);
    stderr_like($r, qr/not listening on 127\.0\.0\.1:$closed/,
                'check-up: the error names the address');
    $env->reset_config('https_address', 'deploy_timeout');
}

{
    note 'and after all that, the same pending certificate deploys';
    my $r = $env->ctl('deploy');
    exit_is($r, 0, 'deploy succeeds');
    served_is($env, $p2, 'httpd serves the second certificate');
    pair_ok($env, 'the live pair matches');
    my @g = glob("$root/gen-*");
    ok(@g <= 2, 'failed deploys left no generations behind (' . scalar(@g) . ')');
    is($env->cert_status->{last_deploy}{result}, 'success', 'last_deploy success');
}

my $errlog = $env->slurp($env->dir . '/logs/error.log');
unlike($errlog, qr/AH02565|AH00060|AH00052/,
       'httpd logged no key mismatch and no child crash');

done_testing;
