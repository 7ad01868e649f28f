/**
 * The controller's TLS material at start: its own CA and server certificate under DATA/tls (made on
 * the first start, the server certificate re-issued when it lacks a name or nears expiry; the CA,
 * which agents pin, is never replaced), or the operator's --tls-cert/--tls-key(/--tls-ca) files.
 * Returns the PEM the HTTPS server takes and the CA pin join tokens carry.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FleetdockError } from '../../protocol/errors.js';
import { caPinOf, splitCertificates } from '../../protocol/join-token.js';
import { createCertificateAuthority, issueServerCertificate } from './issue-certificates.js';
import { reasonToReissue, serverCertificateNames } from './server-names.js';

/** How the controller serves: its own CA (default), the operator's files, or insecure plain HTTP. */
export type TlsSetting =
  | { readonly mode: 'auto'; readonly extraNames: readonly string[] }
  | { readonly mode: 'files'; readonly certPath: string; readonly keyPath: string; readonly caPath: string | null }
  | { readonly mode: 'off' };

/** What the HTTPS server and the join tokens need. */
export interface TlsMaterial {
  /** Server certificate followed by its chain (PEM). */
  certChainPem: string;
  keyPem: string;
  /** The CA agents trust (PEM), served at GET /v1/ca. */
  caPem: string;
  /** sha256 hex of the CA's public key: the pin in join tokens. */
  pin: string;
  /** Where the CA certificate is on disk (for the CLI's --ca-file). */
  caPath: string;
  /** What was done at this start, for the log: "created the CA", "re-issued the server certificate: …". */
  changes: string[];
}

/** File names under DATA/tls. */
export const TLS_FILES = Object.freeze({ dir: 'tls', ca: 'ca.pem', caKey: 'ca-key.pem', server: 'server.pem', serverKey: 'server-key.pem' });

function writeAtomically(path: string, text: string, mode: number): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, text, { mode });
  renameSync(temporary, path);
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new FleetdockError('VALIDATION', `cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function certificateOf(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new FleetdockError('VALIDATION', `the ${what} is not a PEM certificate: ${(error as Error).message}`);
  }
}

/** The operator's certificate files, checked: the key belongs to the certificate, the CA signed it. */
function loadOperatorFiles(setting: Extract<TlsSetting, { mode: 'files' }>): TlsMaterial {
  const certChainPem = readPem(setting.certPath, '--tls-cert file');
  const keyPem = readPem(setting.keyPath, '--tls-key file');
  const chain = splitCertificates(certChainPem);
  if (chain.length === 0) throw new FleetdockError('VALIDATION', `--tls-cert ${setting.certPath} holds no PEM certificate`);
  const leaf = certificateOf(chain[0]!, `--tls-cert ${setting.certPath}`);
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new FleetdockError('VALIDATION', `--tls-key ${setting.keyPath} is not a PEM private key: ${(error as Error).message}`);
  }
  if (!leaf.checkPrivateKey(key)) throw new FleetdockError('VALIDATION', `--tls-key ${setting.keyPath} is not the key of the certificate in --tls-cert ${setting.certPath}`);
  // Without --tls-ca the last certificate of the chain is the anchor (a self-signed one is itself).
  const caPath = setting.caPath ?? setting.certPath;
  const caBundle = setting.caPath ? splitCertificates(readPem(setting.caPath, '--tls-ca file')) : chain;
  if (caBundle.length !== 1 && setting.caPath) throw new FleetdockError('VALIDATION', `--tls-ca ${setting.caPath} must hold exactly one certificate, the root CA agents pin (it holds ${caBundle.length})`);
  const caPem = caBundle.at(-1)!;
  const ca = certificateOf(caPem, `CA in ${caPath}`);
  // Agents trust the pinned CA alone and Node accepts no partial chain: it must be a self-signed root.
  if (ca.issuer !== ca.subject || !ca.verify(ca.publicKey)) {
    throw new FleetdockError('VALIDATION', `the CA agents would pin (${setting.caPath ? `--tls-ca ${setting.caPath}` : `the last certificate in --tls-cert ${setting.certPath}`}) is not a self-signed root certificate: pass the root of your CA with --tls-ca`);
  }
  // The chain must lead there: each certificate signed by the next, the last by the CA (or the CA itself).
  const links = chain.map((pem) => certificateOf(pem, `certificate in --tls-cert ${setting.certPath}`));
  for (let i = 0; i < links.length; i++) {
    const issuer = links[i + 1] ?? ca;
    const self = links[i]!.fingerprint256 === ca.fingerprint256;
    if (!self && !links[i]!.verify(issuer.publicKey)) {
      throw new FleetdockError('VALIDATION', `certificate ${i + 1} in --tls-cert ${setting.certPath} (${links[i]!.subject.replace(/\n/g, ', ')}) is not signed by ${i + 1 < links.length ? 'the next one in the file' : `the CA in ${caPath}`}`);
    }
  }
  return { certChainPem, keyPem, caPem, pin: caPinOf(caPem), caPath, changes: [] };
}

/** The controller's own CA and server certificate, made or renewed as needed. */
async function loadOwnCertificates(dataDir: string, names: string[], now: Date): Promise<TlsMaterial> {
  const dir = join(dataDir, TLS_FILES.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = { ca: join(dir, TLS_FILES.ca), caKey: join(dir, TLS_FILES.caKey), server: join(dir, TLS_FILES.server), serverKey: join(dir, TLS_FILES.serverKey) };
  const changes: string[] = [];
  if (existsSync(paths.ca) !== existsSync(paths.caKey)) {
    const missing = existsSync(paths.ca) ? paths.caKey : paths.ca;
    throw new FleetdockError('VALIDATION', `${missing} is missing but its pair is there: enrolled agents pin this CA, so the controller will not make a new one; restore the file from a backup (or remove ${dir} to start over, then enrol every host again)`);
  }
  if (!existsSync(paths.ca)) {
    const ca = await createCertificateAuthority(now);
    writeAtomically(paths.caKey, ca.keyPem, 0o600);
    writeAtomically(paths.ca, ca.certPem, 0o644);
    changes.push('created the CA');
  }
  const ca = { certPem: readFileSync(paths.ca, 'utf8'), keyPem: readFileSync(paths.caKey, 'utf8') };
  const caCertificate = certificateOf(ca.certPem, `CA ${paths.ca}`);
  let reason: string | null = 'there is none';
  if (existsSync(paths.server) && existsSync(paths.serverKey)) {
    reason = reasonToReissue(certificateOf(readFileSync(paths.server, 'utf8'), `server certificate ${paths.server}`), caCertificate, names, now);
  }
  if (reason !== null) {
    const server = await issueServerCertificate(ca, names, now);
    writeAtomically(paths.serverKey, server.keyPem, 0o600);
    writeAtomically(paths.server, server.certPem, 0o644);
    changes.push(`issued a server certificate for ${names.join(', ')} (${reason})`);
  }
  const serverPem = readFileSync(paths.server, 'utf8');
  return { certChainPem: `${serverPem}${ca.certPem}`, keyPem: readFileSync(paths.serverKey, 'utf8'), caPem: ca.certPem, pin: caPinOf(ca.certPem), caPath: paths.ca, changes };
}

/** The material for `setting`, or null for insecure plain HTTP. */
export async function loadTlsMaterial(setting: TlsSetting, dataDir: string, listenHost: string, now: Date): Promise<TlsMaterial | null> {
  if (setting.mode === 'off') return null;
  if (setting.mode === 'files') return loadOperatorFiles(setting);
  return loadOwnCertificates(dataDir, serverCertificateNames(listenHost, hostname(), setting.extraNames), now);
}
