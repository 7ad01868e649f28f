/**
 * Whom the agent trusts before it sends its join token: the CA whose public key the token pins
 * (fetched from GET /v1/ca without verification, then checked against the pin: only a match is
 * trusted, and every later connection verifies the controller's certificate against it alone), or
 * the operator's --ca-file, or, with neither, the system's roots. Nothing secret leaves before this.
 * What is trusted is the one pinned certificate re-encoded, never the text received: a bundle with a
 * second CA behind the pinned one would otherwise be trusted whole (Node trusts every CA in `ca`).
 */
import { readFile } from 'node:fs/promises';
import { FleetdockError } from '../protocol/errors.js';
import { describeRequestFailure, sendRequest } from '../protocol/http-request.js';
import { caPinOf, certificateWithPin, showPin, splitCertificates, type JoinToken } from '../protocol/join-token.js';

/** The CA to trust for `controller` (PEM), or null for plain HTTP or the system's roots. Throws FleetdockError. */
export async function establishTrust(controller: string, token: JoinToken, caFile: string | null): Promise<string | null> {
  const https = controller.startsWith('https:');
  if (!https) {
    if (token.pin !== null) {
      throw new FleetdockError('VALIDATION', `the join token pins the controller's CA, but --controller ${controller} is plain http://: use https:// (the token was made by a TLS controller)`);
    }
    return null;
  }
  if (caFile !== null) {
    let pem: string;
    try {
      pem = await readFile(caFile, 'utf8');
    } catch (error) {
      throw new FleetdockError('VALIDATION', `cannot read --ca-file ${caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (splitCertificates(pem).length === 0) throw new FleetdockError('VALIDATION', `--ca-file ${caFile} holds no PEM certificate`);
    if (token.pin === null) return pem;
    const pinned = certificateWithPin(pem, token.pin);
    if (pinned === null) {
      throw new FleetdockError('CA_PIN_MISMATCH', `no certificate in --ca-file ${caFile} has the pin the join token carries, ${showPin(token.pin)}; nothing was sent`);
    }
    return pinned;
  }
  if (token.pin === null) return null;
  let answer;
  try {
    answer = await sendRequest(`${controller}/v1/ca`, { insecureSkipVerify: true, timeoutMs: 15_000, maxBodyBytes: 64 * 1024, headers: { accept: 'application/json' } });
  } catch (error) {
    throw new FleetdockError('CONTROLLER_UNREACHABLE', `cannot reach the controller at ${controller} to fetch its CA: ${describeRequestFailure(error, controller)}`, { cause: error });
  }
  let ca: unknown;
  try {
    ca = (JSON.parse(answer.body) as { ca?: unknown }).ca;
  } catch {
    ca = undefined;
  }
  if (answer.status !== 200 || typeof ca !== 'string') {
    throw new FleetdockError('CA_PIN_MISMATCH', `${controller}/v1/ca did not give a CA certificate (HTTP ${answer.status}): is this a fleetdock controller serving TLS? nothing was sent`);
  }
  const certificates = splitCertificates(ca);
  if (certificates.length !== 1) {
    throw new FleetdockError('CA_PIN_MISMATCH', `${controller}/v1/ca gave ${certificates.length} certificates where a fleetdock controller gives exactly one; nothing was sent`);
  }
  let pin: string;
  try {
    pin = caPinOf(certificates[0]!);
  } catch {
    throw new FleetdockError('CA_PIN_MISMATCH', `${controller}/v1/ca gave something that is not a certificate; nothing was sent`);
  }
  if (pin !== token.pin) {
    throw new FleetdockError(
      'CA_PIN_MISMATCH',
      `the controller at ${controller} has CA ${showPin(pin)}, but the join token pins ${showPin(token.pin)}: it is not the controller the token was made for (or something sits in between); nothing was sent`,
    );
  }
  // Only the pinned certificate, as parsed: nothing else the answer held is ever trusted.
  return certificateWithPin(certificates[0]!, pin)!;
}
