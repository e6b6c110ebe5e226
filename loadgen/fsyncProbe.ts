// The disk's fdatasync rate as fio measures it (`--rw=write --bs=4k --fdatasync=1`): N writers,
// each appending 4 KiB blocks to its own file and calling fdatasync after every block. Each
// writer is a worker thread making synchronous calls; see fsyncProbeWorker.ts for why.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FsyncWorkerJob, FsyncWorkerResult } from './fsyncProbeWorker.js';

export interface FsyncRate {
  writers: number;
  fdatasyncPerSecond: number;
  latencyMsP50: number;
  latencyMsP99: number;
}

/** At most this many operations per writer: bounds memory (8 B each) and the run. */
const MAX_OPS_PER_WRITER = 2_000_000;
const WORKER_GRACE_MS = 30_000;

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function runWorker(job: FsyncWorkerJob): Promise<FsyncWorkerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./fsyncProbeWorker.js', import.meta.url), { workerData: job });
    const timer = setTimeout(() => void worker.terminate().then(() => reject(new Error(`fsync probe writer on ${job.file} did not finish within ${job.durationMs + WORKER_GRACE_MS} ms`))), job.durationMs + WORKER_GRACE_MS);
    worker.once('message', (result: FsyncWorkerResult) => {
      clearTimeout(timer);
      resolve(result);
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** `writers` concurrent 4 KiB append + fdatasync loops in `dir` for `durationMs`. */
export async function measureFsyncRate(dir: string, writers: number, durationMs: number, blockBytes = 4096): Promise<FsyncRate> {
  const startGate = new SharedArrayBuffer(4);
  const jobs = Array.from({ length: writers }, (_, i) => runWorker({
    file: path.join(dir, `.flushbench-fsync-${process.pid}-${writers}-${i}`), durationMs, blockBytes, maxOps: MAX_OPS_PER_WRITER, startGate,
  }));
  // Let every worker reach the gate, then start them together.
  await new Promise((r) => setTimeout(r, 50));
  Atomics.store(new Int32Array(startGate), 0, 1);
  Atomics.notify(new Int32Array(startGate), 0);
  const results = await Promise.all(jobs);
  const ops = results.reduce((sum, r) => sum + r.ops, 0);
  const elapsedMs = Math.max(...results.map((r) => r.elapsedMs));
  const all = new Float64Array(ops);
  let at = 0;
  for (const r of results) {
    all.set(r.latenciesMs, at);
    at += r.ops;
  }
  all.sort();
  return { writers, fdatasyncPerSecond: ops / (elapsedMs / 1000), latencyMsP50: percentile(all, 0.5), latencyMsP99: percentile(all, 0.99) };
}
