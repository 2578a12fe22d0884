#!/usr/bin/env bash
# The compose deployment, tested: the README's compose file started with
# images that exist on this machine (the service packed from the binary
# cargo built, by the Dockerfile's `prebuilt` target; PostgreSQL from
# TEST_POSTGRES_IMAGE), waited on until healthy, the README's walk-through
# run against it as written, and everything torn down (`down -v`) however
# it ends.
#
# Usage: scripts/compose-test.sh   (from anywhere; needs docker, curl, jq)
# Environment: TEST_POSTGRES_IMAGE (default postgres:15), RUNTIME_IMAGE
# (default: that PostgreSQL image, a Debian with the service's libc),
# ACCESS_REVIEWS_PORT (default 18080).
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

compose() {
	if docker compose version >/dev/null 2>&1; then
		docker compose "$@"
	else
		docker-compose "$@"
	fi
}

export COMPOSE_PROJECT_NAME="access-reviews-compose-test-$$"
export POSTGRES_IMAGE="${TEST_POSTGRES_IMAGE:-postgres:15}"
export ACCESS_REVIEWS_IMAGE="access-reviews:compose-test-$$"
export ACCESS_REVIEWS_PORT="${ACCESS_REVIEWS_PORT:-18080}"
runtime_image="${RUNTIME_IMAGE:-$POSTGRES_IMAGE}"

cleanup() {
	status=$?
	if [ "$status" -ne 0 ]; then
		echo "compose test failed; the service's log:" >&2
		compose logs --no-color --tail=50 access-reviews >&2 || true
	fi
	compose down -v --remove-orphans >/dev/null 2>&1 || true
	docker rmi -f "$ACCESS_REVIEWS_IMAGE" "$ACCESS_REVIEWS_IMAGE-context" >/dev/null 2>&1 || true
	rm -rf dist
	exit "$status"
}
trap cleanup EXIT

for tool in curl jq; do
	command -v "$tool" >/dev/null || {
		echo "error: the walk-through needs $tool" >&2
		exit 1
	}
done

# The build context holds what the image is built from and nothing else:
# an edit to the docs, scripts, tests or CI files must not reach (or
# rebuild) the image, and every crate's sources must.
context=$(printf 'FROM %s\nCOPY . /context\nRUN cd /context && find . -type f | sort\n' "$runtime_image" |
	docker build --no-cache -t "$ACCESS_REVIEWS_IMAGE-context" -f - . 2>&1 | grep '^\./')
docker rmi "$ACCESS_REVIEWS_IMAGE-context" >/dev/null
for needed in ./Cargo.lock ./migrations/ ./bench/Cargo.toml; do
	grep -q -- "^$needed" <<<"$context" || {
		echo "error: the build context lacks $needed (see .dockerignore)" >&2
		exit 1
	}
done
for crate in crates/*/; do
	for needed in "./${crate}Cargo.toml" "./${crate}src/"; do
		grep -q -- "^$needed" <<<"$context" || {
			echo "error: the build context lacks $needed (see .dockerignore and the Dockerfile)" >&2
			exit 1
		}
	done
	if ! grep -q -- "COPY ${crate}Cargo.toml" Dockerfile; then
		echo "error: the Dockerfile's dependency layer does not copy ${crate}Cargo.toml" >&2
		exit 1
	fi
done
for excluded in ./README.md ./docs/ ./scripts/ ./.ci/ ./target/ ./crates/api/tests/ ./bench/src/; do
	if grep -q -- "^$excluded" <<<"$context"; then
		echo "error: the build context holds $excluded (see .dockerignore)" >&2
		exit 1
	fi
done

cargo build --locked -q -p access-reviews-server --bin access-reviews
mkdir -p dist
cp target/debug/access-reviews dist/access-reviews
docker build -q --target prebuilt --build-arg RUNTIME_IMAGE="$runtime_image" \
	-t "$ACCESS_REVIEWS_IMAGE" . >/dev/null

compose up -d --no-build

# Compose v1 has no `up --wait`: ask the service's health check, which
# calls /readyz from inside the container, until it says healthy.
container=$(compose ps -q access-reviews)
deadline=$((SECONDS + 120))
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$container")" = healthy ]; do
	if [ "$(docker inspect -f '{{.State.Running}}' "$container")" != true ] || [ $SECONDS -ge $deadline ]; then
		echo "error: the service did not become healthy" >&2
		exit 1
	fi
	sleep 1
done

# The README's walk-through, exactly as written there.
walkthrough=$(sed -n '/<!-- walkthrough -->/,/<!-- \/walkthrough -->/p' README.md | sed '1,2d;$d' | sed '$d')
bash -c "$walkthrough"
# Once more on the same database: its names are new each run.
bash -c "$walkthrough" >/dev/null
echo "compose test passed"
