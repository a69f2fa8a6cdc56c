package ExpAcme::Env;

# ExpAcme::Env — the real things an integration test of expacmectl needs:
# Pebble (the CA), pebble-challtestsrv (its DNS), httpd with the freshly
# built mod_expacme answering Pebble's http-01 validations, the fault
# proxy in front of Pebble when asked, and a per-test expacme.conf.
#
#   my $env = ExpAcme::Env->new(proxy => 1, timeouts => 1);
#   $env->setup_account;                 # provider "pebble" + account
#   $env->make_csr(names => [...], key_type => 'ec256');
#   my $r = $env->ctl('--json', 'sign'); # {exit, stdout, stderr, json, ...}
#
# Ports are picked at run time (bind port 0, read it back); readiness is
# polled with deadlines; every process started here is stopped when the
# object goes away, at END, on die and on SIGINT/SIGTERM.
#
# For deploy, renewal and the challenge window (14_ and up):
#
#   ExpAcme::Env->new(https => 1)       # httpd also serves TLS (mod_ssl)
#       from live/server.pem + live/server.key (a self-signed pair to
#       start with), includes httpd.d/*.conf, and expacme.conf gets
#       https_address, configtest/graceful commands and [cert server]
#   ExpAcme::Env->new(https => 1, window => 1)   # no plain-HTTP Listen:
#       port 80 (Pebble's httpPort) only through the challenge window
#   ExpAcme::Env->new(https => {...}, window => 1, alpn => 1)  # Pebble's
#       tlsPort (tls-alpn-01) is httpd's HTTPS listener
#   ExpAcme::Env->new(cert_validity => S)        # Pebble issues S-second
#                                                # certificates
#   ExpAcme::Env->new(pebble_conf => {domainBlocklist => [...]})
#                                                # more of pebble.json
#   ExpAcme::Env->new(status_page => 1)  # the module's status page on the
#       plain-HTTP port, Host status.example.test
#   $env->ctl({env => {EXPACME_TEST_NOW => $t}}, 'renew');
#   $env->set_config(notify_command => '...');   # rewrites expacme.conf
#   $env->served_pem;  $env->live_pair_ok;  $env->pem_fingerprint($pem)

use strict;
use warnings;

use Config;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h _exit);
use Scalar::Util qw(weaken);
use Time::HiRes qw(time sleep);

use ExpAcme::Schema;

our $TOP = abs_path(dirname(abs_path(__FILE__)) . '/../../../..');
# tests/integration/run points these at a snapshot of the build, so a
# rebuild during the run does not pull the binaries from under a test.
our $CTL = $ENV{EXPACME_IT_CTL} || "$TOP/helper/expacmectl";
our $MODULE = $ENV{EXPACME_IT_MODULE} || "$TOP/mod_expacme/.libs/mod_expacme.so";
our $PROXY = "$TOP/tests/integration/fault_proxy";
our $DNS_HOOK = "$TOP/tests/integration/dns_hook";
our $PYTHON = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';
our $OPENSSL = 'openssl';
our $APACHE = '/usr/sbin/apache2';
our $APACHE_MODS = '/usr/lib/apache2/modules';

my $JSON = JSON::PP->new->canonical->allow_nonref;
my @LIVE;    # weak references to every environment still running

sub json { $JSON }

# ---------------------------------------------------------------- ports

# A free TCP port on 127.0.0.1 (bind port 0 and read it back).
sub free_port {
    my %opt = @_;
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 0)
            or die "cannot bind a TCP port: $!";
        my $port = $s->sockport;
        if ($opt{udp_too}) {
            my $u = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                          LocalPort => $port,
                                          Proto => 'udp');
            next unless $u;
            close $u;
        }
        close $s;
        return $port;
    }
    die "no free port found";
}

