// deploy/install-controller.sh for real, on a lab build server (systemd as PID 1, this machine's node
// at /usr/bin/node, the checkout read-only at /opt/src, no npm): it refuses clearly and changes
// nothing when it cannot install; it installs a running, enabled controller that answers on its port
// with a working admin token; and a second run upgrades in place, keeping the data.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireLab } from '../../lab/availability.js';
import { startBuildServer, type BuildServer } from '../../lab/build-server.js';
import { findFreePort } from '../../lab/ports.js';
import { REPO_ROOT } from '../support/cli.js';

const lab = requireLab();
const INSTALL = '/opt/src/deploy/install-controller.sh';

type Answer = { status: number; body: any };

/** One request from this machine to the controller in the server, trusting only its CA (https). */
function call(url: string, ca: string | undefined, method = 'GET', path = '/v1/health', token?: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const request = send(`${url}${path}`, {
      method,
      ...(ca ? { ca } : {}),
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
      timeout: 10_000,
    }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    request.on('error', reject);
    request.end(payload);
  });
}

describe.skipIf(!lab)('install-controller.sh on a build server', { timeout: 240_000 }, () => {
  let server: BuildServer;
  let port: number;
  let url: string;
  let ca: string | undefined;
  let adminToken: string;
  let firstPid: string;

  const sh = async (command: string) => (await server.exec(command)).stdout.trim();
  const install = (prefix = '') => server.exec(`${prefix}bash ${INSTALL} --listen 127.0.0.1:${port}`, { timeoutMs: 180_000 });

  beforeAll(async () => {
    port = await findFreePort();
    server = await startBuildServer({ name: 'fd-ctl-install', binds: [{ host: REPO_ROOT, inside: '/opt/src', readOnly: true }] });
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses, saying why and changing nothing, when not root or when node is older than 20.19', async () => {
    const notRoot = await install('setpriv --reuid=65534 --regid=65534 --clear-groups ');
    expect(notRoot.code).toBe(1);
    expect(notRoot.stderr).toContain('must be run as root');
    await server.writeFile('/tmp/old-node/node', '#!/bin/sh\n[ "$1" = --version ] && echo v20.11.1 && exit 0\nexit 1\n');
    const oldNode = await install('chmod +x /tmp/old-node/node && PATH=/tmp/old-node:$PATH ');
    expect(oldNode.code).toBe(1);
    expect(oldNode.stderr).toContain('fleetdock needs Node.js 20.19 or later; /tmp/old-node/node is v20.11.1');
    expect(await sh('getent passwd fleetdock || echo no-user')).toBe('no-user');
    expect(await sh('test -e /opt/fleetdock || test -e /etc/systemd/system/fleetdock-controller.service || echo clean')).toBe('clean');
  });

  it('installs: the service is enabled and active as the fleetdock user, answers on its port, and the admin token works', async () => {
    const out = await install();
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const m = /is running: (https?:\/\/127\.0\.0\.1:\d+)/.exec(out.stdout);
    expect(m?.[1]).toMatch(new RegExp(`:${port}$`));
    url = m![1]!;
    expect(out.stdout).toContain('admin token  /var/lib/fleetdock/admin.token');
    expect(await sh('systemctl is-active fleetdock-controller')).toBe('active');
    expect(await sh('systemctl is-enabled fleetdock-controller')).toBe('enabled');
    firstPid = await sh('systemctl show -p MainPID --value fleetdock-controller');
    expect(await sh(`stat -c %U /proc/${firstPid}`)).toBe('fleetdock');

    ca = url.startsWith('https:') ? await server.readFile('/var/lib/fleetdock/tls/ca.pem') : undefined;
    expect(await call(url, ca)).toMatchObject({ status: 200, body: { ok: true } });
    adminToken = (await server.readFile('/var/lib/fleetdock/admin.token')).trim();
    expect((await call(url, ca, 'POST', '/v1/groups', adminToken, { name: 'builders' })).status).toBe(201);
    // The CLI is linked onto PATH and reaches the controller.
    const cli = await server.exec(['fleetdock', 'group', 'show', 'builders', '--json'], {
      env: { FLEETDOCK_URL: url, FLEETDOCK_TOKEN: adminToken, ...(ca ? { FLEETDOCK_CA_FILE: '/var/lib/fleetdock/tls/ca.pem' } : {}) },
    });
    expect(cli.stderr).toBe('');
    expect(JSON.parse(cli.stdout)).toMatchObject({ name: 'builders' });
    // Production packages only, copied without npm.
    expect(await sh('test -e /opt/fleetdock/node_modules/better-sqlite3/package.json && test ! -e /opt/fleetdock/node_modules/vitest && echo prod-only')).toBe('prod-only');
  });

  it('a second run upgrades in place: restarted, same port, same admin token, the data kept', async () => {
    const out = await server.exec(`bash ${INSTALL}`, { timeoutMs: 180_000 });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`is running: ${url}`);
    expect(out.stdout).not.toContain('creating the system user');
    const pid = await sh('systemctl show -p MainPID --value fleetdock-controller');
    expect(pid).not.toBe(firstPid);
    expect(await sh('systemctl is-active fleetdock-controller')).toBe('active');
    expect((await server.readFile('/var/lib/fleetdock/admin.token')).trim()).toBe(adminToken);
    expect(await call(url, ca, 'GET', '/v1/groups/builders', adminToken)).toMatchObject({ status: 200, body: { name: 'builders' } });
    expect(await sh('test -d /opt/fleetdock.previous/dist && echo kept')).toBe('kept');
    expect(await sh('ls -a /opt | grep -c fleetdock-new || true')).toBe('0');
  });
});
