#!/usr/bin/env bash
# Installs (or upgrades in place) the fleetdock controller as a systemd service on this machine.
#
#   sudo bash deploy/install-controller.sh [--listen HOST:PORT]
#
# Run it as root from an unpacked release or a built checkout (dist/, bin/, migrations/, package.json,
# package-lock.json and node_modules/ from `npm ci` with the same Node.js major as this machine's).
# It needs node >= 20.19 and systemd, and no network: production packages are copied from the
# checkout's node_modules (development ones left out, as package-lock.json marks them).
#
# What it does, each step safe to repeat:
#   - creates the `fleetdock` system user (once);
#   - copies the code to a new directory beside /opt/fleetdock and swaps it in; the previous code
#     stays in /opt/fleetdock.previous until the next upgrade;
#   - writes /etc/fleetdock/controller.env on the first run (--listen changes it on any run) and
#     installs deploy/fleetdock-controller.service, enabled;
#   - links /usr/local/bin/fleetdock to the CLI;
#   - (re)starts the service and waits until GET /v1/health answers.
# The data in /var/lib/fleetdock (SQLite, admin.token, the controller's CA) is never touched here.
set -euo pipefail

PREFIX=/opt/fleetdock
DATA_DIR=/var/lib/fleetdock
CONFIG_DIR=/etc/fleetdock
ENV_FILE=$CONFIG_DIR/controller.env
UNIT=fleetdock-controller
UNIT_PATH=/etc/systemd/system/$UNIT.service
SERVICE_USER=fleetdock
DEFAULT_LISTEN=0.0.0.0:7700
HEALTH_TIMEOUT_SECONDS=60
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

say() { printf '==> %s\n' "$*"; }
die() {
  printf 'install-controller: %s\n' "$*" >&2
  exit 1
}
usage() {
  cat <<EOF
usage: sudo bash deploy/install-controller.sh [--listen HOST:PORT]

Installs or upgrades the fleetdock controller from this checkout ($SRC) to $PREFIX
as the systemd service $UNIT.

  --listen HOST:PORT   address the controller listens on (default $DEFAULT_LISTEN on the first
                       install; an upgrade keeps what $ENV_FILE says)
EOF
}

LISTEN=
while [ $# -gt 0 ]; do
  case $1 in
    --listen) [ $# -ge 2 ] || die '--listen needs HOST:PORT'; LISTEN=$2; shift 2 ;;
    --listen=*) LISTEN=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
if [ -n "$LISTEN" ] && ! [[ $LISTEN =~ ^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$ ]]; then
  die "--listen '$LISTEN' is not HOST:PORT (e.g. 0.0.0.0:7700)"
fi

# --- checks, before anything changes -------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "must be run as root: it installs to $PREFIX, creates the '$SERVICE_USER' user and a systemd unit (try: sudo bash $0)"
if [ ! -d /run/systemd/system ] || ! command -v systemctl >/dev/null; then
  # shellcheck disable=SC2016 # the backquotes are literal: a command to type
  die 'systemd is not running here, and the controller is installed as a systemd service; without systemd use the container image (deploy/Containerfile) or run `node bin/fleetdock.js controller` under your own supervisor'
