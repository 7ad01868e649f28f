#!/usr/bin/env node
/**
 * `node deploy/healthcheck.mjs [HOST:]PORT [TIMEOUT_SECONDS]`: waits until the fleetdock controller
 * on this machine answers `GET /v1/health` with 200, then prints the URL that answered (https://...
 * or http://...) and exits 0; exits 1 after the time-out (default 0: one try). Used by
 * install-controller.sh and the container image's HEALTHCHECK.
 *
 * Tries HTTPS first, then plain HTTP: the controller serves HTTPS by default (its own CA, or the
 * operator's certificate) and plain HTTP only when told to. The certificate is not verified: this
 * asks the local process whether it is up and sends no secret, and the operator's certificate need
 * not name 127.0.0.1.
 *
 * Must not: send a token, or need anything but node.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

function get(url) {
  return new Promise((resolve) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const request = send(url, { timeout: 3_000, rejectUnauthorized: false, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode === 200));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
    request.end();
  });
}

async function main([address, timeout = '0']) {
  if (!address) throw new Error('usage: healthcheck.mjs [HOST:]PORT [TIMEOUT_SECONDS]');
  let host = '127.0.0.1';
  let port = address;
  const colon = address.lastIndexOf(':');
  if (colon >= 0) {
    host = address.slice(0, colon).replace(/^\[|\]$/g, '');
    port = address.slice(colon + 1);
  }
  // A controller listening on every address is asked on loopback.
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const deadline = Date.now() + Number(timeout) * 1000;
  for (;;) {
    for (const scheme of ['https', 'http']) {
      const base = `${scheme}://${authority}`;
      if (await get(`${base}/v1/health`)) {
        process.stdout.write(`${base}\n`);
        return 0;
      }
    }
    if (Date.now() >= deadline) return 1;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`healthcheck: ${error.message}\n`);
    process.exitCode = 2;
  },
);
