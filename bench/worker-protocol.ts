/**
 * The IPC messages between the bench (parent) and its simulator workers (children started with
 * child_process.fork). Plain structured-clone objects; both ends are this repository's code.
 */

/** One simulated host: its enrolled name and host credential. */
export interface SimAgent {
  name: string;
  credential: string;
}

/**
 * Parent → worker: connect these agents to `url` (wss://.../v1/agent, or ws:// on an insecure plain
 * HTTP controller), at most `concurrency` handshakes at once.
 */
export interface StartCommand {
  type: 'start';
  url: string;
  /** The controller's CA certificate (PEM), the only one trusted for wss://; null for ws://. */
  ca: string | null;
  agents: SimAgent[];
  concurrency: number;
  /** Simulated apply time before answering a `desired`, in milliseconds (0: answer at once). */
  applyDelayMs: number;
}

/** Parent → worker: send back per-agent times for one revision. */
export interface ReportCommand {
  type: 'report';
  revision: number;
}

/**
 * Parent → worker: these agents report that someone edited daemon.json by hand (the file lists
 * another mirror; the daemon still runs the desired one), as the drift watcher of a real agent would.
 */
export interface DriftCommand {
  type: 'drift';
  names: string[];
}

/** Parent → worker: close every connection and exit. */
export interface StopCommand {
  type: 'stop';
}

export type ParentCommand = StartCommand | ReportCommand | DriftCommand | StopCommand;

/** Worker → parent: counters, sent every 250 ms while connecting and once when all said hello. */
export interface ProgressEvent {
  type: 'progress';
  /** Agents that got `welcome` (the controller recorded their hello). */
  welcomed: number;
  /** Connection attempts that failed (each is retried up to 5 times). */
  failedAttempts: number;
  /** Agents that gave up after their retries. */
  gaveUp: number;
  /** Connections closed after welcome (not by the bench). */
  dropped: number;
  done: boolean;
}

/** Worker → parent: per-agent times (ms since the epoch, NaN when it did not happen) for one revision. */
export interface TimesEvent {
  type: 'times';
  revision: number;
  names: string[];
  /** When the agent received `desired` for the revision. */
  received: number[];
  /** When the agent sent its apply-result and observed. */
  acked: number[];
}

export type WorkerEvent = ProgressEvent | TimesEvent;
