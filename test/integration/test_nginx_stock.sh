#!/usr/bin/env bash
# Debian's stock nginx.conf under `dpsock run`, unchanged where it matters (issue 13 items 8, 4):
# `user www-data;` (the workers drop root before their first packet: the engine starts at their
# setgid, while they are still root), `worker_processes auto;`, the stock site's `listen 80
# default_server; listen [::]:80 default_server;`. Only the paths that would touch the host are
# rewritten (pid, logs, the site's root), and the site gains a `location /backend/` that
# proxy_passes to a backend on 127.0.0.1 (a kernel socket made after the engine started).
#   - the page and a 1 MiB file arrive intact from a kernel client in dps-peer, through dpsock;
#   - the proxied location answers with the backend's content (no 502/503);
#   - the worker that serves runs as www-data, and an engine runs in it (dpsock stat);
#   - nginx logs no [emerg]/[alert]/[crit].
# With one process per device (issue 15 lifts it), a second worker waits dev_wait_ms and then
# serves only loopback: its message is checked to say so. DPSTEST_SHIM_KERNEL=1: the same nginx
# on the kernel.
source "$(dirname "$0")/shim_lib.sh"
need nginx curl
STOCK=/etc/nginx/nginx.conf
[ -r "$STOCK" ] || { echo "SKIP: no $STOCK"; exit 77; }
id www-data >/dev/null 2>&1 || { echo "SKIP: no user www-data"; exit 77; }

shim_up
chmod 755 "$WORK"
mkdir -p "$WORK/html" "$WORK/ng" "$WORK/backend/backend"
head -c 459 /dev/urandom | base64 -w0 | head -c 612 >"$WORK/html/index.html"
head -c 1048576 /dev/urandom >"$WORK/html/big.bin"
echo "backend $$ $RANDOM" >"$WORK/backend/backend/page"
chmod -R a+rX "$WORK/html"

# The stock file with its host paths moved into $WORK, and the stock site (listen 80 and [::]:80)
# in place of sites-enabled.
sed -e "s#^pid .*#pid $WORK/ng/nginx.pid;#" \
	-e "s#/var/log/nginx/#$WORK/ng/#g" \
	-e "s#include /etc/nginx/sites-enabled/\*;#include $WORK/ng/site.conf;#" \
	-e "s#include /etc/nginx/modules-enabled/\*.conf;##" \
	"$STOCK" >"$WORK/ng/nginx.conf"
grep -q '^user www-data;' "$WORK/ng/nginx.conf" || fail "the stock file has no 'user www-data;'"
grep -q '^worker_processes auto;' "$WORK/ng/nginx.conf" || fail "the stock file has no 'worker_processes auto;'"
cat >"$WORK/ng/site.conf" <<CONF
server {
	listen 80 default_server;
	listen [::]:80 default_server;
	root $WORK/html;
	index index.html index.htm index.nginx-debian.html;
	server_name _;
	location / {
		try_files \$uri \$uri/ =404;
	}
	location /backend/ {
		proxy_pass http://127.0.0.1:20051;
	}
}
CONF
# Temp paths nginx writes as www-data.
sed -i "s#^http {#http {\n\tclient_body_temp_path $WORK/ng/body;\n\tproxy_temp_path $WORK/ng/proxy;#" "$WORK/ng/nginx.conf"
chown www-data "$WORK/ng"

# The backend: a kernel server on loopback in dps-stack (no shim).
bg backend ip netns exec dps-stack "$PY" -m http.server 20051 --bind 127.0.0.1 --directory "$WORK/backend"
wait_output backend 'Serving HTTP'

if [ "$SHIM_KERNEL" = 1 ]; then
	bg nginx ip netns exec dps-stack nginx -c "$WORK/ng/nginx.conf" -g 'daemon off;'
else
	bg nginx ip netns exec dps-stack env ${SHIM_ASAN_RT:+LD_PRELOAD=$SHIM_ASAN_RT} \
		${SHIM_ASAN_RT:+ASAN_OPTIONS=detect_leaks=0} \
		"$BUILD/tools/dpsock" run --dev net_af_packet0,iface=dps0 --ip "$STACK_IP/24" -- \
		nginx -c "$WORK/ng/nginx.conf" -g 'daemon off;'
fi
ok=0
for _ in $(seq 300); do
	on_peer curl --noproxy '*' -s -o /dev/null --max-time 1 "http://$STACK_IP/" && { ok=1; break; }
	sleep 0.1
done
[ $ok = 1 ] || { cat "$WORK/ng/error.log" >&2; fail "nginx with the stock config did not answer within 30 s"; }

fetch() { # PATH FILE
	on_peer curl --noproxy '*' -sS --fail --max-time 30 -o "$WORK/got" "http://$STACK_IP$1" ||
		fail "curl http://$STACK_IP$1 failed"
	cmp -s "$WORK/got" "$2" || fail "$1 arrived different"
}
fetch / "$WORK/html/index.html"
fetch /big.bin "$WORK/html/big.bin"
note "the page and 1 MiB intact through nginx with Debian's nginx.conf"
fetch /backend/page "$WORK/backend/backend/page"
note "proxy_pass to 127.0.0.1 answers with the backend's page"
for _ in $(seq 20); do fetch /backend/page "$WORK/backend/backend/page"; done
note "20 more proxied requests answered"

master=$(cat "$WORK/ng/nginx.pid")
workers=$(pgrep -P "$master" | tr '\n' ' ')
note "master $master (user $(ps -o user= -p "$master")), workers: $workers"
# A worker that is still root is waiting for the device in its setgid (dev_wait_ms, 5 s).
for w in $workers; do
	for _ in $(seq 150); do
		[ "$(ps -o user= -p "$w" | tr -d ' ')" = www-data ] && break
		sleep 0.1
	done
	[ "$(ps -o user= -p "$w" | tr -d ' ')" = www-data ] || fail "worker $w does not run as www-data"
done
if [ "$SHIM_KERNEL" != 1 ]; then
	serving=
	for w in $workers; do
		out=$("$BUILD/tools/dpsock" stat "$w" 2>/dev/null) || continue
		echo "$out" | awk '$1 == "tcp_accepts" { ok = $2 > 0 } END { exit !ok }' && serving=$w
	done
	[ -n "$serving" ] || fail "no worker runs an engine that accepted connections (dpsock stat)"
	note "worker $serving (www-data) serves through its engine"
	[ -e "/var/run/dpdk/dpsock$master" ] && fail "the master started DPDK"
	if [ "$(echo $workers | wc -w)" -gt 1 ]; then
		# nginx sends its workers' stderr to its error log.
		grep -qh "in use by process.*will not be reachable" "$WORK/nginx.err" "$WORK/ng/error.log" ||
			fail "a worker without the device did not say it is unreachable"
		note "the other worker says: $(grep -h -m1 'in use by process' "$WORK/nginx.err" "$WORK/ng/error.log" | cut -c1-140)..."
	fi
fi
kill -QUIT "$master"
job_wait nginx 30
[ "$JOB_RC" = 0 ] || fail "nginx exited with status $JOB_RC"
grep -E '\[(alert|emerg|crit)\]' "$WORK/ng/error.log" && fail "nginx logged errors"
echo "PASS"
