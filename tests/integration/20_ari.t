# ACME Renewal Information (RFC 9773) through the fault proxy, which
# adds renewalInfo to Pebble's directory and answers
# GET renewalInfo/<certID> with a suggestedWindow and Retry-After of the
# test's choosing.  renew asks with the RFC 9773 certID (base64url of
# the AKI keyIdentifier "." base64url of the serial's DER content),
# keeps a random moment inside the window, uses it when it is earlier
# than 2/3 (and signs then), does not ask again before Retry-After, sends
# "replaces": <certID> on the new order; a window later than 2/3 is not
# used; an ARI error leaves renewal at 2/3.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp ();
use MIME::Base64 qw(encode_base64url);
use POSIX qw(strftime);
use ExpAcme::Env;
use ExpAcme::Test;

$ENV{TZ} = 'UTC';
my $env = ExpAcme::Env->new(https => 1, proxy => 1);
$env->setup_account(via => 'proxy');
my $state = $env->state_dir . '/certs/server';
$env->make_csr(names => [$env->sni, $env->names(1, 'ari-')]);
exit_is($env->ctl('schedule', '--auto', 'on', '--time', '03:00'), 0,
        'schedule --auto on');

sub renew_at {
    my ($t) = @_;
    my $r = $env->ctl({env => {EXPACME_TEST_NOW => $t}}, '--json', 'renew');
    return (renew_entry($r), $r);
}
sub schedule_json { $env->json->decode($env->slurp("$state/schedule.json") || '{}') }
sub rfc3339 { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime($_[0])) }
sub ari_asked { grep { $_->{method} eq 'GET' } $env->requests_to(qr{^/renewalInfo/}) }

