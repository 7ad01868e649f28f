/**
 * The rollout engine's outbox: `desired` messages decided by a committed step, sent on the next turn of
 * the event loop (after the API has answered the operator), at most OUTBOX_CHUNK per turn so that even
 * the largest batch holds the loop for a bounded time (acks, hellos and API calls are served between
 * chunks). Only the latest decision per host is kept: a host queued twice (a batch,
 * then a halt putting it back) gets the later revision only, and in the order of that later decision.
 *
 * Losing the queue loses nothing: every queued revision is already each host's desired revision in
 * SQLite, and an agent gets its desired revision again on every hello.
 */
import type { Revision } from '../store/revisions.js';

/** Where queued messages go (the agent hub). */
export interface OutboxSender {
  /** Sends `revision` (serialised as `text`) to the host if it is connected; returns whether it was. */
  sendDesired(hostId: string, revision: Revision, text: string): boolean;
}

/**
 * Hosts told per turn of the event loop: about 0.4 s of sends here. Smaller chunks keep the loop freer
 * but cost latency: between two chunks the loop handles every ack that arrived meanwhile (five times
 * the work of a send), so the last hosts are told late. Measured at 10,000 hosts in one batch: chunks of
 * 500 put the median ack 0.6 s later than one chunk (bench/README.md).
 */
export const OUTBOX_CHUNK = 10_000;

interface Entry {
  revision: Revision;
  text: string;
}

export class DesiredOutbox {
  readonly #sender: OutboxSender;
  readonly #onError: (hostId: string, error: unknown) => void;
  readonly #chunk: number;
  readonly #queue = new Map<string, Entry>();
  #pending: NodeJS.Immediate | undefined;
  #closed = false;

  /** `onError`: a send that threw (that host only; the others are still sent). */
  constructor(sender: OutboxSender, onError: (hostId: string, error: unknown) => void, chunk = OUTBOX_CHUNK) {
    this.#sender = sender;
    this.#onError = onError;
    this.#chunk = chunk;
  }

  /** Queues `revision` for `hostId`, replacing what was queued for it; sending starts on the next turn. */
  enqueue(hostId: string, revision: Revision, text: string): void {
    if (this.#closed) return;
    this.#queue.delete(hostId); // re-inserted at the end: the later decision's order
    this.#queue.set(hostId, { revision, text });
    this.#pending ??= setImmediate(() => this.#drain());
  }

  /** Messages not sent yet. */
  get size(): number {
    return this.#queue.size;
  }

  /** Drops what is queued and sends nothing more. */
  close(): void {
    this.#closed = true;
    this.#queue.clear();
    if (this.#pending) clearImmediate(this.#pending);
    this.#pending = undefined;
  }

  #drain(): void {
    this.#pending = undefined;
    let sent = 0;
    for (const [hostId, entry] of this.#queue) {
      if (sent++ === this.#chunk) break;
      this.#queue.delete(hostId);
      try {
        this.#sender.sendDesired(hostId, entry.revision, entry.text);
      } catch (error) {
        this.#onError(hostId, error);
      }
    }
    if (this.#queue.size > 0 && !this.#closed) this.#pending = setImmediate(() => this.#drain());
  }
}
