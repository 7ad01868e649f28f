/**
 * lab/ports.ts: picks free TCP ports on 127.0.0.1 for the lab's servers.
 *
 * Must not: hold the port; the caller's server binds it right after (a small race, fine in a lab).
 */

import { createServer } from 'node:net';

const handedOut = new Set<number>();

/**
 * A TCP port that was free on 127.0.0.1 a moment ago (the kernel's pick for port 0), never one this
 * process handed out before, so two servers started back to back do not get the same port.
 */
export async function findFreePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await askKernelForPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no fresh free port on 127.0.0.1 after 20 tries');
}

function askKernelForPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port from the kernel'))));
    });
  });
}
