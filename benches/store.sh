#!/usr/bin/env bash
# Store benchmarks (docs/benchmarks.md): durable writes per second with 1,
# 16 and 64 concurrent writers, in the same run as a bare sled insert +
# flush + fsync loop of the same record size; then, with FILL=N, a store of
# N questions (default 1,000,000) for the lead-time query time, resident
# memory and disk size.
#
#   bash benches/store.sh              # writers only (a minute)
#   FILL=1000000 bash benches/store.sh # plus the million-question store (~10 minutes, ~12 GiB of disk)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
kicer=${CARGO_TARGET_DIR:-target}/release/kicer
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for writers in 1 16 64; do
  count=$(( writers == 1 ? 3000 : 30000 ))
  rm -rf "$work/s" "$work/b"
  $kicer load submit   --data-dir "$work/s" --writers "$writers" --count "$count" --record-bytes 1000
  $kicer load baseline --data-dir "$work/b" --writers "$writers" --count "$count" --record-bytes 1000
  # What sled does with as many keys as a submit writes in store format 4
  # (the record with its events, its catalog block, the question counter
  # and the request id) and with as many as format 3 wrote (16).
  $kicer load baseline --data-dir "$work/b3" --writers "$writers" --count "$count" --record-bytes 1000 --index-keys 3 | sed 's/^bare sled/bare sled, 4 keys/'
  $kicer load baseline --data-dir "$work/b15" --writers "$writers" --count "$count" --record-bytes 1000 --index-keys 15 | sed 's/^bare sled/bare sled, 16 keys/'
  rm -rf "$work/b3" "$work/b15"
done

if [ -n "${FILL:-}" ]; then
  rm -rf "$work/fill"
  /usr/bin/time -f "fill: %e s, max RSS %M KiB" $kicer load fill --data-dir "$work/fill" --questions "$FILL"
  $kicer load query --data-dir "$work/fill"
fi
