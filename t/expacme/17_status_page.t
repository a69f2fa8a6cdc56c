# The status page as an administrator sees it: a real browser (headless
# Chromium) loads it from this httpd, keeps screenshots (a desktop and a
# phone-sized window) with the test logs, and the rendered document shows
# every certificate's names, state, dates in words with their time zone,
# Last Sign / Last Deploy Status, warnings apart; a CA detail holding
# markup is text, not markup; no JSON, no epoch number, no script.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use POSIX qw(strftime);
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

plan tests => 30, need_module 'expacme';

my $now = time;
my $day = 86400;
my %t = (
    generated => $now - 120,
    nb => $now - 30 * $day, na => $now + 60 * $day + 3600, due => $now + 30 * $day + 3600,
    r1 => $now + 29 * $day + 3600, r2 => $now + 30 * $day + 7200,
    slot => $now + 31 * $day, sign => $now - 30 * $day + 60,
    deploy => $now - 30 * $day + 600, fail => $now - 3600,
    pnb => $now - 600, pna => $now + 7 * $day,
    aris => $now + 20 * $day, arie => $now + 22 * $day, arit => $now + 21 * $day,
);
my $detail = 'urn:ietf:params:acme:error:rejectedIdentifier: '
    . '<b>bold</b> <img src=x onerror=alert(1)> & "quotes"';
my $flat = join "\n",
    'expacme-status 1',
    "generated $t{generated}",
    'cert server',
    'state deployed', 'automated on',
    'name www.example.org', 'name example.org', 'key_type ec256',
    'provider letsencrypt',
    'account https://acme-v02.api.letsencrypt.org/acme/acct/123456789012345678',
    'deployed.issuer CN=R11,O=Let\'s Encrypt,C=US',
    'deployed.serial 03A1B2C3D4E5F60718293A4B5C6D7E8F9A0B',
    "deployed.not_before $t{nb}", "deployed.not_after $t{na}",
    "deployed.renewal_due $t{due}",
    'deployed.renewal_rule two-thirds of the lifetime',
    "resubmit $t{r1}", "resubmit $t{r2}",
    "ari_start $t{aris}", "ari_end $t{arie}", "ari_time $t{arit}",
    "next_deploy_slot $t{slot}", 'deploy_days mon,wed,fri', 'deploy_time 04:30',
    'last_sign.result success', "last_sign.time $t{sign}",
    'last_sign.detail signed by letsencrypt',
    'last_deploy.result success', "last_deploy.time $t{deploy}",
    'last_deploy.detail new certificate served on 127.0.0.1:443',
    'cert shop.example.net',
    'state pending', 'automated off', 'name shop.example.net',
    'key_type rsa2048', 'key_type ec256',
    'pending.issuer CN=Example Internal CA',
    "pending.not_before $t{pnb}", "pending.not_after $t{pna}",
    "pending.renewal_due " . ($t{pnb} + int(($t{pna} - $t{pnb}) / 2)),
    'last_sign.result failure', "last_sign.time $t{fail}",
    "last_sign.detail $detail",
    'warning two-thirds of the deployed certificate\'s lifetime has elapsed: sign and deploy a new one',
    "warning control\x01chars\x7fgone",
    'unknown.key is ignored',
    "deployed.not_after not-a-time",
    'end', '';

make_path(store_path(), { mode => 0755 });
my $json = store_path() . '/status.json';
my $flat_file = store_path() . '/status.flat';
for ([$flat_file, $flat], [$json, '{"certificates":[]}']) {
    my ($path, $text) = @$_;
    open my $fh, '>', "$path.tmp" or die "$path.tmp: $!";
    print {$fh} $text;
    close $fh;
    chmod 0644, "$path.tmp";
    rename "$path.tmp", $path or die "rename: $!";
}

