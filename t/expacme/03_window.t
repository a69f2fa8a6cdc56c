# The challenge path is special only while a challenge is open (at least
# one unexpired token in the store, for any host).
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

plan tests => 24, need_module 'expacme';

reset_store();
my $probe = new_token();

# Closed: the challenge path is an ordinary URL.
redirect_ok(req('expacme_redirect', 'GET', chal_path($probe)),
            "https://localhost/.well-known/acme-challenge/$probe", 'closed: redirect');
redirect_ok(req('expacme_redirect', 'GET', CHAL),
            'https://localhost/.well-known/acme-challenge/', 'closed: prefix redirects');
refused_ok(req('expacme_chonly', 'GET', chal_path($probe)), 404, 'closed: challenge-only 404');
my @listed = token_list();
is(scalar @listed, 0, 'token list is empty');

# Open (token for this host).
my $tok = new_token();
my $ka  = new_keyauth($tok);
ok(open_window($tok, $ka), 'window opened');
my @l = token_list();
ok((grep { $_ eq $tok } @l), 'token list shows the token');
challenge_ok(req('expacme_redirect', 'GET', chal_path($tok)), $ka, 'open: token served');
refused_ok(req('expacme_redirect', 'GET', chal_path($probe)), 404, 'open: unknown token 404', $ka);
refused_ok(req('expacme_redirect', 'GET', CHAL), 404, 'open: empty token 404', $ka);
refused_ok(req('expacme_chonly', 'GET', chal_path($probe)), 404, 'open: challenge-only unknown 404');
redirect_ok(req('expacme_redirect', 'GET', '/foo?a=b'), 'https://localhost/foo?a=b',
            'open: other paths still redirect');
redirect_ok(req('expacme_redirect', 'GET', '/.well-known/other'),
            'https://localhost/.well-known/other', 'open: other .well-known paths redirect');
redirect_ok(req('expacme_redirect', 'GET', '/.well-known/acme-challengeX/' . $tok),
            "https://localhost/.well-known/acme-challengeX/$tok", 'open: look-alike prefix redirects');

# Open through a token for another host only: still open here.
my $other = new_token();
is(token_put($other, new_keyauth($other), 'other.example.test'), 0, 'token for another host');
is(token_del($tok), 0, 'own token deleted');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($tok))->{status} == 404 }),
   'deleted token: 404 within the deadline');
refused_ok(req('expacme_redirect', 'GET', chal_path($probe)), 404,
           'open for another host: unknown token 404 here too');
refused_ok(req('expacme_redirect', 'GET', chal_path($other)), 404,
           'the other host\'s token is not served here');

# Closed again.
is(token_del($other), 0, 'last token deleted');
ok(wait_for(sub { req('expacme_redirect', 'GET', chal_path($probe))->{status} == 301 }),
   'window closes within the deadline');
redirect_ok(req('expacme_redirect', 'GET', chal_path($tok)),
            "https://localhost/.well-known/acme-challenge/$tok", 'closed again: redirect');
refused_ok(req('expacme_chonly', 'GET', chal_path($tok)), 404, 'closed again: challenge-only 404', $ka);
redirect_ok(req('expacme_port', 'GET', chal_path($tok)),
            "https://localhost:8443/.well-known/acme-challenge/$tok", 'closed: redirect keeps the port');
is(scalar(token_list()), 0, 'token list empty again');