fi
NODE=$(command -v node || true)
[ -n "$NODE" ] || die 'node is not installed (or not on PATH): install Node.js 20.19 or later, e.g. from https://nodejs.org or your distribution'
NODE=$(readlink -f "$NODE")
case $NODE in
  # The unit has ProtectHome=yes and runs as $SERVICE_USER: a node in a home directory (nvm, asdf)
  # or a user's runtime dir would not start (203/EXEC), and only after the code was swapped in.
  /home/* | /root/* | /run/user/*) die "node is $NODE, which the service (ProtectHome=yes, user $SERVICE_USER) cannot run: install Node.js 20.19 or later system-wide (e.g. /usr/bin/node or /usr/local/bin/node)" ;;
esac
if ! "$NODE" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  die "fleetdock needs Node.js 20.19 or later; $NODE is $("$NODE" --version)"
fi
for need in dist/cli/main.js dist/controller/server.js bin/fleetdock.js migrations package.json package-lock.json node_modules deploy/fleetdock-controller.service; do
  [ -e "$SRC/$need" ] || die "$SRC is not a built checkout: $need is missing (run \`npm ci\` there first, or unpack a release)"
done
[ "$SRC" != "$PREFIX" ] || die "run this from the unpacked release or checkout, not from $PREFIX itself (it replaces $PREFIX)"

# --- the service user ----------------------------------------------------------------------------
if ! getent passwd "$SERVICE_USER" >/dev/null; then
  say "creating the system user $SERVICE_USER"
  useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin --comment 'fleetdock controller' "$SERVICE_USER"
fi

# --- the code: staged beside $PREFIX, checked, then swapped in -----------------------------------
STAGE=$(mktemp -d "$(dirname "$PREFIX")/.fleetdock-new.XXXXXX")
trap '[ -z "${STAGE:-}" ] || rm -rf "$STAGE"' EXIT
say "copying $SRC to $PREFIX (production packages only)"
cp -R "$SRC/bin" "$SRC/dist" "$SRC/migrations" "$SRC/deploy" "$SRC/package.json" "$SRC/package-lock.json" "$STAGE/"
[ ! -e "$SRC/README.md" ] || cp "$SRC/README.md" "$STAGE/"
"$NODE" "$SRC/deploy/copy-production-modules.mjs" "$SRC" "$STAGE" >/dev/null
chown -R root:root "$STAGE"
chmod -R u=rwX,go=rX "$STAGE"
chmod 0755 "$STAGE"
# The native add-ons were built where the checkout was installed: they must load under this node.
if ! sqlite_error=$("$NODE" -e 'new (require(process.argv[1]))(":memory:").close()' "$STAGE/node_modules/better-sqlite3" 2>&1); then
  die "better-sqlite3 from $SRC/node_modules does not load under $NODE ($("$NODE" --version)); run \`npm rebuild\` (or \`npm ci\`) in $SRC with this node, then run this again: ${sqlite_error##*$'\n'}"
fi
"$NODE" "$STAGE/bin/fleetdock.js" controller --help >/dev/null || die "the copied CLI does not run: $NODE $STAGE/bin/fleetdock.js controller --help"
VERSION=$("$NODE" -p 'require(process.argv[1]).version' "$STAGE/package.json")

if [ -e "$PREFIX" ]; then
  rm -rf "$PREFIX.previous"
  mv "$PREFIX" "$PREFIX.previous"
fi
mv "$STAGE" "$PREFIX"
STAGE=

# --- configuration and unit ----------------------------------------------------------------------
install -d -m 0755 "$CONFIG_DIR"
if [ ! -e "$ENV_FILE" ]; then
  cat >"$ENV_FILE.tmp" <<EOF
# Local settings of the fleetdock controller (read by $UNIT.service; restart it after a change).
# Address it listens on, HOST:PORT.
FLEETDOCK_LISTEN=${LISTEN:-$DEFAULT_LISTEN}
# More \`fleetdock controller\` options, e.g. --tls-san controller.example.com
FLEETDOCK_CONTROLLER_OPTS=
EOF
  chmod 0644 "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
elif [ -n "$LISTEN" ]; then
  { grep -v '^FLEETDOCK_LISTEN=' "$ENV_FILE" || true; printf 'FLEETDOCK_LISTEN=%s\n' "$LISTEN"; } >"$ENV_FILE.tmp"
  chmod 0644 "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
fi
EFFECTIVE_LISTEN=$(sed -n 's/^FLEETDOCK_LISTEN=//p' "$ENV_FILE" | tail -n 1 | tr -d "\"'")
EFFECTIVE_LISTEN=${EFFECTIVE_LISTEN:-$DEFAULT_LISTEN}

# The unit names /usr/bin/node; a node elsewhere (e.g. /usr/local/bin) is written in instead.
sed "s#^ExecStart=/usr/bin/node #ExecStart=$NODE #" "$PREFIX/deploy/fleetdock-controller.service" >"$UNIT_PATH.tmp"
chmod 0644 "$UNIT_PATH.tmp"
mv "$UNIT_PATH.tmp" "$UNIT_PATH"
ln -sfn "$PREFIX/bin/fleetdock.js" /usr/local/bin/fleetdock

say "starting $UNIT"
systemctl daemon-reload
systemctl enable --quiet "$UNIT"
systemctl restart "$UNIT"
if ! URL=$("$NODE" "$PREFIX/deploy/healthcheck.mjs" "$EFFECTIVE_LISTEN" "$HEALTH_TIMEOUT_SECONDS"); then
  journalctl -u "$UNIT" -n 30 --no-pager >&2 || true
  die "$UNIT did not answer GET /v1/health on $EFFECTIVE_LISTEN within $HEALTH_TIMEOUT_SECONDS s (its log is above; the previous code is in $PREFIX.previous)"
fi

# --- what next -----------------------------------------------------------------------------------
PUBLIC_URL=$URL
case $EFFECTIVE_LISTEN in
  0.0.0.0:* | \[::\]:*) PUBLIC_URL="${URL%%://*}://$(hostname -f 2>/dev/null || hostname):${EFFECTIVE_LISTEN##*:}" ;;
esac
cat <<EOF

fleetdock controller $VERSION is running: $URL  (systemctl status $UNIT; journalctl -u $UNIT)
  admin token  $DATA_DIR/admin.token  (root and $SERVICE_USER only; made on the first start)
EOF
[ ! -e "$DATA_DIR/tls/ca.pem" ] || printf '  CA           %s  (the controller made it; join tokens pin it)\n' "$DATA_DIR/tls/ca.pem"
cat <<EOF
  settings     $ENV_FILE
  code         $PREFIX (CLI: /usr/local/bin/fleetdock)

Next steps:
EOF
if [ -e "$DATA_DIR/tls/ca.pem" ]; then
  cat <<EOF
  sudo cat $DATA_DIR/tls/ca.pem > ~/fleetdock-ca.pem   # the controller's CA (public); the CLI trusts only it
  export FLEETDOCK_URL=$PUBLIC_URL FLEETDOCK_CA_FILE=~/fleetdock-ca.pem FLEETDOCK_TOKEN="\$(sudo cat $DATA_DIR/admin.token)"
EOF
else
  cat <<EOF
  export FLEETDOCK_URL=$PUBLIC_URL FLEETDOCK_TOKEN="\$(sudo cat $DATA_DIR/admin.token)"
EOF
fi
cat <<EOF
  fleetdock group create builders
  fleetdock group set builders --registry-mirror https://mirror.internal:5000
  fleetdock token create --group builders     # a join token for the build servers of that group
  fleetdock bootstrap --inventory hosts.txt --group builders -i ~/.ssh/KEY   # the agents, over SSH (README: Deployment)
EOF
