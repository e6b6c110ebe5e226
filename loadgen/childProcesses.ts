// Child processes the harness owns (name server, brokers): started with a readiness line to
// wait for, their output kept in a log file, and always stopped — on normal exit, on error,
// and on Ctrl-C/SIGTERM of the harness — so no orphan keeps a port or a store lock.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError } from '../protocol/errors.js';

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logPath: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

const live = new Set<ManagedProcess>();
/** How long a failed start's stdio may take to close before its log tail is read anyway. */
const LOG_DRAIN_TIMEOUT_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const managed of live) managed.child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal} received, stopping ${live.size} child process(es)…\n`);
      void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

/**
 * Makes a child the harness started (a bench process, or a broker JVM for verify) one it
 * owns: stopped on Ctrl-C/SIGTERM and killed when this process exits.
 */
export function adoptProcess(managed: ManagedProcess): void {
  installExitHooks();
  live.add(managed);
  void managed.exited.then(() => live.delete(managed));
}

/**
 * The command that runs this package's CLI in a child process. FLUSHBENCH_CHILD_NODE_ARGS adds
 * Node flags to every child (brokers, name server), e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
 * to profile a broker under `bench run` (NODE_OPTIONS refuses --cpu-prof).
 */
export function benchCommand(): { command: string; args: string[] } {
  const cli = path.resolve(path.dirname(new URL(import.meta.url).pathname), 'cli.js');
  const nodeArgs = (process.env.FLUSHBENCH_CHILD_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  return { command: process.execPath, args: [...nodeArgs, cli] };
}

/**
 * Starts `bench <args>` and waits until a stdout line matches `ready` (returns its match), or
 * fails with the process log's tail when it exits or times out first.
 */
export async function startBenchProcess(
  name: string,
  args: string[],
  ready: RegExp,
  options: { logDir: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): Promise<{ process: ManagedProcess; match: RegExpMatchArray }> {
  fs.mkdirSync(options.logDir, { recursive: true });
  const logPath = path.join(options.logDir, `${name}.log`);
  const log = fs.createWriteStream(logPath);
  const { command, args: base } = benchCommand();
  const child = spawn(command, [...base, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const stdioClosed = new Promise((resolve) => child.once('close', resolve));
  const managed: ManagedProcess = { name, child, logPath, exited };
  adoptProcess(managed);
  child.stderr?.pipe(log, { end: false });
  const timeoutMs = options.timeoutMs ?? 30_000;
  let buffered = '';
  try {
    const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new FlushbenchError('START_TIMEOUT', `${name} did not become ready within ${timeoutMs} ms`)), timeoutMs);
      child.stdout?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        buffered += chunk.toString('utf8');
        const found = buffered.match(ready);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
        if (buffered.length > 65536) buffered = buffered.slice(-4096);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new FlushbenchError('START_FAILED', `${name} exited (${code}) before it was ready`));
      });
    });
    return { process: managed, match };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    // 'exit' can come before the last stderr bytes are read: wait for the pipes to close and
    // the log to reach the file, or the error would show an empty tail.
    await Promise.race([stdioClosed, sleep(LOG_DRAIN_TIMEOUT_MS)]);
    await new Promise<void>((resolve) => log.end(() => resolve()));
    const tail = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n') : '';
    throw new FlushbenchError((error as FlushbenchError).code ?? 'START_FAILED', `${(error as Error).message}. Last log lines (${logPath}):\n${tail}`);
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
export async function stopProcess(managed: ManagedProcess, graceMs = 10_000): Promise<number | string> {
  if (managed.child.exitCode !== null || managed.child.signalCode !== null) return managed.exited;
  managed.child.kill('SIGTERM');
  const timer = setTimeout(() => managed.child.kill('SIGKILL'), graceMs);
  const code = await managed.exited;
  clearTimeout(timer);
  return code;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((managed) => stopProcess(managed)));
}

export function liveProcessCount(): number {
  return live.size;
}
