/**
 * One HTTP(S) request to the controller from the agent or the CLI, over node:http/https so a pinned
 * CA can be the only trust anchor (`ca`), which the global fetch cannot take on Node 20. Returns the
 * status and the body text; network and TLS failures are thrown as Node's errors for the caller to
 * word (see describeRequestFailure).
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';

/** Options for {@link sendRequest}. */
export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** PEM of the only CA trusted for https (default: Node's bundled roots). */
  ca?: string | undefined;
  /** Skip certificate verification: only to fetch a CA that is then checked against a pin. */
  insecureSkipVerify?: boolean;
  timeoutMs?: number;
  /** Largest body read (default 1 MiB); a longer answer is an error. */
  maxBodyBytes?: number;
}

/** What came back. */
export interface RequestResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The server's certificate chain for https (issuerCertificate links), else null. */
  peer: PeerCertificate | null;
}

/** Sends one request; rejects on network, TLS or time-out errors (Node error codes preserved). */
export function sendRequest(url: string, options: RequestOptions = {}): Promise<RequestResult> {
  const target = new URL(url);
  const https = target.protocol === 'https:';
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    const request = (https ? httpsRequest : httpRequest)(
      target,
      {
        method: options.method ?? 'GET',
        headers: { ...options.headers, ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}) },
        timeout: options.timeoutMs ?? 30_000,
        ...(https ? { ca: options.ca, rejectUnauthorized: !options.insecureSkipVerify, agent: false } : {}),
      },
      (response) => {
        const peer = https ? (response.socket as TLSSocket).getPeerCertificate?.(true) ?? null : null;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBody) {
            response.destroy();
            reject(Object.assign(new Error(`the answer is larger than ${maxBody} bytes`), { code: 'ERR_BODY_TOO_LARGE' }));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8'), peer }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(Object.assign(new Error(`no answer within ${(options.timeoutMs ?? 30_000) / 1000} s`), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
    request.end(options.body);
  });
}

/** TLS verification failures Node reports, by code. */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'INVALID_CA',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'CERT_REVOKED',
]);

/** Whether a request failed because the server's certificate did not verify. */
export function isTlsVerificationFailure(error: unknown): boolean {
  return TLS_CODES.has((error as { code?: string }).code ?? '');
}

/** A short reason for a failed request, with a next step for the TLS cases. */
export function describeRequestFailure(error: unknown, url: string): string {
  const code = (error as { code?: string }).code;
  const host = new URL(url).hostname;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the controller's certificate is not valid for ${host}: start the controller with --tls-san ${host} (or use a name its certificate has)`;
  }
  if (code && TLS_CODES.has(code)) {
    return `the controller's certificate does not verify (${code}): give its CA with --ca-file, or use a join token with the CA pin`;
  }
  if (code === 'EPROTO' || /wrong version number|packet length too long/i.test((error as Error).message ?? '')) {
    return `TLS failed (${(error as Error).message}): is the URL's scheme right (https:// for a TLS controller, http:// only for --insecure-plain-http)?`;
  }
  if (code === 'ECONNRESET' && url.startsWith('http:')) {
    return 'the connection was reset: a TLS controller needs an https:// URL';
  }
  return code ?? (error as Error).message;
}
