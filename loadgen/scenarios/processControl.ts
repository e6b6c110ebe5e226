// Signals to a broker process, whatever the engine (a `bench broker` child or a RocketMQ JVM),
// and restarting a killed one exactly as it was started: command line, environment and working
// directory read from /proc before the kill, so it comes back on the same store and ports.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { FlushbenchError } from '../../protocol/errors.js';

export interface CapturedCommand {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function signalProcess(pid: number, signal: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    throw new FlushbenchError('SIGNAL_FAILED', `kill -${signal} ${pid}: ${(error as Error).message}`);
  }
}

/** How process `pid` was started (Linux /proc; the process must be ours). */
export function captureCommand(pid: number): CapturedCommand {
  const split = (file: string) => fs.readFileSync(`/proc/${pid}/${file}`).toString('utf8').split('\0').filter((s) => s.length > 0);
  const argv = split('cmdline');
  if (argv.length === 0) throw new FlushbenchError('NO_COMMAND_LINE', `process ${pid} has no command line in /proc (exited?)`);
  const env: NodeJS.ProcessEnv = {};
  for (const entry of split('environ')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { argv, env, cwd: fs.readlinkSync(`/proc/${pid}/cwd`) };
}

/** Starts the captured command again, output appended to logPath; killed when this process exits. */
export function restartCommand(command: CapturedCommand, logPath: string): ChildProcess {
  const output = fs.openSync(logPath, 'a');
  const child = spawn(command.argv[0], command.argv.slice(1), { cwd: command.cwd, env: command.env, stdio: ['ignore', output, output] });
  fs.closeSync(output);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  return child;
}

/** SIGTERM, SIGKILL after graceMs; resolves when it is gone. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Waits until process `pid` has exited (its /proc entry is gone or a zombie), max timeoutMs. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let state = '';
    try {
      state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? '';
    } catch {
      return;
    }
    if (state === 'Z' || state === 'X') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new FlushbenchError('PROCESS_DID_NOT_EXIT', `process ${pid} still runs ${timeoutMs} ms after SIGKILL`);
}
