#!/usr/bin/env bash
# curl on dpsock (LD_PRELOAD shim) fetches a 10 MiB random file from a kernel HTTP server
# (python3 -m http.server in dps-peer): the sha256 must match, the status must be 200 and the
# size exact; a missing file must give 404 (curl --fail: exit status 22).
source "$(dirname "$0")/shim_lib.sh"
need curl
# Debian 12's curl hangs in setlocale() at start-up when an ASan runtime is preloaded into it,
# with or without dpsock: an ASan-built shim cannot be tested with it (the normal build does).
if [ -n "$SHIM_ASAN_RT" ] &&
	! LD_PRELOAD="$SHIM_ASAN_RT" ASAN_OPTIONS=detect_leaks=0 timeout 5 curl --version >/dev/null 2>&1; then
	echo "SKIP: curl hangs with $SHIM_ASAN_RT preloaded (not dpsock's doing); the normal build runs this test"
	exit 77
fi
BYTES=${DPSTEST_SHIM_BYTES:-10485760}
PORT=20010
URL=http://$PEER_IP:$PORT

shim_up
mkdir "$WORK/www"
head -c "$BYTES" /dev/urandom >"$WORK/www/blob.bin"
want=$(sha256sum <"$WORK/www/blob.bin" | cut -d' ' -f1)
bg_peer httpd "$PY" -m http.server --bind $PEER_IP --directory "$WORK/www" $PORT
wait_peer_listen $PORT

# --noproxy: a proxy from the environment must not take the request out of the testbed.
note "GET $URL/blob.bin ($BYTES bytes) with curl on dpsock"
on_stack curl --noproxy '*' -sS --fail --max-time 60 -o "$WORK/got.bin" \
	-w '%{http_code} %{size_download}\n' "$URL/blob.bin" >"$WORK/curl.out" || fail "curl failed"
cat "$WORK/curl.out"
[ "$(cat "$WORK/curl.out")" = "200 $BYTES" ] || fail "expected '200 $BYTES'"
got=$(sha256sum <"$WORK/got.bin" | cut -d' ' -f1)
note "sha256 sent $want"
note "sha256 got  $got"
[ "$got" = "$want" ] || fail "the file arrived different"

note "GET $URL/missing: 404"
rc=0
on_stack curl --noproxy '*' -sS --fail --max-time 30 -o /dev/null "$URL/missing" 2>"$WORK/curl404.log" ||
	rc=$?
[ $rc = 22 ] && grep -q 404 "$WORK/curl404.log" || fail "missing file: curl status $rc, expected 22 (404)"
echo "PASS"
