#!/usr/bin/env bash
# The fifo programs run once each, directly (for the overhead ratio of benchmarks/bench.py).
set -u
bin=$1 f="$TMPDIR/f"
"$bin/fifo_server" "$f" 1 > /dev/null & server=$!
until [ -p "$f" ]; do :; done
"$bin/fifo_client" "$f" "hello through the fifo"
wait "$server"
