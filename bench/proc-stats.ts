/**
 * Reads a process's memory and CPU from /proc (Linux only): VmRSS and VmHWM from /proc/PID/status,
 * utime + stime from /proc/PID/stat. CPU ticks are converted with the kernel's USER_HZ, 100 on every
 * Linux this runs on (`getconf CLK_TCK`).
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat's utime and stime. */
const USER_HZ = 100;

/** One sample of a process. */
export interface ProcSample {
  /** When it was taken, ms since the epoch. */
  at: number;
  /** Resident set size now, in MiB. */
  rssMiB: number;
  /** Peak resident set size so far, in MiB. */
  peakRssMiB: number;
  /** CPU time used so far (user + system), in seconds. */
  cpuSeconds: number;
  /** Time spent runnable but waiting for a CPU so far (/proc/PID/schedstat), in seconds: other load on the machine. */
  runQueueSeconds: number;
}

/** Samples `pid`; throws when the process is gone. */
export function sampleProcess(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  let runQueueSeconds = NaN;
  try {
    runQueueSeconds = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
  } catch {
    // schedstat needs CONFIG_SCHEDSTATS; without it the number stays unknown
  }
  return { at: Date.now(), rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024, cpuSeconds: ticks / USER_HZ, runQueueSeconds };
}

/** Time waiting for a CPU between two samples, as a percentage of the wall time. */
export function runQueuePercent(from: ProcSample, to: ProcSample): number {
  const wall = (to.at - from.at) / 1000;
  return wall > 0 ? (100 * (to.runQueueSeconds - from.runQueueSeconds)) / wall : 0;
}

/** CPU use between two samples as a percentage of one core. */
export function cpuPercent(from: ProcSample, to: ProcSample): number {
  const wall = (to.at - from.at) / 1000;
  return wall > 0 ? (100 * (to.cpuSeconds - from.cpuSeconds)) / wall : 0;
}
