/**
 * test/support/agent-in-server.ts: runs the fleetdock agent inside a lab build server the way the e2e
 * tests do (the checkout bound at /opt/fleetdock, the host's node), drains its stdout and stderr so a
 * chatty agent never blocks on a full pipe, and keeps the tail of its output for failure messages.
 */
import type { ChildProcess } from 'node:child_process';
import type { BuildServer } from '../../lab/build-server.js';

/** How much of an agent's output is kept for failure messages. */
const KEPT_OUTPUT_CHARS = 16_384;

/** An agent process inside a build server, with the tail of what it printed. */
export interface AgentInServer {
  child: ChildProcess;
  /** The last KEPT_OUTPUT_CHARS characters of its stdout and stderr, interleaved as they came. */
  output(): string;
}

/** Starts `fleetdock agent ARGS…` inside `server` (the checkout must be bound at /opt/fleetdock). */
export function spawnAgentIn(server: BuildServer, args: string[]): AgentInServer {
  const child = server.spawn(['node', '/opt/fleetdock/bin/fleetdock.js', 'agent', ...args]);
  let kept = '';
  const keep = (chunk: Buffer) => {
    kept = (kept + chunk.toString('utf8')).slice(-KEPT_OUTPUT_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => kept };
}

/** A block for a failure message: each agent's name and the tail of its output. */
export function describeAgents(agents: Record<string, AgentInServer>): string {
  return Object.entries(agents)
    .map(([name, agent]) => `--- agent ${name} (exit ${agent.child.exitCode ?? 'running'}):\n${agent.output().slice(-4_000) || '(no output)'}`)
    .join('\n');
}
