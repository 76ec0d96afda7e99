#!/usr/bin/env bash
# test_run_check.sh DPSOCK LIB GO_FIXTURE [STATIC_FIXTURE]: `dpsock run` says, in one line on
# stderr naming the program, when dpsock cannot see a program's sockets (issue 13 item 10), and
# runs it anyway; --strict refuses it (exit 2, not started). Ordinary dynamic programs get no
# line. The fixtures print "fixture ran". No root.
set -uo pipefail
DPSOCK=${1:?usage: $0 DPSOCK LIB GO_FIXTURE [STATIC_FIXTURE]}
LIB=${2:?}
GOFIX=${3:?}
STATIC=${4:-}
WORK=$(mktemp -d /tmp/dps-runcheck.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export ASAN_OPTIONS=detect_leaks=0
PRE=$(ldd "$LIB" | awk '$1 ~ /^libasan\.so/ { print $3 }') # a sanitizer build: its runtime first
fails=0

# run [--strict] PROG [ARGS]: dpsock run with a good configuration; sets RC, OUT, ERR.
run() {
	local strict=()
	if [ "$1" = --strict ]; then strict=(--strict); shift; fi
	env -i PATH="$WORK/bin:$PATH" ASAN_OPTIONS="$ASAN_OPTIONS" ${PRE:+LD_PRELOAD=$PRE} \
		"$DPSOCK" run --dev net_af_packet0,iface=lo --ip 198.18.0.2/24 "${strict[@]}" -- "$@" \
		>"$WORK/o" 2>"$WORK/e" </dev/null
	RC=$?
	OUT=$(cat "$WORK/o")
	ERR=$(cat "$WORK/e")
}

# warns WANT PROG...: the program runs, after exactly one line "dpsock run: WANT..." on stderr;
# with --strict it does not run and the line ends "; not started (--strict)".
warns() {
	local want=$1
	shift
	run "$@"
	if [ $RC != 0 ] || [ "$OUT" != "fixture ran" ] || [ "$(wc -l <<<"$ERR")" != 1 ] ||
		[ "${ERR#"dpsock run: $want"}" = "$ERR" ] ||
		! grep -q "its traffic will go through the kernel$" <<<"$ERR"; then
		echo "FAIL: dpsock run -- $* -> status $RC, stdout '$OUT', stderr:"; echo "$ERR"
		echo "  expected: dpsock run: $want..."
		fails=$((fails + 1))
		return
	fi
	echo "ok: $* -> $ERR"
	run --strict "$@"
	if [ $RC != 2 ] || [ -n "$OUT" ] || [ "${ERR#"dpsock run: $want"}" = "$ERR" ] ||
		! grep -qF "; not started (--strict)" <<<"$ERR"; then
		echo "FAIL: dpsock run --strict -- $* -> status $RC, stdout '$OUT', stderr:"; echo "$ERR"
		fails=$((fails + 1))
		return
	fi
	echo "ok: --strict $* -> exit 2, not started"
}

mkdir -p "$WORK/bin"
cp "$GOFIX" "$WORK/bin/gofix"
warns "$GOFIX is a Go program: Go makes its system calls itself" "$GOFIX"
warns "gofix ($WORK/bin/gofix) is a Go program" gofix
printf '#!/usr/bin/env gofix\n' >"$WORK/go.sh"
chmod +x "$WORK/go.sh"
warns "$WORK/go.sh is a script for $WORK/bin/gofix, which is a Go program" "$WORK/go.sh"
if [ -n "$STATIC" ]; then
	warns "$STATIC is statically linked: no dynamic loader runs it" "$STATIC"
	printf '#!%s -x\n' "$STATIC" >"$WORK/static.sh"
	chmod +x "$WORK/static.sh"
	warns "$WORK/static.sh is a script for $STATIC, which is statically linked" "$WORK/static.sh"
else
	echo "# no libc.a: the static program is not tested"
fi

# Ordinary programs: dynamic ELF, a script for a dynamic shell. No line, they run.
printf '#!/bin/sh\necho fixture ran\n' >"$WORK/bin/plain.sh"
chmod +x "$WORK/bin/plain.sh"
for p in "sh -c 'echo fixture ran'" plain.sh; do
	eval run "$p"
	if [ $RC != 0 ] || [ "$OUT" != "fixture ran" ] || [ -n "$ERR" ]; then
		echo "FAIL: dpsock run -- $p -> status $RC, stdout '$OUT', stderr:"; echo "$ERR"
		fails=$((fails + 1))
	else
		echo "ok: $p -> no line"
	fi
done

# A malformed ELF file: said in one line, never a crash; --strict refuses it.
printf '\177ELF\002\001\001\000\000\000\000\000\000\000\000\000\002\000\076\000' >"$WORK/bad"
head -c 100 /dev/zero >>"$WORK/bad"
chmod +x "$WORK/bad"
run --strict "$WORK/bad"
if [ $RC != 2 ] || [ "$(wc -l <<<"$ERR")" != 1 ] ||
	! grep -qF "dpsock run: $WORK/bad: malformed ELF file: no program headers (not an executable); not started (--strict)" <<<"$ERR"; then
	echo "FAIL: dpsock run --strict -- bad ELF -> status $RC, stderr:"; echo "$ERR"
	fails=$((fails + 1))
else
	echo "ok: malformed ELF -> $ERR"
fi
[ $fails = 0 ] && echo PASS
exit $((fails > 0))
