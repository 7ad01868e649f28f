/**
 * The agent's drift watch: decides *when* to look at the host again. File events on the managed files
 * (debounced), dockerd's daemon events (`reload`, or the stream coming back after a restart) and a
 * periodic full check as the backstop each lead to one call of `check`, never two at once (a trigger
 * during a check runs one more check after it). What a check does (read, compare, report) is the
 * caller's. Stops every watch, stream and timer on stop().
 */
import type { Logger } from 'pino';
import { followDaemonEvents, type DaemonEvents } from '../io/docker-events.js';
import { FileWatcher } from './file-watcher.js';

export interface ObserverOptions {
  /** The files to watch (paths on this machine); asked again at every periodic check. */
  files(): Promise<string[]>;
  /** dockerd's socket for its event stream; null to go without. */
  dockerSocket: string | null;
  /** Quiet time after a file event before the check, in milliseconds (editors write in bursts). */
  debounceMs: number;
  /** Period of the full check, in milliseconds. */
  intervalMs: number;
  /** Looks at the host and reports what changed; `reason` is for logs. Must not throw. */
  check(reason: string): Promise<void>;
  log: Logger;
}

export type Observer = {
  /** Asks for a check after the debounce time. */
  trigger(reason: string): void;
  /** Asks `files` again and watches what it says now (after an apply changed which files are managed). */
  rearm(): void;
  stop(): Promise<void>;
};

/** Starts watching; the first periodic check comes after one interval. */
export function startObserver(options: ObserverOptions): Observer {
  const { log } = options;
  let stopped = false;
  let running: Promise<void> | null = null;
  let again: string | null = null;
  let debounce: NodeJS.Timeout | null = null;
  let pendingReason = '';

  const run = (reason: string) => {
    if (stopped) return;
    if (running) {
      again = reason;
      return;
    }
    running = (async () => {
      let next: string | null = reason;
      while (next !== null && !stopped) {
        again = null;
        try {
          await options.check(next);
        } catch (error) {
          log.warn({ err: (error as Error).message }, 'drift check failed');
        }
        next = again;
      }
      running = null;
    })();
  };

  const trigger = (reason: string) => {
    if (stopped) return;
    pendingReason = reason;
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = null;
      run(pendingReason);
    }, options.debounceMs);
  };

  const watcher = new FileWatcher((what) => trigger(`file ${what}`), log);
  const arm = async () => {
    try {
      watcher.arm(await options.files());
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'cannot list the files to watch; the periodic check still covers them');
    }
  };
  void arm();

  const events: DaemonEvents | null = options.dockerSocket
    ? followDaemonEvents(options.dockerSocket, { onEvent: (action) => trigger(`dockerd ${action}`), onReconnect: () => trigger('dockerd event stream back') }, log)
    : null;

  const periodic = setInterval(() => {
    void arm().then(() => run('periodic check'));
  }, options.intervalMs);

  return {
    trigger,
    rearm: () => void arm(),
    async stop() {
      stopped = true;
      clearInterval(periodic);
      if (debounce) clearTimeout(debounce);
      watcher.close();
      events?.close();
      if (running) await running;
    },
  };
}
