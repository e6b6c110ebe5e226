// Runs the `bench` CLI as a child process and collects its output; kills it after timeoutMs.
import { spawn } from 'node:child_process';
import { benchCommand } from '../../loadgen/childProcesses.js';

export interface BenchResult {
  /** Exit code, or the signal name when it was killed. */
  code: number | string;
  stdout: string;
  stderr: string;
}

export function runBench(args: string[], timeoutMs: number): Promise<BenchResult> {
  const { command, args: base } = benchCommand();
  return new Promise((resolve) => {
    const child = spawn(command, [...base, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}
