#!/usr/bin/env node
/**
 * `npm run build:agent`: packages the agent to run on a build server without the checkout.
 *
 * Writes, under dist/agent-bin/:
 * - fleetdock-agent.cjs: the agent (`fleetdock agent` plus `--version`, entry cli/agent-main.ts) and
 *   every dependency in one CommonJS file, for hosts with their own node >= 20 (`node fleetdock-agent.cjs`);
 * - fleetdock-agent: a Node single executable application (a copy of the node running this script
 *   with that file inside), for hosts with no node at all; `fleetdock bootstrap` uploads it to
 *   /usr/local/bin/fleetdock-agent. Linux only; it runs on the CPU architecture and needs the glibc of
 *   node's own Linux builds (2.28 or later for Node 20).
 * Then runs both with `--version` so a broken package fails here, not on a server.
 *
 * Must not: touch anything outside dist/agent-bin/ and a temporary directory, or need the network.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rename, rm, stat, chmod, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { injectSeaBlob } from './sea-elf.mjs';

const run = promisify(execFile);
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(REPO, 'cli/agent-main.ts');
const OUT_DIR = join(REPO, 'dist/agent-bin');
const BUNDLE = join(OUT_DIR, 'fleetdock-agent.cjs');
const EXECUTABLE = join(OUT_DIR, 'fleetdock-agent');

const started = Date.now();
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Bundles the agent into one CommonJS file. */
async function writeBundle() {
  await esbuild.build({
    entryPoints: [ENTRY],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    banner: { js: '#!/usr/bin/env node' },
    // ws's native speed-ups are optional (ws falls back to JavaScript, and Node 20 has
    // buffer.isUtf8); they are never bundled. Defining ws's own switches removes the require()
    // calls too, which a single executable would otherwise answer with a warning on every start.
    external: ['bufferutil', 'utf-8-validate'],
    define: { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' },
    // import.meta is empty in CommonJS: any use on the agent's path would break at run time.
    logOverride: { 'empty-import-meta': 'error' },
    logLevel: 'warning',
    legalComments: 'eof',
  });
  await chmod(BUNDLE, 0o755);
}

/** Makes the single executable from the bundle with the node running this script. */
async function writeExecutable() {
  const work = await mkdtemp(join(tmpdir(), 'fleetdock-sea-'));
  try {
    const blobPath = join(work, 'agent.blob');
    const configPath = join(work, 'sea-config.json');
    await writeFile(configPath, JSON.stringify({ main: BUNDLE, output: blobPath, disableExperimentalSEAWarning: true, useCodeCache: true }));
    await run(process.execPath, ['--experimental-sea-config', configPath], { cwd: work });
    const executable = injectSeaBlob(await readFile(process.execPath), await readFile(blobPath));
    // Written beside and renamed: a running copy (a test's agent) keeps its file, and a half-written
    // executable is never at the final path.
    const temp = `${EXECUTABLE}.tmp-${process.pid}`;
    await writeFile(temp, executable, { mode: 0o755 });
    await rename(temp, EXECUTABLE);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `--version` of a built artefact; throws with its output when it does not run. */
async function versionOf(file, args = []) {
  try {
    const { stdout } = await run(file, [...args, '--version'], { env: { PATH: '/nonexistent' }, timeout: 30_000 });
    return stdout.trim();
  } catch (error) {
    throw new Error(`${relative(REPO, args[0] ?? file)} --version failed: ${error.stderr || error.message}`);
  }
}

async function main() {
  await mkdir(OUT_DIR, { recursive: true });
  await writeBundle();
  const written = [BUNDLE];
  const bundleVersion = await versionOf(process.execPath, [BUNDLE]);
  if (process.platform === 'linux') {
    try {
      await writeExecutable();
    } catch (error) {
      throw new Error(`cannot make the single executable from ${process.execPath}: ${error.message} (an official Node.js build for Linux can: nodejs.org, NodeSource or the node Docker images; distribution builds linked to a shared libnode cannot)`);
    }
    const executableVersion = await versionOf(EXECUTABLE);
    if (executableVersion !== bundleVersion) throw new Error(`the executable says ${executableVersion}, the bundle ${bundleVersion}`);
    written.push(EXECUTABLE);
  } else {
    process.stdout.write(`build:agent: no single executable on ${process.platform} (it is made for Linux build servers); the bundle is enough here\n`);
  }
  for (const file of written) process.stdout.write(`build:agent: wrote ${relative(REPO, file)} (${mib((await stat(file)).size)})\n`);
  process.stdout.write(`build:agent: agent ${bundleVersion}, node ${process.version}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

main().catch((error) => {
  process.stderr.write(`build:agent: ${error.message}\n`);
  process.exitCode = 1;
});