# ------------------------------------------------------------ over HTTP
my $r = req('expacme_status', 'GET', '/expacme-status');
is($r->{status}, 200, 'page: 200');
my $html = $r->{body};
ok($html !~ /<script/i, 'page: no script');
ok($html !~ /<img/i && $html =~ /&lt;img src=x/, 'page: markup in a CA detail escaped');
my @epochs = grep { index($html, $_) >= 0 } values %t;
ok(!@epochs, 'page: no epoch number anywhere') or diag "found @epochs";
ok($html !~ /\{"|"certificates"/, 'page: no raw JSON');
like($html, qr/<meta name="viewport"/, 'page: a viewport for narrow screens');
like($r->{header}->('Content-Security-Policy') // '', qr/default-src 'none'/,
     'page: a policy that allows no script');
ok($html !~ /control\x01|\x7f/, 'page: control characters scrubbed');

# ------------------------------------------------------------ in a browser
my $chromium = (grep { -x } qw(/usr/bin/chromium /usr/bin/chromium-browser))[0];
ok($chromium, 'Chromium is installed (tools/deps)')
    or BAIL_OUT('no chromium: run tools/deps');
my $logs = $ENV{EXPACME_TEST_LOGS} || Apache::Test::vars('t_logs');
my $url = 'http://127.0.0.1:' . vhost_port('expacme_status') . '/expacme-status';

# chromium ARGS...: its stdout; every run in a fresh profile, nothing
# fetched from anywhere but this server.
sub chromium {
    my @args = @_;
    my $home = tempdir(CLEANUP => 1);
    my @cmd = ('timeout', '90', $chromium, '--headless', '--no-sandbox',
               '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update',
               '--disable-sync', '--hide-scrollbars',
               "--user-data-dir=$home/profile", @args, $url);
    local $ENV{HOME} = $home;
    # its complaints (no D-Bus here, and so on) go to a log, not the TAP
    open my $saved, '>&', \*STDERR or die "dup stderr: $!";
    open STDERR, '>>', "$logs/chromium.log" or die "$logs/chromium.log: $!";
    open my $out, '-|', @cmd or die "chromium: $!";
    open STDERR, '>&', $saved or die "restore stderr: $!";
    local $/;
    my $text = <$out> // '';
    close $out;
    return ($? >> 8, $text);
}

my ($rc, $dom) = chromium('--dump-dom');
is($rc, 0, 'Chromium rendered the page');
my ($body) = $dom =~ m{<body>(.*)</body>}s;
$body //= '';
(my $text = $body) =~ s/<[^>]+>/ /g;
$text =~ s/&lt;/</g; $text =~ s/&gt;/>/g; $text =~ s/&quot;/"/g; $text =~ s/&amp;/&/g;
$text =~ s/\s+/ /g;

sub human {
    my ($t) = @_;
    my @lt = localtime $t;
    my $z = strftime('%z', @lt);
    my $zone = $z eq '+0000' ? 'UTC' : 'UTC' . substr($z, 0, 3) . ':' . substr($z, 3);
    return strftime('%a %d %b %Y, %H:%M ', @lt) . $zone;
}

like($text, qr/\bserver Deployed\b/, 'browser: the server certificate, deployed');
like($text, qr/\bshop\.example\.net Signed, pending deploy\b/,
     'browser: the second certificate, pending');
like($text, qr/www\.example\.org.*example\.org/, 'browser: the names');
like($text, qr/Key type rsa2048 ec256/, 'browser: both key types of a dual-key certificate');
like($text, qr/Issuer CN=R11,O=Let's Encrypt,C=US/, 'browser: the issuer');
like($text, qr/Valid until \Q${\ human($t{na})}\E \(in 60 days\)/,
     'browser: valid until, a date with its zone and how far off');
like($text, qr/Renewal due \Q${\ human($t{due})}\E \(in 30 days\) two-thirds of the lifetime/,
     'browser: renewal due and why');
like($text, qr/Next resubmission \Q${\ human($t{r1})}\E .*\Q${\ human($t{r2})}\E/,
     'browser: both resubmission times');
like($text, qr/CA renewal window \(ARI\) from \Q${\ human($t{aris})}\E .*until \Q${\ human($t{arie})}\E .*chosen: \Q${\ human($t{arit})}\E/,
     'browser: the CA\'s ARI window and the moment chosen');
like($text, qr/Next deploy slot \Q${\ human($t{slot})}\E/, 'browser: next deploy slot');
like($text, qr/Deploy days Mon, Wed, Fri at 04:30/, 'browser: deploy days and time');
like($text, qr/Automated renewal On .*Automated renewal Off/, 'browser: automated on and off');
like($text, qr/Last Sign Status success \Q${\ human($t{sign})}\E .*signed by letsencrypt/,
     'browser: Last Sign Status with time and detail');
like($text, qr/Last Deploy Status success \Q${\ human($t{deploy})}\E/,
     'browser: Last Deploy Status');
like($text, qr/Last Deploy Status Never/, 'browser: a deploy that never happened says so');
like($text, qr/\Q<b>bold<\/b> <img src=x onerror=alert(1)> & "quotes"\E/,
     'browser: the CA detail with markup shown as text');
ok($body !~ /<(?:b|img|script)[\s>]/i, 'browser: and it made no element');
like($body, qr{<div class="warnings"[^>]*><h3>Warnings</h3><ul>\s*<li>two-thirds}s,
     'browser: warnings set apart, under the heading');

# Screenshots for a person to look at: a desktop and a phone.
for my $shot (['desktop', '1100,1500'], ['narrow', '390,2200']) {
    my $png = "$logs/status-page-$shot->[0].png";
    unlink $png;
    chromium("--window-size=$shot->[1]", "--screenshot=$png");
    ok(-s $png, "screenshot kept: $png") and diag("screenshot: $png");
}
unlink $json, $flat_file;
