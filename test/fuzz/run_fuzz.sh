#!/bin/sh
# run_fuzz.sh TARGET SECONDS SEED_DIR SCRATCH_DIR: fuzz TARGET for SECONDS, reading the seeds and
# writing new inputs to SCRATCH_DIR (libFuzzer adds to the first directory it is given).
set -eu
target=$1 seconds=$2 seeds=$3 scratch=$4
mkdir -p "$scratch"
exec "$target" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 \
	-artifact_prefix="$scratch/" "$scratch" "$seeds"