# The RFC 9773 certID of a PEM leaf, computed here with openssl.
sub cert_id {
    my ($pem) = @_;
    my $f = File::Temp->new(SUFFIX => '.pem');
    print $f $pem;
    close $f;
    my $aki = `openssl x509 -noout -ext authorityKeyIdentifier -in $f 2>&1`;
    my ($hex) = $aki =~ /Identifier:\s*\n\s*(?:keyid:)?([0-9A-Fa-f:]+)/;
    my ($serial) = `openssl x509 -noout -serial -in $f` =~ /serial=([0-9A-F]+)/;
    return undef unless $hex && $serial;
    $serial = "0$serial" if length($serial) % 2;
    $serial = "00$serial" if hex(substr($serial, 0, 1)) >= 8;
    return encode_base64url(pack('H*', $hex =~ s/://gr)) . '.'
        . encode_base64url(pack('H*', $serial));
}

sign_ok($env, 'sign');
deploy_ok($env, 'deploy');
my $c = $env->cert_status;
my ($nb, $na, $due) = @{$c->{deployed}}{qw(not_before_epoch not_after_epoch renewal_due_epoch)};
my $life = $na - $nb;
my $id = cert_id($env->slurp($env->live_cert));
like($id // '', qr/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, "the certID ($id)");

my ($start, $end) = ($nb + int($life / 3), $nb + int($life / 3) + 86400);
$env->ari({start => rfc3339($start), end => rfc3339($end), retry_after => 21600});
my $dir = $env->https->get($env->proxy_url);
like($dir->{content}, qr/"renewalInfo"/, 'the proxy\'s directory offers renewalInfo');

my $t0 = $start - 8 * 3600;    # both ARI checks (Retry-After 6 h) before the window
my ($e, $r) = renew_at($t0);
my @asked = ari_asked();
is(scalar @asked, 1, 'renew asked for renewalInfo once') or diag(ExpAcme::Env::explain($r));
is($asked[0] && $asked[0]{path}, "/renewalInfo/$id",
   'GET renewalInfo/<certID>: base64url(AKI keyIdentifier) "." base64url(serial)');
is($e->{action}, 'none', 'before the window: nothing');
my $s = schedule_json();
my $pick = $s->{ari_time} // 0;
ok($pick >= $start && $pick <= $end, 'a moment inside the suggested window is kept')
    or diag(explain($s));
is($e->{renewal_due_epoch}, $pick, 'renew: renewal_due is that moment (earlier than 2/3)');
cmp_ok($pick, '<', $due, '(which is earlier than 2/3)');
is($s->{ari_next_check}, $t0 + 21600, 'the next ARI check waits for Retry-After');
my $st = $env->cert_status('server', {env => {EXPACME_TEST_NOW => $t0}});
is($st->{ari}{start_epoch}, $start, 'status --json: the ARI window starts');
is($st->{ari}{end_epoch}, $end, 'status --json: and ends');
is($st->{ari}{time_epoch}, $pick, 'status --json: the moment chosen in it');
my $text = $env->ctl({env => {EXPACME_TEST_NOW => $t0}}, 'status')->{stdout};
like($text, qr/^  ARI window +\S+ \S+ UTC to \S+ \S+ UTC$/m, 'status text: the ARI window');
like($text, qr/^  ARI time +\S+ \S+ UTC$/m, 'status text: the ARI time');

renew_at($t0 + 60);
is(scalar(ari_asked()), 1, 'a minute later: no new renewalInfo request (Retry-After)');
($e) = renew_at($t0 + 21600);
is(scalar(ari_asked()), 2, 'after Retry-After: asked again');
is(schedule_json()->{ari_time}, $pick, 'same window: the same moment is kept');

my $orders = () = $env->requests_to(qr{^/order-plz});
($e, $r) = renew_at($pick);
is($e->{action}, 'sign', 'at the moment inside the ARI window: renewal signs')
    or diag(ExpAcme::Env::explain($r));
if (($e->{action} // '') ne 'sign') {
    my ($next) = sort { $a <=> $b } @{schedule_json()->{resubmit} || []};
    diag("ARI window not used: renew waits for a resubmission time "
         . sprintf('%.1f days later, after 2/3', (($next // 0) - $pick) / 86400));
    ($e, $r) = renew_at($next // $due);
    is($e->{action}, 'sign', '(the renewal signs at the resubmission time)');
}
is($e->{result}, 'success', 'the renewal succeeded') or diag(ExpAcme::Env::explain($r));
my @all = $env->requests_to(qr{^/order-plz});
my ($order) = grep { $_->{method} eq 'POST' } @all[$orders .. $#all];
is($order && $order->{payload}{replaces}, $id, 'newOrder carried "replaces": <certID>')
    or diag(explain($order));
ok(!defined schedule_json()->{ari_time}, 'the spent ARI window is forgotten');

{
    note 'a window later than 2/3 is not used';
    exit_is($env->ctl('deploy'), 0, 'deploy the renewed certificate');
    $c = $env->cert_status;
    my ($nb2, $due2) = @{$c->{deployed}}{qw(not_before_epoch renewal_due_epoch)};
    $env->ari({start => rfc3339($due2 + 10 * 86400),
               end => rfc3339($due2 + 11 * 86400), retry_after => 60});
    my $n = scalar ari_asked();
    ($e) = renew_at($due2 - 60);
    is(scalar(ari_asked()), $n + 1, 'renew asked for the new certificate\'s window');
    is($e->{renewal_due_epoch}, $due2, 'renewal stays due at 2/3');
    is($e->{action}, 'none', 'nothing to do yet');

    note 'renewalInfo fails';
    $env->ari({start => rfc3339($due2 - 86400), end => rfc3339($due2),
               status => 500, retry_after => 60});
    $env->write_file("$state/schedule.json", $env->json->encode(
        {%{schedule_json()}, ari_next_check => 0}));
    my $r2;
    ($e, $r2) = renew_at($due2 - 3 * 86400);
    exit_is($r2, 0, 'an ARI error does not fail renew');
    is(scalar(ari_asked()), $n + 2, 'renew asked');
    is($e->{renewal_due_epoch}, $due2,
       'renewal stays due at 2/3 (the failed answer\'s window is not used)');
}

done_testing;
