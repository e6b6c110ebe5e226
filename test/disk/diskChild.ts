// Child processes the disk tests SIGKILL (not a test file itself). Each prints one JSON line
// when its state is in place, then waits (bounded) to be killed:
//   records <file> <synced> <unsynced> <recordBytes>  N records + fdatasync, then M without sync
//   strict <stateFile> <procSys>                       holds strict writeback mode on a fake /proc/sys
//   disk <stateDir> <dir>                              creates and mounts a loop disk
//   churn <file>                                       rewrites + fdatasyncs a block without pause
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiskRegistry } from '../../loadgen/disk/diskRegistry.js';
import { createLoopDisk } from '../../loadgen/disk/loopDisk.js';
import { enableStrictWriteback } from '../../loadgen/disk/writebackControl.js';

/** A record: its index in the first 4 bytes, then a filler derived from it, so a torn or foreign record is seen. */
export function encodeRecord(index: number, recordBytes: number): Buffer {
  const record = Buffer.alloc(recordBytes, (index % 251) + 1);
  record.writeUInt32BE(index, 0);
  return record;
}

function writeRecords(file: string, synced: number, unsynced: number, recordBytes: number): void {
  const fd = fs.openSync(file, 'wx');
  for (let i = 0; i < synced; i++) fs.writeSync(fd, encodeRecord(i, recordBytes));
  fs.fdatasyncSync(fd);
  for (let i = synced; i < synced + unsynced; i++) fs.writeSync(fd, encodeRecord(i, recordBytes));
  // fd stays open: the process dies with it, like a broker under SIGKILL.
}

async function main(): Promise<void> {
  const [mode, a, b, c, d] = process.argv.slice(2);
  if (mode === 'records') writeRecords(a, Number(b), Number(c), Number(d));
  else if (mode === 'churn') {
    const fd = fs.openSync(a, 'w');
    const block = Buffer.alloc(64 * 1024, 0x5a);
    process.stdout.write(`${JSON.stringify({ pid: process.pid })}\n`);
    // Bounded: the test kills it within seconds; 60 s is the orphan bound.
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      fs.writeSync(fd, block, 0, block.length, 0);
      fs.fdatasyncSync(fd);
    }
    process.exit(2);
  } else if (mode === 'strict') enableStrictWriteback({ stateFile: a, procSys: b });
  else if (mode === 'disk') {
    const registry = new DiskRegistry(a);
    registry.armSignals(30_000);
    const disk = await createLoopDisk({ dir: b, imageName: 'child.img', sizeMiB: 32, mountPoint: path.join(b, 'child-mnt') }, registry);
    process.stdout.write(`${JSON.stringify({ pid: process.pid, device: disk.device, mountPoint: disk.mountPoint, imagePath: disk.imagePath })}\n`);
    setTimeout(() => process.exit(2), 60_000);
    return;
  } else throw new Error(`unknown mode ${mode}`);
  process.stdout.write(`${JSON.stringify({ pid: process.pid })}\n`);
  // Killed long before this; the bound keeps an orphan from living forever.
  setTimeout(() => process.exit(2), 60_000);
}

// Only as a child: the tests import encodeRecord from here.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}

/** Starts this file as a child and resolves with its JSON line (rejects on exit or timeout). */
export function startChild(args: string[], timeoutMs = 20_000): Promise<{ child: ChildProcess; info: Record<string, string | number> }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child ${args[0]} printed nothing in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      resolve({ child, info: JSON.parse(stdout.slice(0, newline)) as Record<string, string | number> });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child ${args[0]} exited (${String(code)}) before it was ready: ${stderr}`));
    });
  });
}

/** SIGKILLs the child and waits until it is gone. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}
