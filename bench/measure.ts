/**
 * Runs one command under GNU time (`/usr/bin/time`, Debian package `time`) and returns
 * its wall time, user and system CPU time and peak RSS. GNU time reports the rusage of
 * the command and every descendant it waited for, so `sh -c 'tar | zstd'` counts both
 * sides of the pipe; peak RSS is the largest single process, not the sum.
 */
import { spawn } from 'node:child_process';
import { access, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface Sample {
  /** The command's stdout (bale runs with --json), capped at 4 MiB. */
  stdout?: string;
  wallS: number;
  userS: number;
  sysS: number;
  cpuS: number;
  maxRssMiB: number;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Scratch directory for GNU time's output file. */
  scratch: string;
  timeoutMs?: number;
}

export async function haveGnuTime(): Promise<boolean> {
  return access(GNU_TIME).then(
    () => true,
    () => false,
  );
}

let counter = 0;

/** Runs `cmd args` to completion under GNU time; throws with the tail of stderr on failure. */
export async function timed(cmd: string, args: string[], opts: RunOptions): Promise<Sample> {
  const timeFile = join(opts.scratch, `time-${process.pid}-${counter++}.txt`);
  const started = process.hrtime.bigint();
  const { code, stderr, stdout } = await new Promise<{ code: number | null; stderr: string; stdout: string }>(
    (resolve, reject) => {
      const child = spawn(GNU_TIME, ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args], {
        env: opts.env ?? (process.env as Record<string, string>),
        cwd: opts.cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        if (out.length < 4 << 20) out += d.toString('utf8');
      });
      child.stderr.on('data', (d: Buffer) => {
        err = (err + d.toString('utf8')).slice(-8000);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 3_600_000);
      child.on('error', reject);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve({ code: c, stderr: err, stdout: out });
      });
    },
  );
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const text = await readFile(timeFile, 'utf8').catch(() => '');
  await rm(timeFile, { force: true });
  if (code !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited ${code}:\n${stderr.trim().split('\n').slice(-15).join('\n')}`,
    );
  }
  // GNU time may print "Command exited with non-zero status" first; the numbers are the last line.
  const last = text.trim().split('\n').at(-1) ?? '';
  const [, user, sys, rss] = last.split(/\s+/).map(Number);
  const userS = user ?? Number.NaN;
  const sysS = sys ?? Number.NaN;
  return { stdout, wallS, userS, sysS, cpuS: userS + sysS, maxRssMiB: (rss ?? Number.NaN) / 1024 };
}

/** Runs a command without timing it (setup steps); throws on failure. */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-8000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}`)),
    );
  });
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] ?? Number.NaN) : ((v[mid - 1] ?? 0) + (v[mid] ?? 0)) / 2;
}

/** User+system CPU seconds a process has used so far (Linux /proc), or undefined. */
export async function processCpuSeconds(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // Fields after the command name (which may hold spaces) start at ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / 100; // USER_HZ is 100 on Linux
}
