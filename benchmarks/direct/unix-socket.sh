#!/usr/bin/env bash
# The unix-socket server and client run once each, directly (for benchmarks/bench.py).
set -u
bin=$1 s="$TMPDIR/s"
"$bin/unix_server" "$s" & server=$!
until printf 'hello\nworld\n' | "$bin/unix_client" "$s" > /dev/null 2>&1; do :; done
kill -TERM "$server"
wait "$server"
