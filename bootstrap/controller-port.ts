/**
 * What bootstrap and uninstall need from the controller, as a small interface (a test can fake it),
 * and its implementation over the CLI's ControllerClient: find a host by name, mint a one-use join
 * token for a group, check a group exists, revoke and remove a host. Errors stay FleetdockErrors.
 */
import type { ControllerClient } from '../cli/client.js';
import { HostViewSchema } from '../controller/api/schemas.js';
import { FleetdockError } from '../protocol/errors.js';

/** A host as bootstrap needs to see it. */
export interface ControllerHost {
  name: string;
  group: string;
  /** converged, pending, failed, offline or new (controller/host-status.ts). */
  status: string;
  connected: boolean;
  revoked: boolean;
  desiredRevision: number | null;
  /** The last error the host reported (`CODE: message`), or null. */
  lastError: string | null;
}

/** The controller calls of bootstrap and uninstall. */
export interface ControllerPort {
  /** The host named `name`, or null when the controller has none. */
  findHost(name: string): Promise<ControllerHost | null>;
  /** Whether the group exists. */
  groupExists(group: string): Promise<boolean>;
  /** A join token for one enrolment in `group`, valid `ttlSeconds`. Opaque: passed on as it is. */
  /** `id`: null from a controller that does not say it (then nothing can revoke the token early). */
  createJoinToken(group: string, ttlSeconds: number): Promise<{ token: string; id: number | null }>;
  /** Revokes a join token (one minted for a host whose bootstrap then failed). */
  revokeJoinToken(id: number): Promise<void>;
  /** Revokes (if not yet) and removes the host; false when the controller had no such host. */
  removeHost(name: string): Promise<boolean>;
}

/** The ControllerPort over the CLI's client. */
export function controllerPortFrom(client: ControllerClient): ControllerPort {
  const notFound = (error: unknown) => error instanceof FleetdockError && error.code === 'NOT_FOUND';
  return {
    async findHost(name) {
      try {
        const h = await client.request('GET', `/v1/hosts/${encodeURIComponent(name)}`, HostViewSchema);
        const error = h.lastResult?.error;
        return {
          name: h.name,
          group: h.group,
          status: h.status,
          connected: h.connected,
          revoked: Boolean(h.revokedAt),
          desiredRevision: h.desiredRevision,
          lastError: error ? `${error.code}: ${error.message}` : null,
        };
      } catch (error) {
        if (notFound(error)) return null;
        throw error;
      }
    },
    async groupExists(group) {
      try {
        await client.getGroup(group);
        return true;
      } catch (error) {
        if (notFound(error)) return false;
        throw error;
      }
    },
    async createJoinToken(group, ttlSeconds) {
      const { token, id } = await client.createJoinToken(group, { uses: 1, ttlSeconds });
      return { token, id: id ?? null };
    },
    async revokeJoinToken(id) {
      await client.revokeJoinToken(id);
    },
    async removeHost(name) {
      try {
        await client.revokeHost(name);
      } catch (error) {
        if (notFound(error)) return false;
        throw error;
      }
      await client.removeHost(name);
      return true;
    },
  };
}
