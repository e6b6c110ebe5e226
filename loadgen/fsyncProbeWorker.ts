// One probe writer, in a worker thread: 4 KiB append + fdatasync with synchronous calls, so
// what is timed is the disk, not libuv's thread-pool round trips (which halved the rate).
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

export interface FsyncWorkerJob {
  file: string;
  durationMs: number;
  blockBytes: number;
  maxOps: number;
  /** Shared start gate, so N writers begin together. */
  startGate: SharedArrayBuffer;
}

export interface FsyncWorkerResult {
  ops: number;
  elapsedMs: number;
  /** Per-op latency in ms, ops entries. */
  latenciesMs: Float64Array;
}

function run(job: FsyncWorkerJob): FsyncWorkerResult {
  const block = Buffer.alloc(job.blockBytes, 0x5a);
  const latenciesMs = new Float64Array(job.maxOps);
  const fd = fs.openSync(job.file, 'w');
  Atomics.wait(new Int32Array(job.startGate), 0, 0, 10_000);
  const started = performance.now();
  const end = started + job.durationMs;
  let ops = 0;
  try {
    for (let position = 0; ops < job.maxOps; position += block.length) {
      const t0 = performance.now();
      if (t0 >= end) break;
      fs.writeSync(fd, block, 0, block.length, position);
      fs.fdatasyncSync(fd);
      latenciesMs[ops++] = performance.now() - t0;
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(job.file, { force: true });
  }
  return { ops, elapsedMs: performance.now() - started, latenciesMs: latenciesMs.slice(0, ops) };
}

parentPort?.postMessage(run(workerData as FsyncWorkerJob));
