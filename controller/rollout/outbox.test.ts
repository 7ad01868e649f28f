// The outbox sends a big batch a chunk per turn of the event loop, the latest decision per host only.
import { describe, expect, it } from 'vitest';
import type { Revision } from '../store/revisions.js';
import { DesiredOutbox } from './outbox.js';

const revision = (number: number) => ({ number }) as unknown as Revision;
const noError = (hostId: string, error: unknown) => {
  throw new Error(`unexpected send error for ${hostId}: ${String(error)}`);
};
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function recorder(fail: (hostId: string) => boolean = () => false) {
  const sent: string[] = [];
  return {
    sent,
    sendDesired(hostId: string, _revision: Revision, text: string): boolean {
      if (fail(hostId)) throw new Error(`socket of ${hostId} is gone`);
      sent.push(`${hostId}:${text}`);
      return true;
    },
  };
}

describe('DesiredOutbox', () => {
  it('sends nothing synchronously, then one chunk per turn, in order, and other work runs between chunks', async () => {
    const sender = recorder();
    const outbox = new DesiredOutbox(sender, noError, 3);
    for (let i = 1; i <= 7; i++) outbox.enqueue(`h${i}`, revision(2), 'r2');
    expect(sender.sent).toEqual([]);
    const seenBetween: number[] = [];
    await turn();
    setImmediate(() => seenBetween.push(sender.sent.length)); // queued behind the next chunk's turn
    expect(sender.sent).toEqual(['h1:r2', 'h2:r2', 'h3:r2']);
    await turn();
    await turn();
    expect(seenBetween).toEqual([6]);
    await turn();
    expect(sender.sent.map((s) => s.split(':')[0])).toEqual(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7']);
    expect(outbox.size).toBe(0);
  });

  it('keeps only the latest revision for a host, in the order of that later decision', async () => {
    const sender = recorder();
    const outbox = new DesiredOutbox(sender, noError, 100);
    outbox.enqueue('a', revision(2), 'r2');
    outbox.enqueue('b', revision(2), 'r2');
    outbox.enqueue('a', revision(1), 'r1'); // a halt put `a` back before its message went out
    await turn();
    expect(sender.sent).toEqual(['b:r2', 'a:r1']);
  });

  it('a host whose send throws is reported and does not stop the others', async () => {
    const sender = recorder((id) => id === 'bad');
    const errors: string[] = [];
    const outbox = new DesiredOutbox(sender, (hostId, error) => errors.push(`${hostId}: ${(error as Error).message}`), 2);
    ['x', 'bad', 'y', 'z'].forEach((id) => outbox.enqueue(id, revision(3), 'r3'));
    await turn();
    await turn();
    await turn();
    expect(sender.sent).toEqual(['x:r3', 'y:r3', 'z:r3']);
    expect(errors).toEqual(['bad: socket of bad is gone']);
  });

  it('close drops what is queued and sends nothing more', async () => {
    const sender = recorder();
    const outbox = new DesiredOutbox(sender, noError, 1);
    outbox.enqueue('a', revision(2), 'r2');
    outbox.enqueue('b', revision(2), 'r2');
    await turn();
    outbox.close();
    outbox.enqueue('c', revision(2), 'r2');
    await turn();
    await turn();
    expect(sender.sent).toEqual(['a:r2']);
  });
});
