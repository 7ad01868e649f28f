/**
 * lab/index.ts: the lab harness's public surface, for fleetdock's end-to-end tests.
 *
 * Real dockerd hosts (bare 20.10/26, or systemd build servers), a registry mirror with busybox, and
 * an HTTP proxy, all on this machine, all started on free ports and stopped by pid. See lab/install.sh
 * for the one-time machine setup, and /work/shared/DOCKER.md for why each piece looks the way it does.
 */

export { checkLab, requireLab, type LabCheck } from './availability.js';
export {
  startBuildServer,
  type BuildServer,
  type BuildServerBind,
  type BuildServerExecOptions,
  type BuildServerOptions,
} from './build-server.js';
export { LAB_DAEMON_JSON, startBareDockerd, type BareDockerd, type BareDockerdOptions } from './dockerd.js';
export { buildBusyboxImage, sha256Digest, type RegistryImage } from './image.js';
export { labPaths, labPathsFor, type LabPaths } from './paths.js';
export { findFreePort } from './ports.js';
export type { CommandResult } from './processes.js';
export { startProxy, type LabProxy, type ProxyOptions } from './proxy.js';
export { startRegistryMirror, type RegistryMirror, type RegistryMirrorOptions } from './registry.js';
