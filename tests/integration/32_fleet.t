# A fleet: the server certificate and name-based HTTPS virtual hosts,
# each its own managed certificate.  One `renew --now` runs their orders
# concurrently (every newOrder is held 2 s by the fault proxy: in
# sequence they would be at least 2 s apart, concurrent they all arrive
# within that) and deploys all of them with ONE configtest and ONE
# graceful (counted by wrappers around the real commands); each vhost
# then serves its own new certificate (openssl s_client -servername).
# One name is on Pebble's domainBlocklist: that certificate fails alone,
# status names it and why, its vhost keeps its certificate.
# Then a kill -9 in the middle of a concurrent run, once while orders
# are open and once at the batch's graceful: the next run withdraws
# every token and rolls every journal back; nothing is lost.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use ExpAcme::Env;
use ExpAcme::Test;

my $blocked_domain = 'fleet-blocked.example.test';
my $env = ExpAcme::Env->new(https => 1, proxy => 1,
                            pebble_conf => {domainBlocklist => [$blocked_domain]});
$env->setup_account(via => 'proxy');
my $d = $env->dir;
my $tag = $env->tag;

my @sites = map { "site$_" } 1 .. 5;
my %sni = map { $_ => "$_.$tag.example.test" } @sites;
push @sites, 'blocked';
$sni{blocked} = "shop.$blocked_domain";

# Each vhost starts with a self-signed pair of its own.
for my $s (@sites) {
    ExpAcme::Env::run_quiet('openssl', 'req', '-x509', '-newkey', 'ec',
        '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', "$d/live/$s.key", '-out', "$d/live/$s.pem", '-days', '2',
        '-subj', "/CN=$sni{$s}", '-addext', "subjectAltName=DNS:$sni{$s}");
    chmod 0600, "$d/live/$s.key";
}
my $port = $env->https_port;
$env->write_file($env->include_dir . '/sites.conf', join '', map { <<"VH" } @sites);
<VirtualHost 127.0.0.1:$port>
    ServerName $sni{$_}
    SSLEngine on
    SSLCertificateFile $d/live/$_.pem
    SSLCertificateKeyFile $d/live/$_.key
</VirtualHost>
VH

# Wrappers that count, then run the real commands.
my $apache = "$ExpAcme::Env::APACHE -f $d/httpd.conf";
for my $verb (qw(configtest graceful)) {
    my $flag = $verb eq 'graceful' ? '-k graceful' : '-t';
    $env->write_file("$d/$verb.sh",
                     "#!/bin/sh\necho $verb >> $d/reloads.log\nexec $apache $flag\n", 0755);
}
is(system("$apache -k graceful"), 0, 'httpd reloaded with the vhosts');
my %before;
for my $s (@sites) {
    my $self = $env->slurp("$d/live/$s.pem");
    served_is_sni($s, $self, "before: $s serves its self-signed pair");
    $before{$s} = $self;
}

$env->set_config(
    configtest_command => "$d/configtest.sh",
    graceful_command => "$d/graceful.sh",
    cert => {map { $_ => {cert_file => "$d/live/$_.pem",
                          key_file => "$d/live/$_.key", sni => $sni{$_}} } @sites});
$env->make_csr(names => [$env->sni]);
$env->make_csr(cert => $_, names => [$sni{$_}]) for @sites;

sub served_is_sni {
    my ($site, $pem, $label) = @_;
    my $want = ExpAcme::Env::pem_fingerprint($pem) // 'none';
    my $got;
    ExpAcme::Env::wait_for(sub {
        $got = ExpAcme::Env::pem_fingerprint($env->served_pem($sni{$site}))
            // 'none';
        return $got eq $want;
    }, 10, 0.05);
    return is($got, $want, $label);
}

sub reloads {
    my @l = split /\n/, $env->slurp("$d/reloads.log");
    unlink "$d/reloads.log";
    return (scalar(grep { $_ eq 'configtest' } @l),
            scalar(grep { $_ eq 'graceful' } @l));
}

sub new_orders {
    return grep { $_->{method} eq 'POST' && $_->{path} =~ m{^/order-plz} }
        @{$env->proxy_requests};
}

my @all = ('server', @sites);

