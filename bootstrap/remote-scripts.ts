/**
 * The shell scripts bootstrap and uninstall run on a host as root (POSIX sh, coreutils, systemctl).
 * Pure data: every value comes in as a positional argument (`$1`...), never spliced into the text,
 * and file contents come on stdin, so a token never shows up in a process list. ssh-session.ts runs
 * them; the planners decide which.
 */
import { SCRIPT_PATH } from './host-facts.js';
import { AGENT_PATHS } from './install-plan.js';

const PRELUDE = `set -eu\nPATH=${SCRIPT_PATH}; export PATH\n`;

/**
 * Writes stdin to `$1` atomically with mode `$2`, owned by root: a temp file in the same directory,
 * chmod, rename. Creates the directory (0755) when missing.
 */
export const WRITE_FILE_SCRIPT = `${PRELUDE}dir=$(dirname "$1")
mkdir -p -m 0755 "$dir"
tmp="$dir/.$(basename "$1").fleetdock-tmp.$$"
trap 'rm -f "$tmp"' EXIT
umask 077
cat > "$tmp"
chmod "$2" "$tmp"
chown root:root "$tmp"
mv -f "$tmp" "$1"
trap - EXIT
`;

/**
 * Receives the agent binary on stdin into a temp name beside `$1`, checks its sha256 against `$2`,
 * makes it executable and renames it over `$1`: a half-sent or damaged binary never takes its place.
 */
export const UPLOAD_BINARY_SCRIPT = `${PRELUDE}dir=$(dirname "$1")
mkdir -p -m 0755 "$dir"
tmp="$dir/.$(basename "$1").upload.$$"
trap 'rm -f "$tmp"' EXIT
umask 077
cat > "$tmp"
got=$(sha256sum "$tmp" | cut -d ' ' -f 1)
if [ "$got" != "$2" ]; then echo "the upload arrived damaged (sha256 $got, expected $2)" >&2; exit 1; fi
chmod 0755 "$tmp"
chown root:root "$tmp"
mv -f "$tmp" "$1"
trap - EXIT
`;

/** The agent's MainPID as `main_pid=N` (0 when it is not running). */
export const AGENT_PID_SCRIPT = `PATH=${SCRIPT_PATH}; export PATH
echo "main_pid=$(systemctl show -p MainPID --value ${AGENT_PATHS.unitName} 2>/dev/null)"
`;

/**
 * `$1` = 1: daemon-reload; `$2` = 1: enable; `$3`: none, start or restart the agent. Prints the
 * agent's MainPID afterwards as `main_pid=N`.
 */
export const SYSTEMD_AGENT_SCRIPT = `${PRELUDE}if [ "$1" = 1 ]; then systemctl daemon-reload; fi
if [ "$2" = 1 ]; then systemctl enable ${AGENT_PATHS.unitName}.service; fi
case "$3" in
  start) systemctl start ${AGENT_PATHS.unitName}.service ;;
  restart) systemctl restart ${AGENT_PATHS.unitName}.service ;;
esac
echo "main_pid=$(systemctl show -p MainPID --value ${AGENT_PATHS.unitName})"
`;

/** What the agent's unit says right now, for a failure message: state and its last log lines. */
export const AGENT_JOURNAL_SCRIPT = `PATH=${SCRIPT_PATH}; export PATH
echo "fleetdock-agent.service: $(systemctl is-active ${AGENT_PATHS.unitName} 2>/dev/null)"
journalctl -u ${AGENT_PATHS.unitName} -n 15 --no-pager -o cat 2>&1 | tail -n 15
`;

/** What uninstall needs to know, as `key=value` lines (see uninstall-plan.ts). */
export const UNINSTALL_PROBE_SCRIPT = `PATH=${SCRIPT_PATH}; export PATH
for f in ${AGENT_PATHS.unit} ${AGENT_PATHS.binary} ${AGENT_PATHS.env}; do
  if [ -e "$f" ]; then echo "present=$f"; fi
done
if [ -d ${AGENT_PATHS.stateDir} ]; then echo "present=${AGENT_PATHS.stateDir}"; fi
if [ -f ${AGENT_PATHS.env} ]; then echo "env_b64=$(base64 -w 0 ${AGENT_PATHS.env})"; fi
if [ -f ${AGENT_PATHS.stateDir}/state.json ]; then echo "state_b64=$(base64 -w 0 ${AGENT_PATHS.stateDir}/state.json)"; fi
if [ -f /etc/docker/daemon.json ]; then echo "daemon_json_b64=$(base64 -w 0 /etc/docker/daemon.json)"; fi
if [ -f /etc/systemd/system/docker.service.d/http-proxy.conf ]; then echo "drop_in_b64=$(base64 -w 0 /etc/systemd/system/docker.service.d/http-proxy.conf)"; fi
if [ -f /etc/fleetdock/docker-proxy.env ]; then echo proxy_env=present; fi
echo "agent_active=$(systemctl is-active ${AGENT_PATHS.unitName} 2>/dev/null | head -n 1)"
echo "agent_load=$(systemctl show -p LoadState --value ${AGENT_PATHS.unitName} 2>/dev/null)"
echo "docker_active=$(systemctl is-active docker 2>/dev/null | head -n 1)"
if command -v docker >/dev/null 2>&1 && [ -S /run/docker.sock ]; then
  echo "live_restore=$(timeout 10 docker info --format '{{.LiveRestoreEnabled}}' 2>/dev/null)"
fi
`;

/**
 * Stops and removes the agent: disable --now (when systemd knows the unit), the unit, daemon-reload,
 * the binary, agent.env, the state dir, and /etc/fleetdock when that is left empty.
 */
export const REMOVE_AGENT_SCRIPT = `${PRELUDE}if [ "$(systemctl show -p LoadState --value ${AGENT_PATHS.unitName} 2>/dev/null)" = loaded ]; then
  systemctl disable --now ${AGENT_PATHS.unitName}.service
fi
rm -f ${AGENT_PATHS.unit}
systemctl daemon-reload
systemctl reset-failed ${AGENT_PATHS.unitName}.service 2>/dev/null || true
rm -f ${AGENT_PATHS.binary} ${AGENT_PATHS.env}
`;

/**
 * Removes the agent's state dir, last: its state.json says which daemon.json keys fleetdock owns, so
 * a purge that failed can be run again only while it is there.
 */
export const REMOVE_STATE_SCRIPT = `${PRELUDE}rm -rf ${AGENT_PATHS.stateDir}
rmdir /etc/fleetdock 2>/dev/null || true
`;

/** Removes the files named as arguments (fixed paths the planner chose) and /etc/fleetdock if empty. */
export const REMOVE_FILES_SCRIPT = `${PRELUDE}rm -f -- "$@"
rmdir /etc/fleetdock 2>/dev/null || true
`;

/** `$1`: daemon-reload first (1/0); `$2`: reload or restart docker. */
export const DOCKER_ACTION_SCRIPT = `${PRELUDE}if [ "$1" = 1 ]; then systemctl daemon-reload; fi
systemctl "$2" docker
`;

/** `systemctl daemon-reload` alone (a drop-in went away and dockerd is not to be restarted now). */
export const DAEMON_RELOAD_SCRIPT = `${PRELUDE}systemctl daemon-reload
`;
