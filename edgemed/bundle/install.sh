#!/bin/sh
# Installs edgemed from this folder with no network: sh install.sh [--prefix DIR] [--data-dir DIR]
# [--rules-only] [--expect-fingerprint HEX] [--deployer-key deployer.pub] [--allow-unsigned].
# Nothing is installed unless the deployer's signature and every file check out. This script
# comes from the stick: on a blank device, check SHA256SUMS.sig with the device's own openssl
# first (docs/deploy.md); later installs: /opt/edgemed/bin/edgemed bundle install DIR.
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
cd "$here"
echo "Checking every file of the bundle (sha256sum -c SHA256SUMS)..."
if ! sha256sum --quiet --strict -c SHA256SUMS; then
    echo "Error: the bundle is damaged or was changed after it was built; nothing was installed." >&2
    echo "Copy it again from the machine that built it." >&2
    exit 1
fi
echo "Bundle fingerprint: $(sha256sum SHA256SUMS | cut -d ' ' -f 1)"
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
    echo "Error: $python is not installed. On Debian or Raspberry Pi OS: apt-get install python3 python3-venv" >&2
    exit 1
fi
# The installer runs straight out of edgemed's wheel (checked above), with the standard library only.
exec "$python" -I -c 'import sys; sys.path.insert(0, sys.argv[1]); from edgemed.bundle.installer import main; sys.exit(main(sys.argv[2:]))' \
    "$here/wheels/@WHEEL@" "$here" "$@"
