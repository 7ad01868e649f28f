// bootstrap/ssh-session.ts against real sockets on 127.0.0.1: an in-process ssh2 server (host key,
// public key login, exec run by a real `sh`), a port nobody listens on, a server that accepts and
// never speaks, one that hangs up at once. Each failure must name its step; stdin must arrive whole.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { Readable } from 'node:stream';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintSha256 } from '../../bootstrap/known-hosts.js';
import { loadPrivateKey, openSshSession, scriptCommand, SshStepError, type SshConnectOptions } from '../../bootstrap/ssh-session.js';
import { findFreePort } from '../../lab/ports.js';

const { Server, utils } = ssh2;

const hostKey = utils.generateKeyPairSync('ed25519');
const userKey = utils.generateKeyPairSync('ed25519');
const strangerKey = utils.generateKeyPairSync('ed25519');
const hostPublicBlob = (utils.parseKey(hostKey.public) as ssh2.ParsedKey).getPublicSSH();
const allowed = utils.parseKey(userKey.public) as ssh2.ParsedKey;

/** Commands the server was asked to run, as received. */
const received: string[] = [];
/** Server-side connections, ended in afterAll (close() waits for them). */
const connections = new Set<{ end(): unknown }>();
let sshServer: InstanceType<typeof Server>;
let port: number;
const servers: NetServer[] = [];

function listen(server: NetServer): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const options = (over: Partial<SshConnectOptions> = {}): SshConnectOptions => ({
  host: '127.0.0.1',
  port,
  user: 'ci',
  privateKey: Buffer.from(userKey.private),
  agentSocket: null,
  verifyHostKey: () => null,
  hostKeyAlgorithms: ['ssh-ed25519'],
  connectTimeoutMs: 5_000,
  ...over,
});

async function failureOf(promise: Promise<unknown>): Promise<SshStepError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SshStepError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  sshServer = new Server({ hostKeys: [hostKey.private] }, (client) => {
    connections.add(client);
    client.once('close', () => connections.delete(client));
    client
      .on('authentication', (ctx) => {
        if (ctx.method !== 'publickey' || ctx.key.algo !== allowed.type || !ctx.key.data.equals(allowed.getPublicSSH())) return ctx.reject(['publickey']);
        if (ctx.signature && allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
        ctx.accept();
      })
      .on('ready', () => {
        client.on('session', (accept) => {
          accept().once('exec', (acceptExec, _reject, info) => {
            received.push(info.command);
            const channel = acceptExec();
            // Run it for real, without the sudo in front (the test runs as one user).
            const child = spawn('sh', ['-c', info.command.replace(/^sudo -n -- /, '')], { stdio: 'pipe' });
            channel.pipe(child.stdin);
            child.stdout.pipe(channel, { end: false });
            child.stderr.pipe(channel.stderr, { end: false });
            child.on('close', (code) => {
              channel.exit(code ?? 1);
              channel.end();
            });
          });
        });
      })
      .on('error', () => undefined);
  });
  port = await new Promise<number>((resolve) => sshServer.listen(0, '127.0.0.1', function (this: NetServer) {
    resolve((this.address() as AddressInfo).port);
  }));
});

afterAll(async () => {
  for (const c of connections) c.end();
  await new Promise((resolve) => sshServer.close(resolve));
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('openSshSession', () => {
  it('shows the host key to the verifier before login, then runs scripts with arguments and stdin', async () => {
    const seen: string[] = [];
    const session = await openSshSession(options({ verifyHostKey: (blob) => (seen.push(fingerprintSha256(blob)), null) }));
    try {
      expect(seen).toEqual([fingerprintSha256(hostPublicBlob)]);
      const r = await session.run('printf "%s|%s\\n" "$1" "$2"; echo oops >&2; exit 3', { args: ["it's", 'a b'] });
      expect(r).toEqual({ code: 3, signal: null, stdout: "it's|a b\n", stderr: 'oops\n' });
      // 5 MiB through stdin arrive whole (the agent binary goes this way).
      const data = randomBytes(5 * 1024 * 1024);
      const sum = await session.run('sha256sum | cut -d " " -f 1', { stdin: Readable.from([data.subarray(0, 1_000_000), data.subarray(1_000_000)]) });
      expect(sum.stdout.trim()).toBe(createHash('sha256').update(data).digest('hex'));
    } finally {
      session.close();
    }
  });

  it('puts sudo -n in front of root commands only when the user is not root', async () => {
    const session = await openSshSession(options());
    try {
      received.length = 0;
      await session.run('id -u', { asRoot: true });
      session.useSudo = true;
      await session.run('id -u', { asRoot: true });
      await session.run('id -u');
      expect(received).toEqual([scriptCommand('id -u', [], false), scriptCommand('id -u', [], true), scriptCommand('id -u', [], false)]);
      expect(received[1]).toBe("sudo -n -- sh -c 'id -u' sh");
    } finally {
      session.close();
    }
  });

  it('kills a command that runs too long', async () => {
    const session = await openSshSession(options());
    try {
      await expect(session.run('sleep 30', { timeoutMs: 300 })).rejects.toThrow('the command did not finish within 0.3 s');
    } finally {
      session.close();
    }
  });

  it('host key: refused keys never get to log in', async () => {
    const error = await failureOf(openSshSession(options({ verifyHostKey: () => 'changed (expected SHA256:x, got SHA256:y)' })));
    expect(error.step).toBe('host-key');
    expect(error.message).toBe('changed (expected SHA256:x, got SHA256:y)');
  });

  it('auth: an encrypted key (by OpenSSH) logs in with its passphrase, and says what is missing without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetdock-key-'));
    try {
      const file = join(dir, 'id_ed25519');
      writeFileSync(file, userKey.private, { mode: 0o600 });
      execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'right horse', '-f', file]);
      await expect(loadPrivateKey(file)).rejects.toThrow(`the key ${file} is encrypted: load it into ssh-agent, or give its passphrase with --identity-passphrase-file FILE`);
      await expect(loadPrivateKey(file, 'wrong horse')).rejects.toThrow(new RegExp(`^cannot use the key ${file}: .*bad passphrase`));
      const key = await loadPrivateKey(file, 'right horse');
      const session = await openSshSession(options({ privateKey: key, passphrase: 'right horse' }));
      try {
        expect((await session.run('echo logged in')).stdout).toBe('logged in\n');
      } finally {
        session.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('auth: a key the server does not take', async () => {
    const error = await failureOf(openSshSession(options({ privateKey: Buffer.from(strangerKey.private) })));
    expect(error.step).toBe('auth');
    expect(error.message).toBe('all authentication methods failed (user ci; tried the key)');
  });

  it('connect: nothing listens', async () => {
    const closed = await findFreePort();
    const error = await failureOf(openSshSession(options({ port: closed })));
    expect(error).toMatchObject({ step: 'connect', message: `ECONNREFUSED 127.0.0.1:${closed}`, retryable: false });
  });

  it('connect: a server that never speaks SSH times out', async () => {
    const silent = await listen(createServer((socket) => socket.resume()));
    const started = Date.now();
    const error = await failureOf(openSshSession(options({ port: silent, connectTimeoutMs: 500 })));
    expect(error).toMatchObject({ step: 'connect', message: `no SSH handshake with 127.0.0.1:${silent} within 0.5 s` });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('connect: a server that hangs up at once may be tried again', async () => {
    const rude = await listen(createServer((socket) => socket.destroy()));
    const error = await failureOf(openSshSession(options({ port: rude })));
    expect(error).toMatchObject({ step: 'connect', message: `127.0.0.1:${rude} closed the connection before the SSH handshake`, retryable: true });
  });
});
