#!/usr/bin/env bash
# The pytest-xdist arguments of ./scripts/test and .ci/lowest (one home for both).
# Two workers per core: most of a scenario test's time is waiting (a deadline, a failover, a
# browser), so one per core left half the CPU idle (measured: the suite used 48 % of 2 cores).
# --maxschedchunk 1 hands tests out one at a time as workers free up, and tests/conftest.py puts
# the long ones first: the longest-first greedy order, so no worker is left with a run of long
# tests at the end. BIDSERVER_TEST_WORKERS=N sets the count; 0 runs in the calling process.
set -euo pipefail
workers="${BIDSERVER_TEST_WORKERS:-$((2 * $(nproc)))}"
if [ "$workers" = 0 ]; then
  echo "-n 0"
else
  echo "-n $workers --maxschedchunk 1"
fi
