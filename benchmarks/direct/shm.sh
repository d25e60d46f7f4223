#!/usr/bin/env bash
# The shm programs run once each, directly (for the overhead ratio of benchmarks/bench.py).
set -u
bin=$1
"$bin/shm_writer" "/bench-$$-text" "hello through shared memory"
"$bin/shm_reader" "/bench-$$-text" > /dev/null
"$bin/shm_counter" "/bench-$$-count" 4 100 > /dev/null
