#!/usr/bin/env bash
# The sem programs run once each, directly (for the overhead ratio of benchmarks/bench.py).
set -u
bin=$1 p="/bench-$$-pc"
"$bin/pc_init" "$p"
"$bin/producer" "$p" 1 40 & producer=$!
"$bin/consumer" "$p" 40 > /dev/null
wait "$producer"
"$bin/pc_cleanup" "$p"
