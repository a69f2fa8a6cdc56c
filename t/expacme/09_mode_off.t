# ExpAcmeHttpMode off, or no ExpAcmeHttpMode at all: the module does
# nothing, the vhost serves its DocumentRoot as usual, window open or not.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ExpAcme::Test;

my @vhosts = qw(expacme_off expacme_unset);
plan tests => 1 + 2 * 7 * @vhosts, need_module 'expacme';

reset_store();
my $C = CHAL;
my $tok = new_token();
my $ka  = new_keyauth($tok);

sub check_vhost {
    my ($vh, $state) = @_;
    my $r = req($vh, 'GET', '/');
    ok($r->{status} == 200 && $r->{body} =~ /welcome to/, "$vh $state: / served from DocumentRoot")
        or diag $r->{raw};
    $r = req($vh, 'GET', "${C}offfile");
    ok($r->{status} == 200 && $r->{body} eq "SERVED-BY-CORE-MODE-OFF\n",
       "$vh $state: file under the challenge path served by core") or diag $r->{raw};
    $r = req($vh, 'GET', "/acme${C}planted");
    ok($r->{status} == 200 && $r->{body} =~ /PLANTED-FILE/, "$vh $state: planted file served")
        or diag $r->{raw};
    refused_ok(req($vh, 'GET', '/no/such/file?x=1'), 404, "$vh $state: missing file 404, no redirect");
    refused_ok(req($vh, 'GET', "${C}$tok"), 404, "$vh $state: challenge token not answered", $ka);
    $r = req($vh, 'HEAD', '/index.html');
    ok($r->{status} == 200 && !defined $r->{header}->('Location'), "$vh $state: HEAD served")
        or diag $r->{raw};
    $r = req($vh, 'GET', '/index.html', Host => 'www.example.test');
    ok($r->{status} == 200 && $r->{body} =~ /welcome to/, "$vh $state: any Host served")
        or diag $r->{raw};
}

check_vhost($_, 'closed') for @vhosts;
ok(open_window($tok, $ka), 'window opened (redirect vhost serves the token)');
check_vhost($_, 'open') for @vhosts;

reset_store();
