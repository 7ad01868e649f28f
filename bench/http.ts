/** A small JSON client for the controller's API as the bench uses it: status, parsed body and elapsed time. */

/** One answer. */
export interface ApiAnswer {
  status: number;
  body: any;
  /** Bytes of the response body. */
  bytes: number;
  /** From sending the request to having the whole body, in milliseconds. */
  ms: number;
  /** When the whole response had arrived, ms since the epoch. */
  doneAt: number;
}

/** Calls `method path` on `baseUrl` with `token` (null: anonymous) and an optional JSON body. */
export async function callApi(baseUrl: string, token: string | null, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await response.text();
  const ms = performance.now() - started;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed, bytes: Buffer.byteLength(text), ms, doneAt: Date.now() };
}

/** Like callApi, but throws naming the call unless the status is one of `ok`. */
export async function expectApi(baseUrl: string, token: string | null, method: string, path: string, body: unknown, ok: number[]): Promise<ApiAnswer> {
  const answer = await callApi(baseUrl, token, method, path, body);
  if (!ok.includes(answer.status)) {
    throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`);
  }
  return answer;
}
