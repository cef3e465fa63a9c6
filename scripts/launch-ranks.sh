#!/usr/bin/env bash
# Starts N ranks of a program on this machine with torchrun's rendezvous variables
# (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK) and waits for them. If one rank fails,
# the others are stopped and the exit status is that rank's.
#
#   scripts/launch-ranks.sh N PROGRAM [ARGUMENTS...]
#   scripts/launch-ranks.sh 2 ./build/apps/mapinverse --threads 1 bench --quick
#
# MASTER_ADDR (default 127.0.0.1) and MASTER_PORT (default: a free port) may be set.
set -euo pipefail

if (($# < 2)) || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 N PROGRAM [ARGUMENTS...]   (N >= 1 ranks)" >&2
  exit 2
fi
ranks=$1
shift
address=${MASTER_ADDR:-127.0.0.1}
port=${MASTER_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

pids=()
for ((rank = 0; rank < ranks; ++rank)); do
  MASTER_ADDR=$address MASTER_PORT=$port WORLD_SIZE=$ranks RANK=$rank "$@" &
  pids+=($!)
done

status=0
for ((finished = 0; finished < ranks; ++finished)); do
  if ! wait -n; then
    status=1
    kill "${pids[@]}" 2>/dev/null || true
    wait || true
    break
  fi
done
exit $status
