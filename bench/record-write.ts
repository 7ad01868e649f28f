/**
 * `npm run bench:record-write [-- --hosts N --rounds R]`: a micro-benchmark of what the controller pays
 * per host to record an apply result with its observed state (`HostStore.recordApplyResultAndObserved`,
 * as the hub's write batcher runs it: batches of 500 in one transaction, hosts in random order). It
 * runs against two databases built with the real migrations: one up to 0006 (the `hosts` table whose
 * checks used `IN` lists) and one with every migration, and prints the median CPU per write of each.
 * Nothing else runs: unlike bench/run.ts, the numbers do not depend on a simulator sharing the cores.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findMigrationsDir } from '../controller/config.js';
import { openDatabase } from '../controller/store/database.js';
import { HostStore } from '../controller/store/hosts.js';
import { applyMigrations, listMigrations } from '../controller/store/migrate.js';
import type { ApplyResult } from '../protocol/messages.js';
import { renderFacts, renderObservedState } from './sim-messages.js';

/** Results per transaction, as the write batcher commits them (WRITE_BATCHER_DEFAULTS.maxItems). */
const BATCH = 500;

const RESULT: ApplyResult = {
  type: 'apply-result',
  revision: 2,
  outcome: 'applied',
  action: 'reload',
  filesChanged: ['/etc/docker/daemon.json'],
  verification: { ok: true, detail: 'dockerd reports the registry mirrors and insecure registries' },
  error: null,
  durationMs: 0,
};

/** A database file with `hosts` hosts that said hello on revision 1, migrated up to `upTo` (all: Infinity). */
function buildTemplate(dir: string, hosts: number, upTo: number): { file: string; ids: string[] } {
  const migrations = join(dir, `migrations-${upTo}`);
  mkdirSync(migrations);
  for (const m of listMigrations(findMigrationsDir()).filter((m) => m.version <= upTo)) {
    copyFileSync(m.file, join(migrations, `${String(m.version).padStart(4, '0')}_${m.name}.sql`));
  }
  const file = join(dir, `template-${upTo}.db`);
  const db = openDatabase(file, 1000);
  applyMigrations(db, migrations, () => new Date());
  db.prepare("INSERT INTO groups (id, name, created_at, current_revision) VALUES (1, 'bench', 'x', 1)").run();
  db.prepare("INSERT INTO revisions (group_id, number, settings, created_at) VALUES (1, 1, '{}', 'x'), (1, 2, '{}', 'x')").run();
  const store = new HostStore(db);
  const insert = db.prepare("INSERT INTO hosts (id, name, group_id, credential_hash, enrolled_at, facts) VALUES (?, ?, 1, ?, 'x', ?)");
  const ids: string[] = [];
  const settings = { registryMirrors: ['https://mirror-1.bench.internal'] };
  db.transaction(() => {
    for (let i = 0; i < hosts; i++) {
      const id = randomUUID();
      const name = `sim-${String(i).padStart(5, '0')}`;
      insert.run(id, name, `credential-${id}`, JSON.stringify(renderFacts(name)));
      store.recordHello(id, { facts: renderFacts(name), appliedRevision: 1, observed: renderObservedState(1, settings, new Date()) }, new Date());
      ids.push(id);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { file, ids };
}

/** CPU microseconds per write, recording revision 2's result for every host of a copy of `template`. */
function timeWrites(dir: string, template: { file: string; ids: string[] }): number {
  const file = join(dir, 'run.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  copyFileSync(template.file, file);
  const db = openDatabase(file, 1000);
  try {
    const store = new HostStore(db);
    const ids = [...template.ids];
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const observedJson = JSON.stringify(renderObservedState(2, { registryMirrors: ['https://mirror-2.bench.internal'] }, new Date()));
    const batch = db.transaction((from: number) => {
      const at = new Date();
      for (let i = from; i < Math.min(from + BATCH, ids.length); i++) store.recordApplyResultAndObserved(ids[i]!, RESULT, at, observedJson, at);
    });
    const before = process.cpuUsage();
    for (let from = 0; from < ids.length; from += BATCH) batch(from);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / ids.length;
  } finally {
    db.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function main(): void {
  const { values } = parseArgs({ options: { hosts: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '7' } } });
  const hosts = Number(values.hosts);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(hosts) || hosts < BATCH) throw new Error(`--hosts ${values.hosts}: give a whole number of at least ${BATCH}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${values.rounds}: give a whole number of at least 1`);
  const dir = mkdtempSync(join(tmpdir(), 'fleetdock-record-write-'));
  try {
    const variants = [
      { label: 'hosts before 0007 (IN-list checks)', template: buildTemplate(dir, hosts, 6) },
      { label: 'hosts with every migration', template: buildTemplate(dir, hosts, Infinity) },
    ];
    const times = variants.map(() => [] as number[]);
    // The first round warms the code up and is not counted; the variants alternate so drift in the
    // machine's load hits both alike.
    for (let round = 0; round <= rounds; round++) {
      variants.forEach((v, i) => {
        const us = timeWrites(dir, v.template);
        if (round > 0) times[i]!.push(us);
      });
      process.stderr.write(`round ${round}/${rounds}\n`);
    }
    console.log(`apply result + observed state, ${hosts} hosts, batches of ${BATCH}, median of ${rounds} rounds (CPU per write):`);
    variants.forEach((v, i) => console.log(`  ${v.label.padEnd(40)} ${median(times[i]!).toFixed(1)} µs (min ${Math.min(...times[i]!).toFixed(1)})`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
