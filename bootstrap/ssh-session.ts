/**
 * The only SSH I/O of bootstrap and uninstall (ssh2): loads a private key, connects with a time-out,
 * lets the caller decide about the host key before any credential is sent (ssh2 accepts every key
 * unless `hostVerifier` says otherwise), and runs shell scripts, as root through `sudo -n` when the
 * login user is not root, with stdin streamed (the agent binary) and a time-out. Failures come out as
 * SshStepError with the step that failed: `host-key`, `connect` or `auth`. Decides nothing else.
 */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, ParsedKey } from 'ssh2';

const { Client, utils } = ssh2;

/** The step an SSH failure belongs to. */
export type SshStep = 'host-key' | 'connect' | 'auth';

/** A failure to reach or log in to a host, with the step it failed in. */
export class SshStepError extends Error {
  readonly step: SshStep;
  /** A dropped connection (sshd's MaxStartups, a reset): trying again may work. */
  readonly retryable: boolean;
  constructor(step: SshStep, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options);
    this.name = 'SshStepError';
    this.step = step;
    this.retryable = options?.retryable ?? false;
  }
}

/** How to reach and log in to one host. */
export interface SshConnectOptions {
  host: string;
  port: number;
  user: string;
  /** A private key (OpenSSH or PEM text), or null to use the agent only. */
  privateKey: Buffer | null;
  passphrase?: string | undefined;
  /** SSH agent socket (SSH_AUTH_SOCK), or null. */
  agentSocket: string | null;
  /** Returns null to accept the presented host key (its blob), or why it is refused. */
  verifyHostKey: (blob: Buffer) => string | null | Promise<string | null>;
  /** Host key algorithms to offer, most wanted first. */
  hostKeyAlgorithms: string[];
  /** Time for TCP connect and the SSH handshake, milliseconds. */
  connectTimeoutMs: number;
}

