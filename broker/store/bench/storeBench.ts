// npm run bench:store — codec micro benchmarks (tinybench) and a sustained in-process run per
// flush mode: 128 B messages, 64 appenders each waiting for its ack. Reports numbers only.
//   node dist/broker/store/bench/storeBench.js [--duration 5] [--mode ASYNC_FLUSH|SYNC_FLUSH|POOL] [--dir .] [--codec off]
import fs from 'node:fs';
import path from 'node:path';
import { Bench } from 'tinybench';
import hdr from 'hdr-histogram-js';
import { bodyCrc, decodeMessage, encodeMessage, encodeSocketAddress, measureMessage, type MessageToStore } from '../messageCodec.js';
import { MessageStore } from '../messageStore.js';
import { defaultStoreConfig } from '../storeConfig.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const durationS = Number(arg('duration', '5'));
const modes = arg('mode', 'ASYNC_FLUSH,SYNC_FLUSH,POOL').split(',');
const baseDir = path.resolve(arg('dir', '.'));
const APPENDERS = 64;
const host = encodeSocketAddress('127.0.0.1', 10911);
// One body for all messages: a broker hands the store a view into the request frame, so
// allocating a body per message would measure the benchmark, not the store.
const BODY = Buffer.alloc(128, 0x61);
const message = (i: number): MessageToStore => ({
  topic: 'BenchmarkTest', queueId: i % 8, flag: 0, body: BODY, properties: `UNIQ_KEY\u0001${i}\u0002CLUSTER\u0001DefaultCluster`,
  sysFlag: 0, bornTimestamp: Date.now(), bornHost: host, storeHost: host, reconsumeTimes: 0, preparedTransactionOffset: 0,
});

async function codec(): Promise<void> {
  const m = message(1);
  const lengths = measureMessage(m);
  const target = Buffer.alloc(lengths.totalBytes);
  encodeMessage(target, 0, m, lengths, 1, 1, Date.now());
  const bench = new Bench({ time: 500 });
  bench.add('encodeMessage 128 B', () => encodeMessage(target, 0, m, lengths, 1, 1, 1));
  bench.add('decodeMessage 128 B', () => decodeMessage(target));
  bench.add('bodyCrc 128 B', () => bodyCrc(m.body));
  await bench.run();
  for (const task of bench.tasks) console.log(`${task.name.padEnd(24)} ${Math.round((task.result as { throughput?: { mean: number } } | undefined)?.throughput?.mean ?? 0).toLocaleString()} ops/s`);
}

async function sustained(mode: string): Promise<void> {
  const root = fs.mkdtempSync(path.join(baseDir, '.flushbench-storebench-'));
  const store = await MessageStore.open({
    ...defaultStoreConfig(root), flushDiskType: mode === 'SYNC_FLUSH' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH', transientStorePoolEnable: mode === 'POOL',
  });
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  let acked = 0;
  let sent = 0;
  const end = performance.now() + durationS * 1000;
  const fsyncsBefore = store.stats().fsyncCount;
  const flushedBefore = store.stats().messagesFlushed;
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: APPENDERS }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const status = await store.appendMessage(message(sent++)).settled;
        if (status === 'PUT_OK') acked++;
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    const stats = store.stats();
    const fsyncs = stats.fsyncCount - fsyncsBefore;
    console.log(`${mode.padEnd(12)} ${Math.round(acked / seconds).toLocaleString().padStart(9)} msgs/s  ${Math.round(fsyncs / seconds).toLocaleString().padStart(6)} fsyncs/s  ` +
      `${fsyncs ? ((stats.messagesFlushed - flushedBefore) / fsyncs).toFixed(1) : '—'} msgs/fsync  p50 ${(histogram.getValueAtPercentile(50) / 1000).toFixed(3)} ms  p99 ${(histogram.getValueAtPercentile(99) / 1000).toFixed(3)} ms`);
  } finally {
    await store.shutdown();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (arg('codec', 'on') !== 'off') await codec();
console.log(`\nsustained: ${APPENDERS} appenders × 128 B, ${durationS} s per mode, store under ${baseDir}`);
for (const mode of modes) await sustained(mode);
