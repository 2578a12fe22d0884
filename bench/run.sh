#!/usr/bin/env bash
# The benchmark, one command: PostgreSQL (the tests' image, or DATABASE_URL),
# the release service and the thin service on it, N seeded reviews, the load
# at several connection counts, pgbench, and the many-item stops. Prints the
# table and writes it into docs/benchmarks.md, between its table markers
# (BENCH_OUT to change, "-" for none). Run it on an otherwise idle machine.
#
#   bench/run.sh                      # N = 20,000, 5 s per figure
#   BENCH_REVIEWS=200 BENCH_SECONDS=2 BENCH_ITEMS=100,1000 BENCH_OUT=- \
#     BENCH_PROFILE=dev bench/run.sh  # the plumbing, quickly (CI)
#
# Settings: BENCH_REVIEWS, BENCH_SECONDS, BENCH_CONNECTIONS (8,32,64),
# BENCH_REQUESTS (definition,instance,stage,item,stop: fewer for a quick
# side-by-side comparison of one),
# BENCH_ITEMS (1000,10000,100000), BENCH_PROFILE (release), SERVICE_BIN (a
# service binary to measure instead of this checkout's), BENCH_LABEL,
# DATABASE_URL (an empty database; a local pgbench is then used if found),
# TEST_POSTGRES_IMAGE (default postgres:15).
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

profile="${BENCH_PROFILE:-release}"
cargo build -q --profile "$profile" -p access-reviews-server -p access-reviews-bench
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
case "$profile" in dev) bin="$target_dir/debug" ;; *) bin="$target_dir/$profile" ;; esac

args=()
if [ -n "${DATABASE_URL:-}" ]; then
	database_url="$DATABASE_URL"
	command -v pgbench >/dev/null 2>&1 || args+=(--no-pgbench)
else
	image="${TEST_POSTGRES_IMAGE:-postgres:15}"
	container="access-reviews-bench-$$"
	trap 'docker rm -f -v "$container" >/dev/null 2>&1 || true' EXIT
	# The data in a volume, as the official image declares it (not in the
	# container's layered file system).
	docker run -d --name "$container" -p 127.0.0.1::5432 -v /var/lib/postgresql/data \
		-e POSTGRES_USER=bench -e POSTGRES_PASSWORD=bench -e POSTGRES_DB=bench \
		"$image" -c max_connections=200 -c shared_buffers=256MB >/dev/null
	# Ready when it accepts a query over TCP (the image's first start runs
	# a temporary server on the socket only).
	for _ in $(seq 1 600); do
		if docker exec "$container" psql -h 127.0.0.1 -U bench -d bench -c 'SELECT 1' >/dev/null 2>&1; then
			break
		fi
		sleep 0.1
	done
	# Straight to the container when this machine can reach it: the
	# published port goes through Docker's user-space proxy, whose CPU
	# both services would pay.
	address="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$container")"
	if [ -n "$address" ] && docker exec "$container" true && timeout 2 bash -c "exec 3<>/dev/tcp/$address/5432" 2>/dev/null; then
		database_url="postgres://bench:bench@$address:5432/bench"
	else
		port="$(docker port "$container" 5432/tcp | head -n1 | sed 's/.*://')"
		database_url="postgres://bench:bench@127.0.0.1:$port/bench"
	fi
	args+=(--pgbench-container "$container" --pgbench-url "postgres://bench:bench@127.0.0.1:5432/bench")
fi

out="${BENCH_OUT:-docs/benchmarks.md}"
[ "$out" = "-" ] || args+=(--out "$out")

"$bin/access-reviews-bench" \
	--service-bin "${SERVICE_BIN:-$bin/access-reviews}" \
	--thin-bin "$bin/thin-service" \
	--database-url "$database_url" \
	--reviews "${BENCH_REVIEWS:-20000}" \
	--seconds "${BENCH_SECONDS:-5}" \
	--connections "${BENCH_CONNECTIONS:-8,32,64}" \
	--requests "${BENCH_REQUESTS:-definition,instance,stage,item,stop}" \
	--items "${BENCH_ITEMS:-1000,10000,100000}" \
	--label "${BENCH_LABEL:-service}" \
	"${args[@]}"