/** What a remote script did. */
export interface ExecResult {
  /** Exit code; null when it died by a signal. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Options of one remote script. */
export interface RunOptions {
  /** Run as root: `sudo -n` in front when the login user is not root. */
  asRoot?: boolean;
  /** Positional arguments `$1...` of the script (quoted for the remote shell). */
  args?: string[];
  /** Written to the script's stdin, then closed. */
  stdin?: string | Buffer | Readable;
  /** Killed after this long (default 60 000 ms). */
  timeoutMs?: number;
}

/** A logged-in SSH connection. */
export interface SshSession {
  /** Runs `sh -c SCRIPT`; resolves with its exit code and output, never rejects on a non-zero exit. */
  run(script: string, options?: RunOptions): Promise<ExecResult>;
  /** Whether `asRoot` goes through sudo (set once the login probe has run). */
  useSudo: boolean;
  close(): void;
}

/** Kept of each output stream, so a chatty command cannot fill memory. */
const MAX_OUTPUT_CHARS = 1_048_576;

/**
 * Reads a private key file and checks ssh2 can use it; throws SshStepError(auth) saying why not
 * (unreadable, not a key, encrypted without a passphrase).
 */
export async function loadPrivateKey(path: string, passphrase?: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    throw new SshStepError('auth', `cannot read the key ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const parsed = utils.parseKey(data, passphrase);
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase/i.test(parsed.message);
    throw new SshStepError('auth', encrypted && !passphrase
        ? `the key ${path} is encrypted: load it into ssh-agent, or give its passphrase with --identity-passphrase-file FILE`
        : `cannot use the key ${path}: ${parsed.message}`);
  }
  const key = (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey | undefined;
  if (!key || key.getPrivatePEM() === null) throw new SshStepError('auth', `${path} holds no private key`);
  return data;
}

/** Quotes a word for a POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line for a script: `[sudo -n --] sh -c 'SCRIPT' sh 'ARG'...`. */
export function scriptCommand(script: string, args: readonly string[], sudo: boolean): string {
  return `${sudo ? 'sudo -n -- ' : ''}sh -c ${shellQuote(script)} sh${args.map((a) => ` ${shellQuote(a)}`).join('')}`;
}

function describeSocketError(error: NodeJS.ErrnoException & { address?: string; port?: number }, host: string, port: number): string {
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return `cannot resolve ${host} (${error.code})`;
  if (error.code) return `${error.code} ${error.address ?? host}:${error.port ?? port}`;
  return error.message;
}

/** Connects and logs in; rejects with SshStepError naming the step that failed. */
export function openSshSession(options: SshConnectOptions): Promise<SshSession> {
  const client = new Client();
  let hostKeyRefusal: string | null = null;
  let hostKeyChecked = false;
  return new Promise<SshSession>((resolve, reject) => {
    let settled = false;
    const fail = (error: SshStepError) => {
      if (settled) return;
      settled = true;
      // destroy, not end: end() only half-closes, and a server that never speaks keeps the socket.
      client.destroy();
      reject(error);
    };
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      // Errors after login (a dropped connection) surface through the running command.
      client.on('error', () => undefined);
      resolve(createSession(client));
    });
    client.on('error', (error: Error & { level?: string; code?: string }) => {
      if (hostKeyRefusal !== null) return fail(new SshStepError('host-key', hostKeyRefusal, { cause: error }));
      if (error.level === 'client-authentication') {
        const tried = [options.privateKey ? 'the key' : null, options.agentSocket ? 'the ssh-agent' : null].filter(Boolean).join(' and ');
        return fail(new SshStepError('auth', `all authentication methods failed (user ${options.user}; tried ${tried || 'nothing'})`, { cause: error }));
      }
      if (error.level === 'agent') return fail(new SshStepError('auth', `the ssh-agent failed: ${error.message}`, { cause: error }));
      if (error.level === 'client-timeout') {
        return fail(new SshStepError('connect', `no SSH handshake with ${options.host}:${options.port} within ${options.connectTimeoutMs / 1000} s`, { cause: error }));
      }
      if (!hostKeyChecked && /connection lost before handshake/i.test(error.message)) {
        // sshd drops connections past MaxStartups this way, before any message.
        return fail(new SshStepError('connect', `${options.host}:${options.port} closed the connection before the SSH handshake`, { cause: error, retryable: true }));
      }
      if (error.level === 'client-socket' || error.level === 'client-dns') {
        const retryable = error.code === 'ECONNRESET' || error.code === 'EPIPE';
        return fail(new SshStepError('connect', describeSocketError(error, options.host, options.port), { cause: error, retryable }));
      }
      return fail(new SshStepError(hostKeyChecked ? 'auth' : 'connect', error.message, { cause: error }));
    });
    let handshakeDone = false;
    client.once('handshake', () => {
      handshakeDone = true;
    });
    client.once('close', () => {
      if (handshakeDone) {
        const hint = options.user === 'root' ? '' : '; a host still booting refuses all but root (/run/nologin), so try again in a moment';
        fail(new SshStepError('auth', `${options.host}:${options.port} closed the connection during login (user ${options.user})${hint}`));
      }
      else fail(new SshStepError('connect', `${options.host}:${options.port} closed the connection during the SSH handshake`, { retryable: true }));
    });
    const config: ConnectConfig = {
      host: options.host,
      port: options.port,
      username: options.user,
      readyTimeout: options.connectTimeoutMs,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: options.hostKeyAlgorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        hostKeyChecked = true;
        Promise.resolve()
          .then(() => options.verifyHostKey(key))
          .then(
            (refusal) => {
              hostKeyRefusal = refusal;
              verify(refusal === null);
            },
            (error: unknown) => {
              hostKeyRefusal = `cannot check the host key: ${(error as Error).message}`;
              verify(false);
            },
          );
      },
      ...(options.privateKey ? { privateKey: options.privateKey } : {}),
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      ...(options.agentSocket ? { agent: options.agentSocket } : {}),
    };
    try {
      client.connect(config);
    } catch (error) {
      fail(new SshStepError('auth', (error as Error).message, { cause: error }));
    }
  });
}

function createSession(client: InstanceType<typeof Client>): SshSession {
  const session: SshSession = {
    useSudo: false,
    run(script, options = {}) {
      const command = scriptCommand(script, options.args ?? [], options.asRoot === true && session.useSudo);
      const timeoutMs = options.timeoutMs ?? 60_000;
      return new Promise<ExecResult>((resolve, reject) => {
        client.exec(command, (error: Error | undefined, channel: ClientChannel) => {
          if (error) return reject(new Error(`cannot run a command over SSH: ${error.message}`));
          const input = options.stdin;
          let stdout = '';
          let stderr = '';
          let timedOut = false;
          const timer = setTimeout(() => {
            timedOut = true;
            channel.signal('KILL');
            channel.close();
          }, timeoutMs);
          channel.on('data', (chunk: Buffer) => {
            if (stdout.length < MAX_OUTPUT_CHARS) stdout += chunk.toString('utf8');
          });
          channel.stderr.on('data', (chunk: Buffer) => {
            if (stderr.length < MAX_OUTPUT_CHARS) stderr += chunk.toString('utf8');
          });
          // A channel that fails (the host went away, a write after the remote end exited) rejects
          // this command only: never an unhandled 'error' that would end the whole run.
          channel.on('error', (e: Error) => {
            clearTimeout(timer);
            reject(new Error(`the SSH channel failed: ${e.message}`));
          });
          channel.once('close', (code: number | null, signal?: string) => {
            clearTimeout(timer);
            if (input !== undefined && typeof input !== 'string' && !Buffer.isBuffer(input)) {
              input.unpipe(channel);
              input.destroy();
            }
            if (timedOut) return reject(new Error(`the command did not finish within ${timeoutMs / 1000} s${stderr ? `: ${stderr.trim().slice(-500)}` : ''}`));
            resolve({ code: typeof code === 'number' ? code : null, signal: signal ?? null, stdout, stderr });
          });
          if (input === undefined) channel.end();
          else if (typeof input === 'string' || Buffer.isBuffer(input)) channel.end(input);
          else {
            input.once('error', (e) => {
              channel.close();
              reject(new Error(`reading what to send failed: ${e.message}`));
            });
            input.pipe(channel);
          }
        });
      });
    },
    close() {
      client.end();
    },
  };
  return session;
}
