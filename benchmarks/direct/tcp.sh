#!/usr/bin/env bash
# The tcp server and client run once each, directly (for benchmarks/bench.py).
set -u
bin=$1
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/tcp_server" "$port" & server=$!
until printf 'hello\nworld\n' | "$bin/tcp_client" 127.0.0.1 "$port" > /dev/null 2>&1; do :; done
kill -TERM "$server"
wait "$server"
