#!/usr/bin/env bash
# Install what dpsock builds and tests with, from Debian 12's apt (root). Idempotent.
set -euo pipefail
PACKAGES=(
	# build
	build-essential meson ninja-build pkg-config clang libclang-rt-14-dev clang-format
	dpdk libdpdk-dev libnuma-dev libjemalloc-dev libpcap-dev
	# testbed and peers
	iproute2 iputils-ping arping ethtool procps tshark python3 socat
	# unmodified programs run on dpsock by the tests and the demo
	redis-server redis-tools curl bc nginx-light wrk
	# benchmarks (test/bench/ab.py): clients and plots
	sockperf iperf3 apache2-utils gnuplot-nox
)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture: answer no, without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
# Packages with a service (redis-server) must not start it: the tests start their own instances,
# in their own namespaces. policy-rc.d 101 = "action forbidden" for invoke-rc.d.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
fi
apt-get install -y -q --no-install-recommends "${missing[@]}" || { [ $own_policy = 1 ] && rm -f "$policy"; exit 1; }
if [ $own_policy = 1 ]; then rm -f "$policy"; fi
