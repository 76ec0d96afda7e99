#!/bin/sh
# The README's option table must be exactly what conf/options.def says (tools/options-md prints it).
# On a mismatch, paste the expected table between the README's options markers.
set -eu
options_md=$1 readme=$2
expected=$("$options_md")
actual=$(sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' "$readme" | sed '1d;$d')
if [ "$expected" != "$actual" ]; then
	echo "README.md's option table is out of date; expected:"
	echo "$expected"
	exit 1
fi
echo "README option table matches conf/options.def ($(echo "$expected" | wc -l) lines)"
