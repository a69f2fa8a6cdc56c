# deploy, the happy path, against httpd with mod_ssl serving the live
# pair: sign, deploy, and the HTTPS listener presents the new leaf
# (openssl s_client -servername); status says deployed, nothing is
# pending; cert_file and key_file became symlinks through `current` into
# a generation, the key 0600; the first deploy kept the self-signed pair
# it found as the previous generation; later deploys keep at most two
# generations.  Nothing pending: exit 1 at step verify, nothing touched.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use Cwd qw(realpath);
use ExpAcme::Env;
use ExpAcme::Test;

my $env = ExpAcme::Env->new(https => 1);
$env->setup_account;
my $live = $env->dir . '/live';
my $root = "$live/.expacme-server";
my ($cert_file, $key_file) = ($env->live_cert, $env->live_key);

sub gens { sort map { s{.*/}{}r } glob("$root/gen-*") }

my $selfsigned = $env->slurp($cert_file);
my $selfsigned_key = $env->slurp($key_file);
served_is($env, $selfsigned, 'before: httpd serves the self-signed pair');

{
    note 'deploy with nothing pending';
    my $r = $env->ctl('--json', 'deploy');
    exit_is($r, 1, 'nothing pending: exit 1');
    json_error_like($r, qr/deploy failed at step verify: no pending certificate/,
                    'nothing pending: deploy failed at step verify');
    ok(!-l $cert_file && !-l $key_file && !-e $root,
       'nothing pending: the live files were not touched');
    is($env->slurp($cert_file), $selfsigned, 'nothing pending: cert_file as it was');
    my $c = $env->cert_status;
    is($c->{last_deploy}{result}, 'failure', 'status: last_deploy.result failure');
    is($c->{last_deploy}{step}, 'verify', 'status: last_deploy.step verify');
}

my @names = ($env->sni, $env->names(1, 'dep-'));
$env->make_csr(names => \@names);

my @deployed;    # the chains deployed, in order
for my $round (1 .. 3) {
    note "deploy $round";
    sign_ok($env, "sign $round");
    my $pem = chain_ok($env, 'server', \@names, "round $round");
    my $serial = ExpAcme::Env::cert_serial_hex($pem);
    if ($round == 3) {
        # The name deploy asks the listener for, by default: the
        # certificate's first name.
        $env->set_config(cert => {server => {sni => undef}});
    }
    my $r = $env->ctl('--json', 'deploy');
    exit_is($r, 0, "deploy $round: exit 0");
    my $j = $r->{json} || {};
    is($j->{state}, 'deployed', "deploy $round --json: state deployed");
    like($j->{generation} // '', qr/^gen-\d+$/, "deploy $round --json: generation");
    served_is($env, $pem, "deploy $round: httpd serves the new leaf");
    push @deployed, $pem;

    ok(-l $cert_file, "deploy $round: cert_file is a symlink");
    ok(-l $key_file, "deploy $round: key_file is a symlink");
    is(readlink($cert_file), "$root/current/cert.pem",
       "deploy $round: cert_file -> .expacme-server/current/cert.pem");
    is(readlink($key_file), "$root/current/key.pem",
       "deploy $round: key_file -> .expacme-server/current/key.pem");
    my $current = readlink("$root/current") // '';
    is($current, $j->{generation}, "deploy $round: current -> the new generation");
    ok(-d "$root/$current", "deploy $round: the generation exists");
    is((stat $key_file)[2] & 07777, 0600, "deploy $round: the key is 0600");
    is((lstat "$root/$current/key.pem")[2] & 07777, 0600,
       "deploy $round: key.pem in the generation is 0600");
    is($env->slurp($cert_file), $pem,
       "deploy $round: cert_file holds the pending chain byte for byte");
    is($env->slurp($key_file),
       $env->slurp($env->state_dir . '/certs/server/key.pem'),
       "deploy $round: key_file holds the CSR's key");
    pair_ok($env, "deploy $round: the live pair matches");

    my @g = gens();
    if ($round == 1) {
        is(scalar @g, 2, 'first deploy: two generations (the adopted pair '
           . 'and the new one)') or diag("@g");
        my ($old) = grep { $_ ne $current } @g;
        is($env->slurp("$root/$old/cert.pem"), $selfsigned,
           'first deploy: the adopted generation holds the self-signed '
           . 'certificate it found');
        is($env->slurp("$root/$old/key.pem"), $selfsigned_key,
           'first deploy: ... and its key');
    } else {
        ok(@g <= 2, "deploy $round: at most two generations kept (@g)");
        ok((grep { $_ eq $current } @g), "deploy $round: current is kept");
        my $prev = $deployed[-2];
        ok((grep { $env->slurp("$root/$_/cert.pem") eq $prev } @g),
           "deploy $round: the previous generation is kept for a rollback");
        ok(!(grep { $env->slurp("$root/$_/cert.pem") eq $selfsigned } @g),
           "deploy $round: older generations are pruned");
    }

    my $c = $env->cert_status;
    is($c->{state}, 'deployed', "deploy $round: status state deployed");
    ok(!$c->{pending}, "deploy $round: status shows nothing pending");
    is(lc($c->{deployed}{serial} // ''), $serial,
       "deploy $round: status deployed.serial is the new one");
    is(lc($c->{deployed}{sha256} // '') =~ s/://gr,
       ExpAcme::Env::pem_fingerprint($pem),
       "deploy $round: status deployed.sha256");
    is($c->{last_deploy}{result}, 'success', "deploy $round: last_deploy success");
    ok(!-e $env->state_dir . '/certs/server/pending.pem'
       && !-e $env->state_dir . '/certs/server/pending.json',
       "deploy $round: pending.pem and pending.json are gone");
    exit_is($env->ctl('pending', 'show'), 1,
            "deploy $round: pending show: nothing pending");
    my $fc = $env->status_file_cert('server');
    is($fc && $fc->{state}, 'deployed',
       "deploy $round: the status file (status page) says deployed");
}

isnt(ExpAcme::Env::pem_fingerprint($deployed[0]),
     ExpAcme::Env::pem_fingerprint($deployed[1]),
     'each deploy served another certificate');
ok($env->httpd_alive, 'httpd (never restarted) is still running');
my $errlog = $env->slurp($env->dir . '/logs/error.log');
unlike($errlog, qr/AH02565|AH02238|AH00060/,
       'httpd logged no certificate/key mismatch and no child crash');

done_testing;
