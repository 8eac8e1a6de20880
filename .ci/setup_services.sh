#!/usr/bin/env bash
# Sourced by .ci/run: services the tests need. Chromium (Debian) for the browser test,
# PostgreSQL (Debian) for the storage tests against PostgreSQL. Never 'playwright install'.
if [ ! -x /usr/bin/chromium ]; then
    echo "== installing Debian chromium for the browser test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "   chromium could not be installed: the browser test will skip"
fi
if pg_env="$(bash .ci/start_postgres.sh)"; then
    eval "$pg_env"
    echo "== PostgreSQL for the tests: $SKYSIFT_TEST_POSTGRES_URL"
else
    echo "   PostgreSQL could not be started: the PostgreSQL storage tests will skip"
fi