sub port_open {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Proto => 'tcp',
                                  Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

# Polls $cond every $step seconds until it returns true or $timeout
# seconds have passed; returns its last value.
sub wait_for {
    my ($cond, $timeout, $step) = @_;
    my $deadline = time + ($timeout // 10);
    $step //= 0.02;
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return $v if time >= $deadline;
        sleep $step;
    }
}

# ---------------------------------------------------------------- setup

sub new {
    my ($class, %opt) = @_;
    my $self = bless {
        opt => \%opt,
        procs => [],
        pid => $$,
        stopped => 0,
    }, $class;
    push @LIVE, $self;
    weaken($LIVE[-1]);
    my $ok = eval {
        $self->_init_dir;
        $self->_tls_cert;
        $self->_port_retry([qw(dns_port cts_port)],
                           sub { $self->_start_challtestsrv })
            unless defined $opt{challtestsrv} && !$opt{challtestsrv};
        $self->{opt}{https} ||= {} if $opt{window};
        $self->_port_retry([qw(redis_port)], sub { $self->_start_redis })
            if $opt{redis};
        $self->_port_retry([qw(http_port https_port)],
                           sub { $self->_start_httpd })
            unless defined $opt{httpd} && !$opt{httpd};
        $self->{http_port} //= free_port();
        $self->_port_retry([qw(pebble_port pebble_mgmt tls_port)],
                           sub { $self->start_pebble })
            unless defined $opt{pebble} && !$opt{pebble};
        $self->start_proxy if $opt{proxy};
        $self->write_config;
        1;
    };
    unless ($ok) {
        my $e = $@;
        $self->stop;
        die $e;
    }
    return $self;
}

sub dir { $_[0]{dir} }
sub state_dir { "$_[0]{dir}/state" }
sub config { "$_[0]{dir}/expacme.conf" }
sub store_path { "$_[0]{dir}/run/challenges" }
sub status_file { "$_[0]{dir}/run/status.json" }
sub ca_bundle { "$_[0]{dir}/tls/cert.pem" }
sub http_port { $_[0]{http_port} }
sub pebble_port { $_[0]{pebble_port} }
sub pebble_url { "https://127.0.0.1:$_[0]{pebble_port}/dir" }
sub proxy_url { "https://127.0.0.1:$_[0]{proxy_port}/dir" }
sub proxy_port { $_[0]{proxy_port} }
sub https_port { $_[0]{https_port} }
sub https_address { "127.0.0.1:$_[0]{https_port}" }
sub httpd_conf { "$_[0]{dir}/httpd.conf" }
# The directory httpd includes (IncludeOptional httpd.d/*.conf), https only.
sub include_dir { "$_[0]{dir}/httpd.d" }
# The name the HTTPS listener is asked for (and [cert server] sni).
sub sni { $_[0]{sni} }
sub live_cert { "$_[0]{dir}/live/server.pem" }
sub live_key { "$_[0]{dir}/live/server.key" }
sub pebble_mgmt_port { $_[0]{pebble_mgmt} }

# A name of our own for this run, so authorizations are never shared
# between two environments (or two runs) talking to Pebble.
sub tag { $_[0]{tag} }

sub _init_dir {
    my ($self) = @_;
    my $keep = $ENV{EXPACME_IT_KEEP} ? 1 : 0;
    # tests/integration/run gives a directory of its own (removed at its
    # end even if a test was killed before its cleanup); else /tmp.
    $self->{dir} = tempdir('expacme-it.XXXXXX',
                           DIR => $ENV{EXPACME_IT_TMP} || '/tmp',
                           CLEANUP => !$keep);
    # httpd's workers (www-data) map the store under run/.
    chmod 0755, $self->{dir};
    for my $d (qw(logs run tls htdocs)) {
        mkdir "$self->{dir}/$d", 0755 or die "mkdir $d: $!";
        chmod 0755, "$self->{dir}/$d";
    }
    ($self->{tag} = lc substr($self->{dir}, -6)) =~ s/[^a-z0-9]/x/g;
}

# Runs a command, output captured; dies with it on failure.
sub run_quiet { _run_quiet(@_) }

sub _run_quiet {
    my (@cmd) = @_;
    my $out = `@{[join ' ', map { _shq($_) } @cmd]} 2>&1`;
    die "@cmd failed: $out" if $? != 0;
    return $out;
}

sub _shq {
    my ($s) = @_;
    return $s if $s =~ m{^[A-Za-z0-9_./:=,+\-\@]+$};
    $s =~ s/'/'\\''/g;
    return "'$s'";
}

# Pebble's (and the proxy's) TLS listener: a self-signed, CA-flagged
# certificate for IP:127.0.0.1 and DNS:localhost, new for every run.
sub _tls_cert {
    my ($self) = @_;
    my $d = "$self->{dir}/tls";
    _run_quiet($OPENSSL, 'req', '-x509', '-newkey', 'ec',
               '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
               '-keyout', "$d/key.pem", '-out', "$d/cert.pem",
               '-days', '2', '-subj', '/CN=expacme integration test CA',
               '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
               '-addext', 'basicConstraints=critical,CA:TRUE',
               '-addext', 'keyUsage=critical,digitalSignature,keyCertSign');
}

sub _prctl_nr {
    my $arch = $Config{archname};
    return 157 if $arch =~ /x86_64|amd64/;
    return 167 if $arch =~ /aarch64|arm64/;
    return 172 if $arch =~ /i[3-6]86/;
    return undef;
}

# fork + exec with output in logs/NAME.log; the child gets SIGKILL (or
# $DEATHSIG{NAME}) if this test process dies without cleaning up
# (PR_SET_PDEATHSIG).
my %DEATHSIG = (httpd => 15);    # httpd stops its workers on SIGTERM

sub spawn {
    my ($self, $name, $env, @cmd) = @_;
    my $log = "$self->{dir}/logs/$name.log";
    my $parent = $$;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $nr = _prctl_nr();
        syscall($nr, 1, $DEATHSIG{$name} // 9) if defined $nr;
        _exit(0) if getppid() != $parent;
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or _exit(126);
        open STDERR, '>&', \*STDOUT or _exit(126);
        $ENV{$_} = $env->{$_} for keys %{$env || {}};
        { exec { $cmd[0] } @cmd; }
        print STDERR "exec $cmd[0]: $!\n";
        _exit(127);
    }
    push @{$self->{procs}}, {name => $name, pid => $pid, log => $log};
    return $pid;
}

sub _proc {
    my ($self, $name) = @_;
    my ($p) = grep { $_->{name} eq $name && !$_->{done} } @{$self->{procs}};
    return $p;
}

sub alive {
    my ($self, $name) = @_;
    my $p = $self->_proc($name) or return 0;
    my $r = waitpid($p->{pid}, WNOHANG);
    if ($r == $p->{pid} || $r == -1) {
        $p->{done} = 1;
        $p->{status} = $?;
        return 0;
    }
    return 1;
}

sub log_tail {
    my ($self, $name, $lines) = @_;
    my $file = "$self->{dir}/logs/$name.log";
    open my $fh, '<', $file or return '';
    my @l = <$fh>;
    splice @l, 0, @l - ($lines // 20) if @l > ($lines // 20);
    return join '', @l;
}

# Stops one process: SIGTERM (or $sig), up to 10 s, then SIGKILL; then
# whatever is left of its process group.
sub stop_proc {
    my ($self, $name, $sig) = @_;
    my $p = $self->_proc($name) or return;
    kill $sig // 'TERM', $p->{pid};
    my $gone = wait_for(sub { !$self->alive($name) }, 10, 0.02);
    unless ($gone) {
        kill 'KILL', -$p->{pid};
        kill 'KILL', $p->{pid};
        waitpid($p->{pid}, 0);
        $p->{done} = 1;
    }
    # httpd's workers, say: they are in the group of their parent.
    wait_for(sub { !kill(0, -$p->{pid}) }, 5, 0.02)
        or kill 'KILL', -$p->{pid};
}

# A port picked free can be taken by someone else before the server
# binds it: then new ports and another try (three in all).
sub _port_retry {
    my ($self, $fields, $start) = @_;
    for my $attempt (1 .. 3) {
        return if eval { $start->(); 1 };
        my $e = $@;
        die $e unless $attempt < 3 && $e =~ /address already in use/i;
        delete $self->{$_} for @$fields;
    }
}

sub _start_challtestsrv {
    my ($self) = @_;
    $self->{dns_port} //= free_port(udp_too => 1);
    $self->{cts_port} //= free_port();
    $self->spawn('challtestsrv', {}, '/usr/bin/pebble-challtestsrv',
                 '-management', "127.0.0.1:$self->{cts_port}",
                 '-dns01', "127.0.0.1:$self->{dns_port}",
                 '-http01', '', '-https01', '', '-tlsalpn01', '',
                 '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '');
    wait_for(sub { !$self->alive('challtestsrv')
                   || port_open($self->{cts_port}) }, 15)
        && $self->alive('challtestsrv')
        or die "pebble-challtestsrv did not start:\n"
        . $self->log_tail('challtestsrv');
}

sub start_pebble {
    my ($self) = @_;
    my $opt = $self->{opt};
    $self->{pebble_port} //= free_port();
    $self->{pebble_mgmt} //= free_port();
    $self->{tls_port} //= free_port();
    # tls-alpn-01 against the module's own HTTPS listener.
    $self->{tls_port} = $self->{https_port} if $opt->{alpn};
    my %pebble = (
        listenAddress => "127.0.0.1:$self->{pebble_port}",
        managementListenAddress => "127.0.0.1:$self->{pebble_mgmt}",
        certificate => $self->ca_bundle,
        privateKey => "$self->{dir}/tls/key.pem",
        httpPort => $self->{http_port} + 0,
        tlsPort => $self->{tls_port} + 0,
        ocspResponderURL => '',
        externalAccountBindingRequired => $opt->{eab} ? JSON::PP::true
                                                      : JSON::PP::false,
    );
    $pebble{externalAccountMACKeys} = $opt->{eab} if $opt->{eab};
    $pebble{certificateValidityPeriod} = $opt->{cert_validity} + 0
        if $opt->{cert_validity};
    # More of pebble.json, e.g. {domainBlocklist => [...]}.
    %pebble = (%pebble, %{$opt->{pebble_conf} || {}});
    my $conf = "$self->{dir}/pebble.json";
    _write($conf, $JSON->encode({pebble => \%pebble}));
    my %env = (PEBBLE_VA_NOSLEEP => 1, PEBBLE_AUTHZREUSE => 0);
    $env{PEBBLE_WFE_NONCEREJECT} = $opt->{nonce_reject}
        if defined $opt->{nonce_reject};
    %env = (%env, %{$opt->{pebble_env} || {}});
    $self->spawn('pebble', \%env, '/usr/bin/pebble', '-config', $conf,
                 '-dnsserver', "127.0.0.1:$self->{dns_port}");
    my $http = $self->https;
    my $ok = wait_for(sub {
        return 1 unless $self->alive('pebble');
        my $r = $http->get($self->pebble_url);
        return $r->{status} == 200;
    }, 20, 0.05);
    die "pebble did not start:\n" . $self->log_tail('pebble')
        unless $ok && $self->alive('pebble');
}

sub kill_pebble { $_[0]->stop_proc('pebble', $_[1] // 'KILL') }

sub _https_opt {
    my ($self) = @_;
    my $h = $self->{opt}{https} or return undef;
    return ref $h ? $h : {};
}

# The self-signed pair httpd serves before the first deploy.
sub _live_pair {
    my ($self) = @_;
    my $d = "$self->{dir}/live";
    return if -e "$d/server.pem";
    mkdir $d, 0755 unless -d $d;
    chmod 0755, $d;
    _run_quiet($OPENSSL, 'req', '-x509', '-newkey', 'ec',
               '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
               '-keyout', "$d/server.key", '-out', "$d/server.pem",
               '-days', '2', '-subj', "/CN=$self->{sni}",
               '-addext', "subjectAltName=DNS:$self->{sni}");
    chmod 0600, "$d/server.key";
    chmod 0644, "$d/server.pem";
}

sub _start_httpd {
    my ($self) = @_;
    die "$MODULE not built (run make)" unless -f $MODULE;
    my $d = $self->{dir};
    my $port = $self->{http_port} //= free_port();
    my $https = $self->_https_opt;
    my $window = $self->{opt}{window};
    my $user = $> == 0 ? "User www-data\nGroup www-data\n" : '';
    my ($listen, $tls) = ("Listen 127.0.0.1:$port\n", '');
    my $plain = <<"VHOST";
<VirtualHost 127.0.0.1:$port>
    ServerName www.example.test
    ExpAcmeHttpMode redirect
</VirtualHost>
VHOST
    # status_page => 1: the module's status page at
    # http://status.example.test/expacme-status (http_get with that Host)
    $plain .= <<"VHOST" if $self->{opt}{status_page};
<VirtualHost 127.0.0.1:$port>
    ServerName status.example.test
    <Location /expacme-status>
        SetHandler expacme-status
    </Location>
</VirtualHost>
VHOST
    if ($https) {
        $self->{https_port} //= free_port();
        $self->{sni} //= $https->{sni} // "www.$self->{tag}.example.test";
        $self->_live_pair;
        mkdir "$d/httpd.d", 0755 unless -d "$d/httpd.d";
        ($listen, $plain) = ('', '') if $window;
        $listen .= "Listen 127.0.0.1:$self->{https_port}\n";
        my $extra = $https->{httpd_extra} // '';
        $tls = <<"TLS";
LoadModule ssl_module $APACHE_MODS/mod_ssl.so
LoadModule socache_shmcb_module $APACHE_MODS/mod_socache_shmcb.so
SSLSessionCache shmcb:$d/run/ssl_scache(512000)
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30
$extra
<VirtualHost 127.0.0.1:$self->{https_port}>
    ServerName $self->{sni}
    SSLEngine on
    SSLCertificateFile $d/live/server.pem
    SSLCertificateKeyFile $d/live/server.key
</VirtualHost>
IncludeOptional $d/httpd.d/*.conf
TLS
    }
    _write("$d/httpd.conf", <<"CONF");
ServerRoot $d
${listen}LoadModule mpm_event_module $APACHE_MODS/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODS/mod_authz_core.so
LoadModule expacme_module $MODULE
$user
PidFile $d/run/httpd.pid
ErrorLog $d/logs/error.log
LogLevel warn expacme:info
ServerName localhost
DocumentRoot $d/htdocs
ExpAcmeChallengeStore shm:$d/run/challenges
ExpAcmeStatusFile $d/run/status.json
$plain$tls
CONF
    $self->spawn('httpd', {}, $APACHE, '-f', "$d/httpd.conf",
                 '-DFOREGROUND');
    my $ok = wait_for(sub {
        return 1 unless $self->alive('httpd');
        return defined $self->served_pem if $https && $window;
        my $r = $self->http_get('/', 'www.example.test');
        return $r->{status} == 301 && (!$https || defined $self->served_pem);
    }, 20, 0.05);
    die "httpd did not start:\n" . $self->log_tail('httpd')
        . _slurp("$d/logs/error.log")
        unless $ok && $self->alive('httpd');
}

# The certificates the HTTPS listener presents for SNI (default
# $env->sni), as `openssl s_client -servername` shows them: the leaf's
# PEM, or undef when there is no TLS answer.
sub served_pem {
    my ($self, $sni) = @_;
    $sni //= $self->{sni};
    return undef unless $self->{https_port};
    my @cmd = ('timeout', '5', $OPENSSL, 's_client', '-connect',
               "127.0.0.1:$self->{https_port}",
               (defined $sni ? ('-servername', $sni) : ()));
    my $out = `@{[join ' ', map { _shq($_) } @cmd]} </dev/null 2>/dev/null`;
    my ($leaf) = split_pem($out);
    return $leaf;
}

# Whether httpd's parent is running.
sub httpd_alive { $_[0]->alive('httpd') }

# What httpd answers for GET PATH with Host: HOST (the way Pebble asks
# for a challenge): {status, headers => {lowercase name => value}, body}.
sub http_get {
    my ($self, $path, $host, $ip, $port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $ip // '127.0.0.1',
                                  PeerPort => $port // $self->{http_port},
                                  Proto => 'tcp', Timeout => 5)
        or return {status => 599, body => "connect: $!"};
    print $s "GET $path HTTP/1.0\r\nHost: $host\r\n\r\n";
    # HTTP/1.0: the answer ends when httpd closes; 5 s at most.
    my $raw = '';
    my $sel = IO::Select->new($s);
    my $deadline = time + 5;
    while (time < $deadline && $sel->can_read($deadline - time)) {
        my $n = sysread($s, $raw, 65536, length $raw);
        last unless $n;
    }
    close $s;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my ($status) = ($head // '') =~ m{^HTTP/\d\.\d (\d+)};
    my %h;
    for my $line (split /\r\n/, $head // '') {
        $h{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*)$/;
    }
    return {status => $status // 599, headers => \%h, body => $body};
}

# ---------------------------------------------------------------- cluster

# new(redis => 1): a redis-server of this environment on a free loopback
# port, with a password for the default user and ACL users as a cluster
# runs it (SPEC §8): "httpd" may read the keys under the prefix, "helper"
# may also write them, "reader" may read only (a helper that cannot
# write).  redis_auth(NAME) is the 0600 file with NAME's credentials.
sub redis_port { $_[0]{redis_port} }
sub redis_prefix { 'it' }
sub redis_url { "redis://127.0.0.1:$_[0]{redis_port}/it" }
sub redis_auth { "$_[0]{dir}/redis/$_[1].auth" }

sub _start_redis {
    my ($self) = @_;
    my $d = "$self->{dir}/redis";
    make_path($d, {mode => 0700});
    $self->{redis_port} //= free_port();
    my %pw = map { $_ => _random_word() } qw(admin httpd helper reader);
    my $read = '-@all +auth +ping +hget +hmget +zrevrangebyscore +zcount'
        . ' +scan +hgetall';
    my $write = "$read +multi +exec +hset +hlen +del +expire +expireat"
        . ' +zadd +zrem +zremrangebyscore';
    _write("$d/redis.conf", <<"CONF");
port $self->{redis_port}
bind 127.0.0.1
daemonize no
dir $d
save ""
appendonly no
user default on >$pw{admin} ~* &* +\@all
user httpd on >$pw{httpd} ~it:* resetchannels $read
user helper on >$pw{helper} ~it:* resetchannels $write
user reader on >$pw{reader} ~it:* resetchannels $read +multi +exec
CONF
    $self->{redis_admin} = $pw{admin};
    for my $u (qw(httpd helper reader)) {
        _write("$d/$u.auth", "$u $pw{$u}\n");
        chmod 0600, "$d/$u.auth";
    }
    $self->spawn('redis', {}, '/usr/bin/redis-server', "$d/redis.conf");
    wait_for(sub { !$self->alive('redis') || port_open($self->{redis_port}) },
             15) && $self->alive('redis')
        or die "redis-server did not start:\n" . $self->log_tail('redis');
}

# redis-cli as the administrator (the password through the environment):
# its output, one line per element.
sub redis_cli {
    my ($self, @args) = @_;
    local $ENV{REDISCLI_AUTH} = $self->{redis_admin};
    my @cmd = ('redis-cli', '-h', '127.0.0.1', '-p', $self->{redis_port},
               '--raw', @args);
    open my $out, '-|', @cmd or die "redis-cli: $!";
    my @lines = <$out>;
    close $out;
    chomp @lines;
    return wantarray ? @lines : join "\n", @lines;
}

sub _random_word {
    open my $fh, '<', '/dev/urandom' or die "/dev/urandom: $!";
    read $fh, my $b, 18;
    close $fh;
    (my $w = unpack 'H*', $b) =~ tr/0-9a-f//cd;
    return $w;
}

# start_peer(NAME, IP): one more httpd with the module, a cluster peer
# listening on IP at this environment's plain-HTTP port (the port Pebble
# validates on; the name's A record picks the peer), on the store
# {store => 'redis'} (default) or its own shm: file, with the status page
# at http://IP:STATUS_PORT/expacme-status.  Also writes an expacme.conf
# for the peer's own helper ({config}: ctl({config => ...}, ...)).
sub start_peer {
    my ($self, $name, $ip, %o) = @_;
    my $pd = "$self->{dir}/peers/$name";
    for my $sub ('', qw(/run /logs /state)) {
        make_path("$pd$sub", {mode => 0755});
        chmod 0755, "$pd$sub";
    }
    chmod 0700, "$pd/state";
    my $port = $self->{http_port} //= free_port();
    my $status_port = free_port();
    my $redis = ($o{store} // 'redis') eq 'redis';
    my $store = $redis
        ? "ExpAcmeChallengeStore " . $self->redis_url . "\n"
          . "ExpAcmeRedisAuthFile " . $self->redis_auth('httpd')
        : "ExpAcmeChallengeStore shm:$pd/run/challenges";
    my $user = $> == 0 ? "User www-data\nGroup www-data\n" : '';
    _write("$pd/httpd.conf", <<"CONF");
ServerRoot $pd
Listen $ip:$port
Listen $ip:$status_port
LoadModule mpm_event_module $APACHE_MODS/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODS/mod_authz_core.so
LoadModule expacme_module $MODULE
$user
PidFile $pd/run/httpd.pid
ErrorLog $pd/logs/error.log
LogLevel warn expacme:info
ServerName $name
DocumentRoot $self->{dir}/htdocs
$store
ExpAcmeStatusFile $pd/run/status.json
<VirtualHost $ip:$port>
    ServerName www.example.test
    ExpAcmeHttpMode redirect
</VirtualHost>
<VirtualHost $ip:$status_port>
    <Location /expacme-status>
        SetHandler expacme-status
    </Location>
</VirtualHost>
CONF
    $self->spawn("httpd-$name", {}, $APACHE, '-f', "$pd/httpd.conf",
                 '-DFOREGROUND');
    my $ok = wait_for(sub {
        return 1 unless $self->alive("httpd-$name");
        $self->http_get('/', 'www.example.test', $ip)->{status} == 301;
    }, 20, 0.05);
    die "httpd of peer $name did not start:\n" . $self->log_tail("httpd-$name")
        . _slurp("$pd/logs/error.log")
        unless $ok && $self->alive("httpd-$name");
    my $conf = "$pd/expacme.conf";
    _write($conf, "state_dir = $pd/state\n"
           . ($redis ? "challenge_store = " . $self->redis_url . "\n"
                       . "challenge_store_auth_file = "
                       . $self->redis_auth('helper') . "\n"
                     : "challenge_store = shm:$pd/run/challenges\n")
           . "status_file = $pd/run/status.json\n"
           . "cluster_peer = $name\n");
    return $self->{peers}{$name} = {name => $name, ip => $ip, dir => $pd,
                                    status_port => $status_port,
                                    config => $conf};
}

# A peer's status page as JSON (the cluster document with a Redis store).
sub peer_status {
    my ($self, $name) = @_;
    my $p = $self->{peers}{$name} or die "no peer $name";
    my $r = $self->http_get('/expacme-status?json', $name, $p->{ip},
                            $p->{status_port});
    return eval { $JSON->decode($r->{body} // '') };
}

sub start_proxy {
    my ($self, %opt) = @_;
    my $ports_file = "$self->{dir}/run/proxy.ports";
    unlink $ports_file;
    my @port = defined $self->{proxy_port} ? ('--port', $self->{proxy_port})
                                           : ();
    $self->spawn('proxy', {}, $PYTHON, $PROXY,
                 '--upstream', "https://127.0.0.1:$self->{pebble_port}",
                 '--cert', $self->ca_bundle,
                 '--key', "$self->{dir}/tls/key.pem",
                 '--ports-file', $ports_file, @port);
    wait_for(sub { !$self->alive('proxy') || -s $ports_file }, 15)
        && $self->alive('proxy')
        or die "fault_proxy did not start:\n" . $self->log_tail('proxy');
    my $ports = $JSON->decode(_slurp($ports_file));
    $self->{proxy_port} = $ports->{https};
    $self->{proxy_control} = $ports->{control};
    my $r = $self->https->get($self->proxy_url);
    die "fault_proxy does not relay to pebble: $r->{status} $r->{content}"
        unless $r->{status} == 200;
}

sub kill_proxy { $_[0]->stop_proc('proxy', $_[1] // 'KILL') }

# ---------------------------------------------------------------- config

# expacme.conf: the globals of this environment, the keys set_config
# added, then (https) the [cert server] section for the live pair.
sub write_config {
    my ($self, %extra) = @_;
    my $d = $self->{dir};
    my %conf = (%{$self->{conf_extra} || {}}, %extra);
    my $text = "# written by ExpAcme::Env\n";
    my %base = (state_dir => "$d/state",
                challenge_store => "shm:$d/run/challenges",
                status_file => "$d/run/status.json");
    # The pre-flight check asks this environment's own resolver and
    # listeners, as an operator's expacme.conf would name them.
    $base{dns_resolver} = "127.0.0.1:$self->{dns_port}"
        if $self->{dns_port};
    $base{check_http_address} = "127.0.0.1:$self->{http_port}"
        if $self->{http_port};
    $base{check_tls_address} = "127.0.0.1:$self->{https_port}"
        if $self->{https_port};
    for my $k (qw(state_dir challenge_store status_file dns_resolver
                  check_http_address check_tls_address)) {
        next unless exists $conf{$k} || exists $base{$k};
        my $v = exists $conf{$k} ? delete $conf{$k} : $base{$k};
        $text .= "$k = $v\n" if defined $v;
    }
    my $t = $self->{opt}{timeouts};
    if ($t) {
        my %t = (ca_timeout => 3, ca_connect_timeout => 2,
                 order_timeout => 20, (ref $t ? %$t : ()));
        $text .= "$_ = $t{$_}\n" for grep { !exists $conf{$_} } sort keys %t;
    }
    if ($self->_https_opt && $self->{https_port}) {
        my $apache = "$APACHE -f $d/httpd.conf";
        %conf = (https_address => $self->https_address,
                 configtest_command => "$apache -t",
                 graceful_command => "$apache -k graceful",
                 deploy_timeout => 10, %conf);
    }
    for my $k (sort keys %conf) {
        $text .= "$k = $conf{$k}\n" if defined $conf{$k};
    }
    my %certs = %{$self->{conf_certs} || {}};
    if ($self->_https_opt && $self->{https_port}) {
        $certs{server} = {cert_file => $self->live_cert,
                          key_file => $self->live_key,
                          sni => $self->{sni},
                          %{$certs{server} || {}}};
    }
    for my $name (sort keys %certs) {
        $text .= "\n[cert $name]\n";
        my $c = $certs{$name};
        for my $k (sort keys %$c) {
            $text .= "$k = $c->{$k}\n" if defined $c->{$k};
        }
    }
    _write($self->config, $text);
}

# Changes expacme.conf for the rest of the test: KEY => VALUE sets a
# global key, KEY => undef drops it (and overrides a default of this
# environment), cert => {NAME => {KEY => VALUE}} a [cert NAME] key.
sub set_config {
    my ($self, %kv) = @_;
    if (my $certs = delete $kv{cert}) {
        for my $name (keys %$certs) {
            $self->{conf_certs}{$name}{$_} = $certs->{$name}{$_}
                for keys %{$certs->{$name}};
        }
    }
    $self->{conf_extra}{$_} = $kv{$_} for keys %kv;
    $self->write_config;
}

# Back to this environment's own value of global KEYs (what set_config
# changed is forgotten).
sub reset_config {
    my ($self, @keys) = @_;
    delete $self->{conf_extra}{$_} for @keys;
    $self->write_config;
}

# ---------------------------------------------------------------- helper

package ExpAcme::Env::Run;

use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

sub pid { $_[0]{pid} }
sub stderr { ExpAcme::Env::_slurp($_[0]{err}) }
sub stdout { ExpAcme::Env::_slurp($_[0]{out}) }

sub running {
    my ($self) = @_;
    return 0 if defined $self->{exit};
    my $r = waitpid($self->{pid}, WNOHANG);
    return 1 if $r == 0;
    $self->_reaped($?);
    return 0;
}

sub _reaped {
    my ($self, $status) = @_;
    $self->{elapsed} = time - $self->{start};
    $self->{signal} = $status & 127;
    $self->{exit} = $self->{signal} ? -1 : $status >> 8;
}

# Waits until stderr matches $re (true) or the process ended / $timeout
# passed (false).
sub wait_stderr {
    my ($self, $re, $timeout) = @_;
    return ExpAcme::Env::wait_for(sub {
        return 1 if $self->stderr =~ $re;
        return -1 unless $self->running;
        return 0;
    }, $timeout // 30, 0.01) == 1 ? 1 : ($self->stderr =~ $re ? 1 : 0);
}

sub kill {
    my ($self, $sig) = @_;
    CORE::kill($sig // 'TERM', $self->{pid});
}

# The result: {exit, signal, stdout, stderr, json, elapsed, timed_out}.
sub wait {
    my ($self, $timeout) = @_;
    my $done = ExpAcme::Env::wait_for(sub { !$self->running }, $timeout // 180,
                                      0.01);
    my $timed_out = 0;
    unless ($done) {
        $timed_out = 1;
        CORE::kill('KILL', $self->{pid});
        waitpid($self->{pid}, 0);
        $self->_reaped($?);
    }
    my %r = (exit => $self->{exit}, signal => $self->{signal},
             stdout => $self->stdout, stderr => $self->stderr,
             elapsed => $self->{elapsed}, timed_out => $timed_out,
             args => $self->{args});
    if ($self->{json_mode}) {
        $r{json} = eval { ExpAcme::Env::json()->decode($r{stdout}) };
        $r{json_error} = $@ if $@;
        ExpAcme::Schema::check(\%r);
    }
    return \%r;
}

package ExpAcme::Env;

our $VALGRIND = -x '/usr/bin/valgrind' ? '/usr/bin/valgrind' : undef;

# expacmectl with this environment's config, in the background.  A
# leading {valgrind => 1} runs it under valgrind's memcheck (exit 99 on
# a memory error); EXPACME_IT_WRAP="cmd args" wraps every run.  Also in
# that hash: env => {NAME => VALUE (undef: unset)} for this run only,
# wrap => [cmd, args] to run it under.
sub ctl_bg {
    my ($self, @args) = @_;
    my $o = ref $args[0] eq 'HASH' ? shift @args : {};
    my $n = ++$self->{runs};
    my $out = "$self->{dir}/logs/ctl-$n.out";
    my $err = "$self->{dir}/logs/ctl-$n.err";
    my @wrap = split ' ', $ENV{EXPACME_IT_WRAP} // '';
    @wrap = ($VALGRIND, '-q', '--error-exitcode=99', '--leak-check=no')
        if $o->{valgrind} && $VALGRIND;
    @wrap = (@{$o->{wrap}}, @wrap) if $o->{wrap};
    my @cmd = (@wrap, $CTL, '--config', $o->{config} // $self->config, @args);
    my $start = time;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        # SIGTERM (the helper then cleans up) if the test dies first.
        my $nr = _prctl_nr();
        syscall($nr, 1, 15) if defined $nr;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        for my $k (keys %{$o->{env} || {}}) {
            if (defined $o->{env}{$k}) { $ENV{$k} = $o->{env}{$k} }
            else { delete $ENV{$k} }
        }
        { exec { $cmd[0] } @cmd; }
        print STDERR "exec $CTL: $!\n";
        POSIX::_exit(127);
    }
    push @{$self->{ctl_runs}}, $pid;
    open my $log, '>>', "$self->{dir}/logs/ctl.log";
    my $envs = join '', map { "$_=" . ($o->{env}{$_} // '') . ' ' }
        sort keys %{$o->{env} || {}};
    print $log "[$n] $envs@cmd\n";
    close $log;
    return bless {pid => $pid, out => $out, err => $err, start => $start,
                  args => [@args],
                  json_mode => (grep { $_ eq '--json' } @args) ? 1 : 0},
        'ExpAcme::Env::Run';
}

# expacmectl with this environment's config: waits (at most 180 s, or
# {timeout => S} as first argument) and returns the result hash.
sub ctl {
    my ($self, @args) = @_;
    my $o = ref $args[0] eq 'HASH' ? shift @args : {};
    return $self->ctl_bg($o, @args)->wait($o->{timeout} // 180);
}

# Text for a failed assertion: what the command printed.
sub explain {
    my ($r) = @_;
    return sprintf("expacmectl %s\nexit %s%s (%.1fs)\nstdout: %s\nstderr: %s",
                   join(' ', @{$r->{args} || []}), $r->{exit},
                   $r->{timed_out} ? ' (timed out)' : '', $r->{elapsed} // 0,
                   substr($r->{stdout} // '', 0, 3000),
                   substr($r->{stderr} // '', 0, 3000));
}

sub ctl_ok {
    my ($self, @args) = @_;
    my $r = $self->ctl(@args);
    die "expected success:\n" . explain($r) unless $r->{exit} == 0;
    return $r;
}

# provider add NAME --directory URL --ca-bundle PEM [extra args]
sub add_provider {
    my ($self, $name, %o) = @_;
    my @extra = @{$o{args} || []};
    return $self->ctl('--json', 'provider', 'add', $name, '--directory',
                      $o{directory} // $self->pebble_url,
                      '--ca-bundle', $self->ca_bundle, @extra);
}

sub register {
    my ($self, $provider, @extra) = @_;
    return $self->ctl('--json', 'account', 'register', '--provider',
                      $provider, '--email', "admin\@$self->{tag}.example.test",
                      '--agree-tos', @extra);
}

# Provider NAME (default "pebble", at Pebble or, with via => 'proxy', at
# the fault proxy) and an account there; dies unless both work.
sub setup_account {
    my ($self, %o) = @_;
    my $name = $o{name} // 'pebble';
    my $dir = $o{directory}
        // (($o{via} // '') eq 'proxy' ? $self->proxy_url : $self->pebble_url);
    my $r = $self->add_provider($name, directory => $dir,
                                args => $o{args} || []);
    die "provider add:\n" . explain($r) unless $r->{exit} == 0;
    $r = $self->register($name, @{$o{register_args} || []});
    die "account register:\n" . explain($r) unless $r->{exit} == 0;
    return $r;
}

# Names NAME-i.TAG.example.test, i = 1..n.
sub names {
    my ($self, $n, $prefix) = @_;
    $prefix //= 'n';
    return map { "$prefix$_.$self->{tag}.example.test" } 1 .. $n;
}

my $csr_command;
sub have_csr_command {
    return $csr_command if defined $csr_command;
    my $out = `$CTL help 2>&1`;
    return $csr_command = ($out =~ /^\s*csr generate/m ? 1 : 0);
}

# The CSR (and key) of --cert CERT for NAMES: `csr generate` when this
# build has it, else openssl straight into the state directory.
sub make_csr {
    my ($self, %o) = @_;
    my $cert = $o{cert} // 'server';
    my @names = @{$o{names}};
    my $type = $o{key_type} // 'ec256';
    if (have_csr_command()) {
        my @san = @names > 1 ? ('--san', join(',', @names[1 .. $#names]))
                             : ();
        my $r = $self->ctl('--json', '--cert', $cert, 'csr', 'generate',
                           '--cn', $names[0], @san, '--key-type', $type,
                           @{$o{args} || []});
        die "csr generate:\n" . explain($r) unless $r->{exit} == 0;
        return $r;
    }
    my $d = $self->state_dir . "/certs/$cert";
    make_path($d, {mode => 0700});
    chmod 0700, $self->state_dir, $self->state_dir . '/certs', $d;
    my @newkey = $type =~ /^rsa(\d+)$/ ? ('-newkey', "rsa:$1")
        : $type eq 'ec384' ? ('-newkey', 'ec', '-pkeyopt',
                              'ec_paramgen_curve:P-384')
        : ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256');
    my $sans = join ',', map { "DNS:$_" } @names;
    my $conf = "$self->{dir}/csr-$cert.cnf";
    _write($conf, "[req]\ndistinguished_name = dn\nprompt = no\n"
           . "req_extensions = ext\n[dn]\nCN = $names[0]\n"
           . "[ext]\nsubjectAltName = $sans\n");
    umask(my $old = umask(077));
    _run_quiet($OPENSSL, 'req', '-new', @newkey, '-nodes', '-sha256',
               '-config', $conf, '-keyout', "$d/key.pem",
               '-out', "$d/csr.pem");
    chmod 0600, "$d/key.pem";
    umask $old;
    return {exit => 0};
}

# The tokens in the challenge store (`token list --json`).
sub store_tokens {
    my ($self) = @_;
    my $r = $self->ctl('--json', 'token', 'list');
    die "token list:\n" . explain($r) unless $r->{exit} == 0 && $r->{json};
    return $r->{json}{tokens} || [];
}

sub status {
    my ($self, @args) = @_;
    my $o = ref $args[0] eq 'HASH' ? shift @args : {};
    my $r = $self->ctl($o, '--json', @args, 'status');
    die "status:\n" . explain($r) unless $r->{exit} == 0 && $r->{json};
    return $r->{json};
}

# The status entry of one managed certificate.
sub cert_status {
    my ($self, $name, $o) = @_;
    my ($c) = grep { $_->{name} eq ($name // 'server') }
        @{$self->status($o || {})->{certificates} || []};
    return $c;
}

# The entry of one certificate in the status file as it is now (what
# the module's status page shows), without running `status`.
sub status_file_cert {
    my ($self, $name) = @_;
    my $doc = eval { $JSON->decode(_slurp($self->status_file)) } || {};
    my ($c) = grep { $_->{name} eq ($name // 'server') }
        @{$doc->{certificates} || []};
    return $c;
}

sub pending_pem {
    my ($self, $cert) = @_;
    my $r = $self->ctl('--json', '--cert', $cert // 'server', 'pending',
                       'show', '--pem');
    return $r->{exit} == 0 && $r->{json} ? $r->{json}{pem} : undef;
}

# ---------------------------------------------------------------- CA side

sub https {
    my ($self) = @_;
    return HTTP::Tiny->new(timeout => 10, verify_SSL => 1,
                           SSL_options => {SSL_ca_file => $self->ca_bundle});
}

sub _mgmt {
    my ($self, $path) = @_;
    my $r = $self->https->get("https://127.0.0.1:$self->{pebble_mgmt}$path");
    die "pebble management $path: $r->{status} $r->{content}"
        unless $r->{success};
    return $r->{content};
}

sub pebble_root_pem { $_[0]->_mgmt('/roots/0') }
sub pebble_intermediate_pem { $_[0]->_mgmt('/intermediates/0') }

sub cert_status_by_serial {
    my ($self, $serial) = @_;
    return $JSON->decode($self->_mgmt("/cert-status-by-serial/$serial"));
}

# Makes HOST (a DNS name) resolve to IP for Pebble.
sub add_a {
    my ($self, $host, @ip) = @_;
    $host .= '.' unless $host =~ /\.$/;
    my $r = HTTP::Tiny->new(timeout => 5)->post(
        "http://127.0.0.1:$self->{cts_port}/add-a",
        {content => $JSON->encode({host => $host, addresses => \@ip})});
    die "challtestsrv add-a: $r->{status} $r->{content}"
        unless $r->{success};
}

# A dns_hook for expacme.conf: a wrapper in this environment's directory
# that runs tests/integration/dns_hook against this challtestsrv in MODE
# (ok, fail, hang, invisible), logging each call to dns_hook_calls.
sub dns_hook {
    my ($self, $mode) = @_;
    $mode //= 'ok';
    my $path = "$self->{dir}/dns-hook-$mode";
    _write($path, "#!/bin/sh\nexec /usr/bin/perl $DNS_HOOK "
           . "127.0.0.1:$self->{cts_port} $mode $self->{dir}/dns-hook.log "
           . "\"\$@\"\n");
    chmod 0755, $path;
    return $path;
}

# The hook's calls so far: [verb, name, value, result] each.
sub dns_hook_calls {
    my ($self) = @_;
    my $text = eval { _slurp("$self->{dir}/dns-hook.log") } // '';
    return [map { [split / /] } split /\n/, $text];
}

# Makes challtestsrv answer no A record for names not added with add_a.
sub no_default_address {
    my ($self) = @_;
    my $r = HTTP::Tiny->new(timeout => 5)->post(
        "http://127.0.0.1:$self->{cts_port}/set-default-ipv4",
        {content => $JSON->encode({ip => ''})});
    die "challtestsrv set-default-ipv4: $r->{status} $r->{content}"
        unless $r->{success};
}

# ---------------------------------------------------------------- proxy

sub _control {
    my ($self, $method, $path, $body) = @_;
    die "no fault proxy in this environment" unless $self->{proxy_control};
    my $r = HTTP::Tiny->new(timeout => 10)->request(
        $method, "http://127.0.0.1:$self->{proxy_control}$path",
        defined $body ? {content => $JSON->encode($body)} : {});
    die "fault_proxy $method $path: $r->{status} $r->{content}"
        unless $r->{success};
    return $JSON->decode($r->{content});
}

# Replaces the proxy's fault rules (see fault_proxy).
sub faults { $_[0]->_control('PUT', '/faults', $_[1] // []) }
sub add_faults { $_[0]->_control('POST', '/faults', $_[1]) }
sub proxy_requests { $_[0]->_control('GET', '/requests') }
sub proxy_reset { $_[0]->_control('POST', '/reset') }
# ARI through the proxy (see fault_proxy): {start, end (RFC 3339),
# retry_after}, or undef to switch it off.
sub ari { $_[0]->_control('PUT', '/ari', $_[1]) }

# The recorded requests whose path matches $re.
sub requests_to {
    my ($self, $re) = @_;
    return grep { $_->{path} =~ $re } @{$self->proxy_requests};
}

# ---------------------------------------------------------------- certs

sub split_pem {
    my ($pem) = @_;
    return ($pem // '') =~
        /(-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----\r?\n?)/gs;
}

# `openssl verify -CAfile <Pebble's root> -untrusted <rest of the chain>
# <leaf>` on a chain as `pending show --pem` gives it; returns
# (ok, output).
sub verify_chain {
    my ($self, $pem) = @_;
    my @certs = split_pem($pem);
    return (0, 'no certificate in the chain') unless @certs;
    my $n = ++$self->{verifies};
    my $d = "$self->{dir}/verify-$n";
    mkdir $d, 0755;
    _write("$d/root.pem", $self->pebble_root_pem);
    _write("$d/leaf.pem", $certs[0]);
    _write("$d/untrusted.pem", join('', @certs[1 .. $#certs]) || "\n");
    my @cmd = ($OPENSSL, 'verify', '-CAfile', "$d/root.pem",
               (@certs > 1 ? ('-untrusted', "$d/untrusted.pem") : ()),
               '-purpose', 'sslserver', "$d/leaf.pem");
    my $out = `@{[join ' ', map { _shq($_) } @cmd]} 2>&1`;
    return ($? == 0 && $out =~ /: OK$/m ? 1 : 0, $out);
}

sub _x509_text {
    my ($pem, @opts) = @_;
    my $f = File::Temp->new(SUFFIX => '.pem');
    print $f $pem;
    close $f;
    my @cmd = ($OPENSSL, 'x509', '-noout', @opts, '-in', $f->filename);
    my $out = `@{[join ' ', map { _shq($_) } @cmd]} 2>&1`;
    return $out;
}

# The DNS names in the leaf's subjectAltName, sorted.
sub cert_dns_names {
    my ($pem) = @_;
    my ($leaf) = split_pem($pem);
    my $out = _x509_text($leaf, '-ext', 'subjectAltName');
    return sort map { lc } $out =~ /DNS:([^,\s]+)/g;
}

# "ec256", "ec384", "rsa2048", ... of the leaf's public key.
sub cert_key_type {
    my ($pem) = @_;
    my ($leaf) = split_pem($pem);
    my $out = _x509_text($leaf, '-text');
    return 'ec256' if $out =~ /ASN1 OID: prime256v1/;
    return 'ec384' if $out =~ /ASN1 OID: secp384r1/;
    return "rsa$1" if $out =~ /rsaEncryption/ && $out =~ /Public-Key: \((\d+) bit\)/;
    return 'unknown';
}

sub cert_serial_hex {
    my ($pem) = @_;
    my ($leaf) = split_pem($pem);
    my $out = _x509_text($leaf, '-serial');
    return $out =~ /serial=([0-9A-Fa-f]+)/ ? lc $1 : undef;
}

# The public key (PEM) of the leaf, and of a private key file.
sub cert_pubkey {
    my ($pem) = @_;
    my ($leaf) = split_pem($pem);
    return _x509_text($leaf, '-pubkey');
}

sub key_pubkey {
    my ($file) = @_;
    my $out = `$OPENSSL pkey -pubout -in @{[_shq($file)]} 2>&1`;
    return $out;
}

# The SHA-256 fingerprint of the leaf of a PEM chain: lowercase hex.
sub pem_fingerprint {
    my ($pem) = @_;
    my ($leaf) = split_pem($pem);
    return undef unless $leaf;
    my $out = _x509_text($leaf, '-fingerprint', '-sha256');
    return $out =~ /Fingerprint=([0-9A-Fa-f:]+)/ ? lc($1 =~ s/://gr) : undef;
}

# The live pair as httpd would read it now (through the symlinks):
# (1, '') when cert_file's leaf is for key_file's key, else (0, why).
sub live_pair_ok {
    my ($self) = @_;
    my $pem = _slurp($self->live_cert);
    return (0, 'cert_file is unreadable or empty') unless split_pem($pem);
    my $cp = cert_pubkey($pem);
    my $kp = key_pubkey($self->live_key);
    return (0, "key_file: $kp") unless $kp =~ /BEGIN PUBLIC KEY/;
    return (0, "cert_file and key_file do not match") unless $cp eq $kp;
    return (1, '');
}

# ---------------------------------------------------------------- files

sub _write {
    my ($path, $text, $mode) = @_;
    open my $fh, '>', $path or die "write $path: $!";
    print $fh $text;
    close $fh or die "close $path: $!";
    chmod $mode, $path if defined $mode;
}

sub write_file { shift; _write(@_) }

sub _slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    my $t = <$fh>;
    return $t // '';
}

sub slurp { shift; _slurp(@_) }

# ---------------------------------------------------------------- teardown

sub stop {
    my ($self) = @_;
    return if $self->{stopped} || $self->{pid} != $$;
    $self->{stopped} = 1;
    for my $pid (@{$self->{ctl_runs} || []}) {
        # an expacmectl a failed test left running
        if (waitpid($pid, WNOHANG) == 0) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
        }
    }
    for my $p (reverse @{$self->{procs}}) {
        next if $p->{done};
        $self->stop_proc($p->{name});
    }
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@, $!);
    $self->stop;
}

END {
    local $?;
    for my $env (grep { defined } @LIVE) {
        $env->stop;
    }
}

for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub { die "killed by SIG$sig\n" };
}

1;
