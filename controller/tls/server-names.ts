/**
 * Which names the controller's own server certificate is issued for, and whether a stored one still
 * covers them: pure decisions for controller/tls/tls-material.ts.
 */
import { X509Certificate } from 'node:crypto';

/** Re-issue a server certificate with fewer than this many days left. */
export const RENEW_BEFORE_DAYS = 30;

/**
 * The names for the server certificate: loopback, this machine's hostname, the listen address when it
 * is a specific one, and the operator's --tls-san entries; de-duplicated, in a stable order.
 */
export function serverCertificateNames(listenHost: string, hostname: string, extra: readonly string[]): string[] {
  const names = ['localhost', '127.0.0.1', '::1', hostname.toLowerCase()];
  if (listenHost !== '0.0.0.0' && listenHost !== '::' && listenHost !== '') names.push(listenHost.toLowerCase());
  for (const name of extra) names.push(name.toLowerCase());
  return [...new Set(names.filter((name) => name !== ''))];
}

/** The DNS names and IP addresses in a certificate's subjectAltName, lower-cased (IPv6 as Node prints it). */
export function certificateNames(certificate: X509Certificate): string[] {
  return (certificate.subjectAltName ?? '')
    .split(', ')
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1]?.toLowerCase())
    .filter((name): name is string => name !== undefined);
}

/** Node prints `::1` in a SAN as `0:0:0:0:0:0:0:1`; both spellings count as the same name. */
function sameName(a: string, b: string): boolean {
  const expand = (name: string) => (name === '::1' ? '0:0:0:0:0:0:0:1' : name);
  return expand(a) === expand(b);
}

/**
 * Why a stored server certificate must be re-issued (a name it lacks, close to expiry, not signed by
 * the CA), or null when it can stay.
 */
export function reasonToReissue(certificate: X509Certificate, ca: X509Certificate, wanted: readonly string[], now: Date): string | null {
  if (!certificate.verify(ca.publicKey)) return 'it is not signed by the CA';
  const have = certificateNames(certificate);
  const missing = wanted.filter((name) => !have.some((h) => sameName(h, name)));
  if (missing.length > 0) return `it lacks ${missing.join(', ')}`;
  const daysLeft = (new Date(certificate.validTo).getTime() - now.getTime()) / 86_400_000;
  if (daysLeft < RENEW_BEFORE_DAYS) return `it expires in ${Math.max(0, Math.floor(daysLeft))} days`;
  return null;
}
