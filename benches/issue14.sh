#!/usr/bin/env bash
# Issue 14's figures in one run, one after the other on the same machine:
# per-station reads against history length (history), the record-visit
# curve against the disk's limit (writes), long lists (lists), and
# `generate --visits-per-station 200`. SQLite, and PostgreSQL when
# BAYIGE_TEST_DATABASE_URL is set. BAYIGE_BENCH_PROFILE=dev runs a debug
# build (default: the bench profile, optimised).
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${BAYIGE_BENCH_PROFILE:-bench}"
export BAYIGE_BENCH_ROUNDS="${BAYIGE_BENCH_ROUNDS:-200}" BAYIGE_BENCH_SECONDS="${BAYIGE_BENCH_SECONDS:-4}"
for bench in history writes lists; do
    echo "### cargo bench --profile $profile --bench $bench"
    cargo bench --quiet --profile "$profile" --bench "$bench"
done
case "$profile" in dev | test) bin=target/debug/bayige ;; *) bin=target/release/bayige ;; esac
cargo build --quiet --profile "$profile" --bin bayige 2>/dev/null || cargo build --quiet --release --bin bayige
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
urls=("sqlite://$dir/generate.db")
if [ -n "${BAYIGE_TEST_DATABASE_URL:-}" ]; then
    db="bayige_generate_$$"
    psql "$BAYIGE_TEST_DATABASE_URL" -qAtc "CREATE DATABASE $db"
    trap 'rm -rf "$dir"; psql "$BAYIGE_TEST_DATABASE_URL" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
    urls+=("${BAYIGE_TEST_DATABASE_URL%/*}/$db")
fi
echo "### generate --units 10 --stations 1000 --visits-per-station 200"
for url in "${urls[@]}"; do
    start=$(date +%s.%N)
    "$bin" --database-url "$url" generate --units 10 --stations 1000 --visits-per-station 200 --seed 7 >/dev/null
    end=$(date +%s.%N)
    echo "${url%%:*}: $(echo "$end - $start" | bc) s"
done
