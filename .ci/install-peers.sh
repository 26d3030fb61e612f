#!/usr/bin/env bash
# Installs the real third-party peers the interop stage runs against (Debian packages).
# Idempotent. Run as root (CI runs as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=(sip-tester libsrtp2-dev tshark opus-tools libopus-dev libspandsp-dev baresip kamailio sox gcc make pkg-config iproute2 espeak-ng openssl python3-websockets dnsmasq-base bind9-dnsutils linphone-cli)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for p in "${need[@]}"; do
  printf '%-16s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo missing)"
done
