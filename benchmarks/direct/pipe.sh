#!/usr/bin/env bash
# The pipe programs run once each, directly, as the checks run them (for the overhead ratio).
set -u
bin=$1
head -c 1572864 /dev/urandom > "$TMPDIR/in"
printf 'hello through the pipe\n' | "$bin/pipe_relay" > /dev/null
"$bin/pipe_relay" < "$TMPDIR/in" > /dev/null
"$bin/pipe_writer" 1000000 2>/dev/null | head -n 3 > /dev/null
"$bin/pipe_info" < /dev/null > /dev/null
"$bin/pipe_info" 100000 < /dev/null > /dev/null
sleep 0 | "$bin/pipe_info" > /dev/null
