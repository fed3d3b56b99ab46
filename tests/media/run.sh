#!/bin/sh
# Browser proof for ds-media: builds the example server, then runs Playwright with headless
# Chromium and the server inside a network namespace that has only loopback, so no WebRTC
# traffic can reach any other interface. Needs root (unshare -n). Not part of CI.
set -eu
cd "$(dirname "$0")/../.."
TARGET="${CARGO_TARGET_DIR:-target}"
cargo build -p ds-media --example echo_page
export MEDIA_SERVER_BIN="$(cd "$TARGET" && pwd)/debug/examples/echo_page"
exec unshare -n sh -c 'ip link set lo up && npx playwright test --config tests/media/playwright.config.ts "$@"' sh "$@"
