# A challenge request never reaches the filesystem: files, symlinks,
# directory listings and .htaccess planted under the DocumentRoot of a
# redirect / challenge-only vhost are never served, window open or closed.
# (t/htdocs/acme and t/htdocs/htaccess; the controls at the end prove that
# the same files are servable, so these tests can fail.)
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

my $C = CHAL;
my @secret = ('PLANTED-FILE-MUST-NOT-BE-SERVED', 'SECRET-REACHED-VIA-SYMLINK',
              'PLANTED-SUBDIR-FILE', 'Index of', 'EXPACME-HTACCESS-WAS-READ',
              'PLANTED-UNDER-HTACCESS', 'Require all denied', 'ACME-DOCROOT-INDEX');
my @paths = ("${C}planted", "${C}symlinked", "${C}subdir/", "${C}subdir/inner",
             "${C}subdir", $C, "${C}.htaccess", "${C}plantedtok");

plan tests => 4 * @paths + 11, need_module 'expacme';

reset_store();

# Closed window: the redirect (or 404), nothing from the disk.
for my $p (@paths) {
    redirect_ok(req('expacme_redirect', 'GET', $p), "https://localhost$p", "closed: $p redirects");
    refused_ok(req('expacme_chonly', 'GET', $p), 404, "closed: $p 404 (challenge-only)", @secret);
}
redirect_ok(req('expacme_htaccess', 'GET', "${C}htplanted", Host => 'localhost'),
            "https://localhost${C}htplanted", 'closed: .htaccess dir redirects (not 403)');
redirect_ok(req('expacme_redirect', 'GET', '/index.html'), 'https://localhost/index.html',
            'closed: the DocumentRoot index is not served');

# Open window; "plantedtok" is both a file on disk and a token in the store.
my $tok = 'plantedtok';
my $ka  = "$tok.FromTheStoreNotTheDisk";
ok(open_window($tok, $ka), 'window opened with plantedtok');
for my $p (@paths) {
    if ($p eq "${C}plantedtok") {
        challenge_ok(req('expacme_redirect', 'GET', $p), $ka, 'open: plantedtok from the store');
        challenge_ok(req('expacme_chonly', 'GET', $p), $ka, 'open: plantedtok from the store (challenge-only)');
        next;
    }
    refused_ok(req('expacme_redirect', 'GET', $p), 404, "open: $p 404", @secret);
    refused_ok(req('expacme_chonly', 'GET', $p), 404, "open: $p 404 (challenge-only)", @secret);
}

# .htaccess (Require all denied, ErrorDocument 404) never consulted.
challenge_ok(req('expacme_htaccess', 'GET', "${C}plantedtok", Host => 'localhost'), $ka,
             'open: served despite .htaccess Require all denied');
refused_ok(req('expacme_htaccess', 'GET', "${C}htplanted", Host => 'localhost'), 404,
           'open: planted file under .htaccess 404, not 403', @secret);
refused_ok(req('expacme_htaccess', 'GET', "${C}.htaccess", Host => 'localhost'), 404,
           'open: .htaccess itself 404', @secret);
refused_ok(req('expacme_htaccess', 'GET', $C, Host => 'localhost'), 404,
           'open: directory 404, no listing', @secret);

# Controls on the mode-off vhost (same files, core serves them).
my $r = req('expacme_off', 'GET', "/acme${C}planted");
ok($r->{status} == 200 && $r->{body} =~ /PLANTED-FILE-MUST-NOT-BE-SERVED/,
   'control: planted file is servable');
$r = req('expacme_off', 'GET', "/acme${C}symlinked");
ok($r->{status} == 200 && $r->{body} =~ /SECRET-REACHED-VIA-SYMLINK/,
   'control: symlink is followed');
$r = req('expacme_off', 'GET', "/acme${C}subdir/");
ok($r->{status} == 200 && $r->{body} =~ /Index of/, 'control: directory is listed');
$r = req('expacme_off', 'GET', "/htaccess${C}htplanted");
is($r->{status}, 403, 'control: the .htaccess is in force');

reset_store();
