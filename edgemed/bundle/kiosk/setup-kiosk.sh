#!/bin/sh
# Turns a device with edgemed installed (install.sh) into a clinic kiosk: the app on tty1 at boot,
# restarted if it ends, no login prompt or shell on any console. Run as root, once:
#     sudo sh kiosk/setup-kiosk.sh [--prefix /opt/edgemed] [--data-dir /var/lib/edgemed]
# Undo: systemctl disable --now edgemed-kiosk; systemctl unmask getty@tty1 ctrl-alt-del.target;
#       rm /etc/systemd/logind.conf.d/edgemed-kiosk.conf
set -eu
prefix=/opt/edgemed
data=/var/lib/edgemed
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=$2; shift 2 ;;
        --data-dir) data=$2; shift 2 ;;
        *) echo "Usage: $0 [--prefix DIR] [--data-dir DIR]" >&2; exit 2 ;;
    esac
done
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then echo "Error: run as root (sudo sh $0)." >&2; exit 1; fi
if [ ! -x "$prefix/current/bin/edgemed" ]; then
    echo "Error: edgemed is not installed in $prefix: run install.sh first." >&2; exit 1
fi
nologin=$(command -v nologin || echo /usr/sbin/nologin)
# A system user with no password and no login shell: the app is all it can run.
if ! id edgemed >/dev/null 2>&1; then
    useradd --system --home-dir "$data" --no-create-home --shell "$nologin" edgemed
fi
mkdir -p "$data"
chown -R edgemed:edgemed "$data"
chmod 0700 "$data"
sed -e "s|/opt/edgemed|$prefix|g" -e "s|/var/lib/edgemed|$data|g" \
    "$here/edgemed-kiosk.service" > /etc/systemd/system/edgemed-kiosk.service
# No login prompt on tty1 (the app has it) nor on tty2-tty6 (Ctrl+Alt+F2 shows nothing).
systemctl mask getty@tty1.service
mkdir -p /etc/systemd/logind.conf.d
printf '[Login]\nNAutoVTs=0\nReserveVT=0\n' > /etc/systemd/logind.conf.d/edgemed-kiosk.conf
# Ctrl+Alt+Del must not reboot the clinic device in the middle of an encounter.
systemctl mask ctrl-alt-del.target
systemctl daemon-reload
systemctl enable edgemed-kiosk.service
echo "Kiosk ready: reboot, and the app opens on the screen. The first start asks for the first"
echo "user and passphrase. Maintenance: ssh in, or boot with a keyboard and systemd.unit=rescue.target."
