#!/usr/bin/env bash
# socat on dpsock (LD_PRELOAD shim) moving bulk data to and from socat on the kernel's TCP in
# dps-peer, sha256-exact:
#   a. socat on dpsock listens (TCP-LISTEN) and writes to a file; the peer sends a file
#   b. the peer listens; socat on dpsock connects and sends a file
#   c. socat on dpsock relays a connection (both of its sockets on dpsock, data both ways):
#      a kernel client -> relay -> a kernel echo server, and the echo back
source "$(dirname "$0")/shim_lib.sh"
need socat
BYTES=${DPSTEST_SHIM_BYTES:-$(sized 67108864 8388608)}

shim_up
head -c "$BYTES" /dev/urandom >"$WORK/data.src"
want=$(sha256sum <"$WORK/data.src" | cut -d' ' -f1)
note "$BYTES bytes, sha256 $want"

# same FILE: fail unless FILE has the sha256 of data.src.
same() {
	local got
	got=$(sha256sum <"$1" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "${1##*/}: $(stat -c %s "$1") bytes, sha256 $got"
}

note "a. socat on dpsock listens, the peer sends"
bg_stack sink socat -d -d -u TCP-LISTEN:20030,reuseaddr OPEN:"$WORK/a.got",creat,trunc
wait_output sink 'listening on'
# Retried for at most about 25 s (7 tries of at most 3 s): "listening" comes at listen(), when
# the shim's engine may still be starting.
SHIM_TIMEOUT=60 on_peer socat -u OPEN:"$WORK/data.src" \
	TCP:$STACK_IP:20030,connect-timeout=3,retry=6,interval=0.5 ||
	fail "peer socat (sender) could not send to socat on dpsock"
expect_ok sink
same "$WORK/a.got"

note "b. the peer listens, socat on dpsock connects and sends"
bg_peer psink socat -u TCP-LISTEN:20031,reuseaddr,bind=$PEER_IP OPEN:"$WORK/b.got",creat,trunc
wait_peer_listen 20031
on_stack socat -u OPEN:"$WORK/data.src" TCP:$PEER_IP:20031 || fail "socat on dpsock (sender)"
expect_ok psink
same "$WORK/b.got"

note "c. socat on dpsock relays a kernel client to a kernel echo server"
bg_peer echosrv "$PY" "$IT/tcp_client.py" serve $PEER_IP 20033 110
wait_peer_listen 20033
bg_stack relay socat -d -d TCP-LISTEN:20032,reuseaddr TCP:$PEER_IP:20033
wait_output relay 'listening on'
on_peer "$PY" "$IT/shim_peer.py" clients $STACK_IP 20032 1 $((BYTES / 4)) || fail "echo through the relay"
expect_ok relay
echo "PASS"
