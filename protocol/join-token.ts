/**
 * The join token an operator hands to a host, and the CA pin inside it. A token made by a controller
 * that serves TLS reads `FD1<pin>::<secret>`: the pin is the sha256 (hex) of its CA certificate's
 * public key (SubjectPublicKeyInfo, DER), as kubeadm's `--discovery-token-ca-cert-hash` and k3s's
 * `K10<hash>::` tokens carry it; the secret is what the controller stores hashed. A controller on
 * insecure plain HTTP has no CA, and its tokens are the bare secret.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { FleetdockError } from './errors.js';

/** Prefix of a pinned token; the version digit changes if the format ever does. */
export const PINNED_TOKEN_PREFIX = 'FD1';

/** A join token taken apart: the CA pin (null for a bare secret) and the secret the controller checks. */
export interface JoinToken {
  pin: string | null;
  secret: string;
}

const PINNED = /^FD1([0-9a-f]{64})::([A-Za-z0-9_-]{16,128})$/;
const BARE = /^[A-Za-z0-9_-]{16,128}$/;

/** `FD1<pin>::<secret>`, or the bare secret when there is no pin. */
export function formatJoinToken(pin: string | null, secret: string): string {
  return pin === null ? secret : `${PINNED_TOKEN_PREFIX}${pin}::${secret}`;
}

/** Takes a join token apart; throws VALIDATION naming what is wrong (never echoing the secret). */
export function parseJoinToken(text: string): JoinToken {
  const trimmed = text.trim();
  const pinned = PINNED.exec(trimmed);
  if (pinned) return { pin: pinned[1]!, secret: pinned[2]! };
  if (trimmed.startsWith(PINNED_TOKEN_PREFIX) && trimmed.includes('::')) {
    throw new FleetdockError('VALIDATION', 'the join token is malformed: after FD1 it needs the 64 hex digits of the CA pin, then ::, then the secret (copy it whole from `fleetdock token create`)');
  }
  if (BARE.test(trimmed)) return { pin: null, secret: trimmed };
  throw new FleetdockError('VALIDATION', 'the join token is malformed: expected FD1<64 hex>::<secret> as `fleetdock token create` prints it');
}

/** The secret inside a join token (the whole text when it is not a pinned token): what the controller hashes. */
export function joinTokenSecret(text: string): string {
  return PINNED.exec(text.trim())?.[2] ?? text;
}

/** The pin of a CA certificate (PEM): sha256 hex of its public key. Throws VALIDATION when it is not a certificate. */
export function caPinOf(certificatePem: string): string {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch (error) {
    throw new FleetdockError('VALIDATION', `not a PEM certificate: ${(error as Error).message}`);
  }
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

/** The PEM certificates in a bundle, each as its own PEM text (anything between them is ignored). */
export function splitCertificates(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
}

/**
 * The one certificate of `bundle` whose pin is `pin`, re-encoded from its parsed form (so nothing but
 * that certificate is ever trusted, whatever else the text held), or null when none has that pin.
 */
export function certificateWithPin(bundle: string, pin: string): string | null {
  for (const pem of splitCertificates(bundle)) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(pem);
    } catch {
      continue;
    }
    if (caPinOf(pem) === pin) return certificate.toString();
  }
  return null;
}

/** How a pin is shown to people: `sha256:` and the hex, as kubeadm prints it. */
export function showPin(pin: string): string {
  return `sha256:${pin}`;
}
