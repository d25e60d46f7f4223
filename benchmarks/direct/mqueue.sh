#!/usr/bin/env bash
# The mqueue programs run once each, directly (for the overhead ratio of benchmarks/bench.py).
set -u
bin=$1 q="/bench-$$-q"
"$bin/mq_create" "$q" 10 256 > /dev/null
"$bin/mq_sender" "$q" 1:low 5:high 3:middle
"$bin/mq_receiver" "$q" 3 > /dev/null
