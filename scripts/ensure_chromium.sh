#!/bin/sh
# The browser tests (tests/ui) drive Debian's chromium, never a downloaded browser: install the
# package when it is missing and this user may (root, or sudo without a password).
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "chromium is missing and apt-get needs root: the browser tests will be skipped" \
    "(apt-get install chromium)" >&2
  exit 0
fi
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
  --no-install-recommends chromium >/dev/null; }; then
  echo "installing chromium failed: the browser tests will say so" >&2
fi
exit 0