# A moment at which every deployed certificate is due for renewal.
sub all_due {
    my $st = $env->status;
    my @due = map { $_->{deployed}{renewal_due_epoch} // 0 } @{$st->{certificates} || []};
    my ($max) = sort { $b <=> $a } @due;
    return ($max // time) + 60;
}
{
    note 'renew --now: every order at once, one graceful for all';
    $env->proxy_reset;
    $env->faults([{match => '^/order-plz', method => 'POST', kind => 'delay',
                   seconds => 2}]);
    my $r = $env->ctl('--json', 'renew', '--now');
    exit_is($r, 1, 'one certificate failed: exit 1');
    for my $c (grep { $_ ne 'blocked' } @all) {
        my $e = renew_entry($r, $c);
        is($e->{action}, 'sign', "$c: signed");
        is($e->{result}, 'success', "$c: success") or diag(ExpAcme::Env::explain($r));
        is($e->{deploy}, 'success', "$c: deployed in the same run");
    }
    my $blk = renew_entry($r, 'blocked');
    is($blk->{result}, 'failure', 'blocked: failure');
    like($blk->{error} // '', qr/rejectedIdentifier/, 'blocked: the CA refused the name');
    ok(!defined $blk->{deploy}, 'blocked: nothing to deploy');

    # The first newOrder of each certificate (a badNonce retry comes later).
    my %first;
    for my $o (new_orders()) {
        my $id = join ',', map { $_->{value} } @{($o->{payload} || {})->{identifiers} || []};
        $first{$id} = $o->{time} unless defined $first{$id} && $first{$id} <= $o->{time};
    }
    is(scalar keys %first, scalar @all, 'a newOrder for every certificate');
    my @t = sort { $a <=> $b } values %first;
    my $spread = @t ? $t[-1] - $t[0] : 99;
    ok($spread < 1.9, sprintf('the orders ran concurrently: all newOrders within %.2f s '
                              . '(each held 2 s)', $spread));
    my ($tests, $gracefuls) = reloads();
    is($tests, 1, 'one configtest for the batch');
    is($gracefuls, 1, 'one graceful for the batch');

    for my $c (grep { $_ ne 'blocked' } @sites) {
        my $live = $env->slurp("$d/live/$c.pem");
        isnt(ExpAcme::Env::pem_fingerprint($live), ExpAcme::Env::pem_fingerprint($before{$c}),
             "$c: a new certificate is live");
        served_is_sni($c, $live, "$c: served with SNI $sni{$c}");
    }
    served_is($env, $env->slurp($env->live_cert), 'server: served');
    served_is_sni('blocked', $before{blocked}, 'blocked: its vhost keeps its certificate');

    my $st = $env->status;
    my %by = map { $_->{name} => $_ } @{$st->{certificates} || []};
    is(scalar(grep { $by{$_} } @all), scalar @all, 'status lists every certificate');
    is($by{$_}{state}, 'deployed', "status: $_ deployed") for grep { $_ ne 'blocked' } @all;
    is($by{blocked}{last_sign}{result}, 'failure', 'status: blocked, last sign failed');
    like($by{blocked}{last_sign}{detail} // '', qr/rejectedIdentifier/,
         'status: and why');
    no_tokens($env, 'no token left');
}

{
    note 'kill -9 while the orders are open';
    # Every challenge answer is held, so the run is killed with every
    # order's tokens published.
    $env->faults([{match => '^/chalZ?', method => 'POST', kind => 'delay', seconds => 30}]);
    my $far = all_due();
    my $run = $env->ctl_bg({env => {EXPACME_TEST_NOW => $far}}, 'renew', '--now');
    ok(ExpAcme::Env::wait_for(sub {
        my @p = grep { /published \d+ challenge/ } split /\n/, $run->stderr;
        return @p >= 3;
    }, 30, 0.05), 'several orders published their challenges');
    $run->kill('KILL');
    $run->wait;
    ok(@{$env->store_tokens} >= 3, 'the killed run left tokens behind');
    $env->faults([]);
    my $st = $env->status;
    no_tokens($env, 'the next status withdrew every token');
    my %by = map { $_->{name} => $_ } @{$st->{certificates} || []};
    my @interrupted = grep { ($by{$_}{last_sign}{result} // '') eq 'interrupted' } @all;
    ok(@interrupted >= 3, scalar(@interrupted) . ' certificates say their sign was interrupted');
    served_is_sni($_, $env->slurp("$d/live/$_.pem"), "$_: still serves its certificate")
        for grep { $_ ne 'blocked' } @sites;
}

{
    note 'kill -9 at the batch graceful';
    my $far = all_due();
    my %live = map { $_ => $env->slurp("$d/live/$_.pem") } grep { $_ ne 'blocked' } @sites;
    my $r = $env->ctl({env => {EXPACME_TEST_NOW => $far, EXPACME_TEST_CRASH_AT => 'graceful'}},
                      'renew', '--now');
    is($r->{signal} // 0, 9, 'the run was killed at the graceful') or diag(ExpAcme::Env::explain($r));
    reloads();
    my $st = $env->status;
    reloads();    # the recovery's own reload
    my %by = map { $_->{name} => $_ } @{$st->{certificates} || []};
    for my $c (sort keys %live) {
        is($by{$c}{last_deploy}{result}, 'interrupted', "$c: deploy interrupted, rolled back");
        is($env->slurp("$d/live/$c.pem"), $live{$c}, "$c: the previous certificate is live");
        served_is_sni($c, $live{$c}, "$c: and served");
        is($by{$c}{state}, 'pending', "$c: the new one is still pending");
    }
    no_tokens($env, 'no token left');
    my $again = $env->ctl('--json', 'renew', '--now');
    is(renew_entry($again, 'site1')->{action}, 'deploy', 'the next renew --now deploys the pending ones');
    my ($tests, $gracefuls) = reloads();
    is($gracefuls, 1, 'in one graceful');
    served_is_sni('site1', $env->slurp("$d/live/site1.pem"), 'site1: the new certificate is served');
}

done_testing;
