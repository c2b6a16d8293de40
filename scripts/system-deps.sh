#!/usr/bin/env bash
# Debian packages the CRM needs: gettext (compilemessages), Pango + fonts-noto-cjk (WeasyPrint PDFs and Chinese
# text in the browser), chromium (browser tests), postgresql-client (psql for operators), pgbouncer (the load test,
# tests/crm/test_pgbouncer.py).
set -euo pipefail
PACKAGES=(gettext chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 postgresql-client pgbouncer)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them first, e.g.:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
