# Shared by bench/run.sh and bench/cases.sh (sourced, POSIX sh): a free
# port, the server started on it, and a demo account signed in.

freeport() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# bench_serve BIN LOG [VAR=value...]: the server on a free port with those
# variables, its log in LOG; sets $port and $srv (the server's pid), once it
# answers /healthz. The xlsx export of bench/cases.sh runs on an event loop
# for as long as it takes: past FK_IDLE_TIMEOUT (60 s) the client's
# connection would be closed when the loop comes back (docs/benchmarks.md);
# the benches wait, and time the writer on one request past the synchronous
# cap that sends users to the export job (FK_EXPORT_SYNC_MAX, docs/cases.md).
bench_serve() {
    _bin=$1 _log=$2
    shift 2
    port=$(freeport)
    env FK_IDLE_TIMEOUT="${FK_IDLE_TIMEOUT:-900}" \
        FK_EXPORT_SYNC_MAX="${FK_EXPORT_SYNC_MAX:-100000000}" "$@" "$_bin" serve --port "$port" 2>"$_log" &
    srv=$!
    for _i in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
}

# bench_login ACCOUNTS ROLE: the session cookie of the demo's account of
# that role (accounts.txt as `fangkong demo` writes it: role user password
# region); empty when refused.
bench_login() {
    _user=$(awk -v r="$2" '$1==r {print $2}' "$1")
    _pass=$(awk -v r="$2" '$1==r {print $3}' "$1")
    curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
        -d "{\"username\":\"$_user\",\"password\":\"$_pass\"}" "http://127.0.0.1:$port/api/v1/auth/login" |
        sed -n 's/^[Ss]et-[Cc]ookie: \(fk_session=[0-9a-f]*\).*/\1/p'
}

# bench_poll URL COOKIE FIELD FINAL OUT: GET URL every 0.1 s until the reply's
# string FIELD matches the extended regular expression FINAL; the last reply
# in OUT, its FIELD printed. Read with sed: a node started on every poll took
# most of one of the machine's two cores from the server being measured.
bench_poll() {
    while :; do
        curl -s -H "Cookie: $2" "$1" >"$5"
        _v=$(sed -n "s/.*\"$3\":\"\([^\"]*\)\".*/\1/p" "$5")
        echo "$_v" | grep -Eqx "$4" && break
        sleep 0.1
    done
    echo "$_v"
}

# bench_nginx_static WORK: nginx serving WORK/www on a free port (sets
# $nport), its pid, log and temporary files under WORK: the reference the
# benches divide by (a static file of the reply's size, same wrk settings).
bench_nginx_static() {
    mkdir -p "$1/www" "$1/nginx"
    # run as root, nginx's workers are `nobody`: a mktemp folder (0700)
    # would answer 403 instead of the file
    chmod 755 "$1" "$1/www"
    nport=$(freeport)
    cat >"$1/nginx.conf" <<CONF
worker_processes 2;
pid $1/nginx.pid;
error_log $1/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $1/nginx; proxy_temp_path $1/nginx;
    fastcgi_temp_path $1/nginx; uwsgi_temp_path $1/nginx; scgi_temp_path $1/nginx;
    server { listen 127.0.0.1:$nport; root $1/www; default_type application/json; }
}
CONF
    nginx -c "$1/nginx.conf" -p "$1"
}

# bench_lookup_lua CITY OUT: the wrk script of the look-up by id number,
# each request a random id of CITY/ids.txt (bench/lookup-hot.sh's city).
bench_lookup_lua() {
    {
        echo 'local ids = {}'
        echo "for line in io.lines(\"$1/ids.txt\") do ids[#ids + 1] = line end"
        echo 'request = function()'
        echo '  return wrk.format("GET", "/api/v1/persons?id_number=" .. ids[math.random(#ids)])'
        echo 'end'
    } >"$2"
}
