// The config of an agent for a bare dockerd of the lab (signal mode), enrolled in a new group of a test
// controller: the group is created and a join token made for it.
import { buildAgentConfig, type AgentConfig } from '../../agent/config.js';
import type { BareDockerd } from '../../lab/dockerd.js';
import type { TestController } from '../controller/harness.js';

export interface BareAgentOptions {
  group: string;
  stateDir: string;
  name: string;
  verifyTimeoutSeconds: number;
  /** Default: the dockerd's own restart command. */
  restartCommand?: string;
}

export async function bareAgentConfig(controller: TestController, dockerd: BareDockerd, options: BareAgentOptions): Promise<AgentConfig> {
  const created = await controller.api('POST', '/v1/groups', { name: options.group });
  if (created.status !== 201) throw new Error(`creating group ${options.group}: ${created.status} ${created.text}`);
  const token = (await controller.api('POST', `/v1/groups/${options.group}/join-tokens`, {})).body.token as string;
  return buildAgentConfig(
    {
      controller: controller.controller.url,
      'join-token': token,
      'state-dir': options.stateDir,
      root: dockerd.root,
      'docker-host': dockerd.dockerHost,
      'service-manager': 'signal',
      pidfile: dockerd.pidfile,
      'restart-command': options.restartCommand ?? dockerd.restartCommand,
      name: options.name,
      'verify-timeout': String(options.verifyTimeoutSeconds),
    },
    false,
  );
}
