// npm run bench:remoting — the wire path in numbers:
//   1. tinybench: encode / decode of a 128 B SEND_MESSAGE_V2 request and its response, JSON and ROCKETMQ headers
//   2. FrameDecoder fuzz throughput (random + mutated frames, seeded)
//   3. loopback send/ack: `bench namesrv` + an ASYNC_FLUSH `bench broker` as child processes, this
//      process keeps 64 SEND_MESSAGE_V2 requests in flight over one RemotingClient connection.
//   node dist/protocol/bench/remotingBench.js [--seconds 5] [--inflight 64] [--header rocketmq,json] [--skip-micro] [--dir /tmp]
//   env BROKER_ARGS="key=value …" adds broker settings; BENCH_BROKER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR" profiles the broker.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import hdr from 'hdr-histogram-js';
import { Bench } from 'tinybench';
import { ResponseCode, SerializeType, type SerializeTypeValue } from '../codes.js';
import { decodeFrameContent, decodeResponseLite, encodeFrame, FrameDecoder, FrameError } from '../frameCodec.js';
import { RemotingClient } from '../remotingClient.js';
import { createResponse, type RemotingCommand } from '../remotingCommand.js';
import { sendMessageV2Request } from '../requests/sendMessage.js';
import { seededRandom } from '../../broker/seededRandom.js';
import { linuxProcSource, processCpuTicks } from '../../loadgen/cpuAccounting.js';

const arg = (name: string, fallback: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
};
const seconds = Number(arg('seconds', '5'));
const inFlight = Number(arg('inflight', '64'));
const headers = arg('header', 'rocketmq,json').split(',').map((h) => h.trim().toLowerCase());
const skipMicro = process.argv.includes('--skip-micro');
const scratchRoot = path.resolve(arg('dir', os.tmpdir()));
const here = path.dirname(new URL(import.meta.url).pathname);
const cliPath = path.resolve(here, '..', '..', 'loadgen', 'cli.js');

const BODY = Buffer.alloc(128, 0x61);
const TIMESTAMP_MARKER = '9999999999999';

function sendRequest(serializeType: SerializeTypeValue, topic = 'BenchmarkTest', queueId = 0): RemotingCommand {
  return sendMessageV2Request({
    producerGroup: 'benchmark_producer', topic, queueId, bornTimestamp: TIMESTAMP_MARKER,
    properties: 'UNIQ_KEY\u00017F0000010001B4AAC3B2F1A7F50000\u0002WAIT\u0001true',
  }, BODY, serializeType);
}

function throughput(task: { result?: unknown }): number {
  return (task.result as { throughput?: { mean: number } } | undefined)?.throughput?.mean ?? 0;
}

async function micro(): Promise<void> {
  const bench = new Bench({ time: 500 });
  for (const [label, type] of [['JSON', SerializeType.JSON], ['ROCKETMQ', SerializeType.ROCKETMQ]] as const) {
    const request = sendRequest(type);
    const requestFrame = encodeFrame(request);
    const response = createResponse(request, ResponseCode.SUCCESS, undefined, { msgId: '7F00000100002A9F0000000000001F40', queueId: '0', queueOffset: '12345' });
    const responseFrame = encodeFrame(response);
    bench.add(`encode request  ${label}`, () => encodeFrame(request));
    bench.add(`decode request  ${label}`, () => decodeFrameContent(requestFrame.subarray(4)));
    bench.add(`encode response ${label}`, () => encodeFrame(response));
    bench.add(`decode response ${label} (lite)`, () => decodeResponseLite(responseFrame.subarray(4)));
    bench.add(`FrameDecoder.push request ${label}`, () => new FrameDecoder().push(requestFrame, () => {}));
  }
  await bench.run();
  console.log('codec (128 B SEND_MESSAGE_V2):');
  for (const task of bench.tasks) console.log(`  ${task.name.padEnd(36)} ${Math.round(throughput(task)).toLocaleString().padStart(12)} ops/s`);
}

function fuzzThroughput(): void {
  const rand = seededRandom(7);
  const templates = [encodeFrame(sendRequest(SerializeType.JSON)), encodeFrame(sendRequest(SerializeType.ROCKETMQ))];
  const inputs: Buffer[] = [];
  for (let i = 0; i < 20_000; i++) {
    const frame = Buffer.from(templates[i & 1]);
    for (let m = Math.floor(rand() * 3); m > 0; m--) frame[Math.floor(rand() * frame.length)] ^= 1 << Math.floor(rand() * 8);
    inputs.push(frame);
  }
  let frames = 0;
  let errors = 0;
  let bytes = 0;
  const started = performance.now();
  const deadline = started + 2000;
  while (performance.now() < deadline) {
    for (const input of inputs) {
      bytes += input.length;
      try {
        new FrameDecoder(1 << 20).push(input, () => frames++);
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        errors++;
      }
    }
  }
  const elapsedS = (performance.now() - started) / 1000;
  const total = frames + errors;
  console.log(`decoder fuzz: ${Math.round(total / elapsedS).toLocaleString()} inputs/s (${(bytes / elapsedS / 1e6).toFixed(0)} MB/s), ` +
    `${((errors / total) * 100).toFixed(1)} % rejected with FrameError, no other exception`);
}

interface Child {
  child: ChildProcess;
  exited: Promise<unknown>;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); null elsewhere. */
function processCpuSeconds(pid: number | undefined): number | null {
  const stat = pid === undefined ? null : linuxProcSource().processStat(pid);
  return stat === null ? null : processCpuTicks(stat) / linuxProcSource().clockTicksPerSecond;
}

const children: Child[] = [];
process.on('exit', () => {
  for (const { child } of children) child.kill('SIGKILL');
});

/** Runs `bench <args>` (with extra node flags, e.g. --cpu-prof) and waits (bounded) for a stdout line matching `ready`. */
function startBench(args: string[], ready: RegExp, logPath: string, nodeFlags: string[] = []): Promise<RegExpMatchArray> {
  const child = spawn(process.execPath, [...nodeFlags, cliPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FLUSHBENCH_LOG_LEVEL: process.env.FLUSHBENCH_LOG_LEVEL ?? 'warn' },
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  children.push({ child, exited });
  const log = fs.createWriteStream(logPath);
  child.stderr?.pipe(log);
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${args[0]} not ready within 20 s; see ${logPath}`)), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      seen += chunk.toString();
      const match = seen.match(ready);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited (${String(code)}) before it was ready; see ${logPath}`));
    });
  });
}

async function stopChildren(): Promise<void> {
  for (const { child, exited } of children.reverse()) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  children.length = 0;
}

async function freePort(): Promise<number> {
  const probe = (port: number) => new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  for (let attempt = 0; attempt < 50; attempt++) {
    const server = net.createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (port > 1024 && port < 65534 && (await probe(port + 1)) && (await probe(port - 2))) return port;
  }
  throw new Error('no free port');
}

/** Writes `value` as exactly `width` decimal digits (no allocation). */
function writeDigits(target: Buffer, at: number, value: number, width: number): void {
  for (let i = width - 1; i >= 0; i--) {
    target[at + i] = 0x30 + (value % 10);
    value = Math.floor(value / 10);
  }
}

/**
 * A request frame encoded once; each send patches the opaque in place (the JSON header gets a
 * fixed-width opaque slot; trailing spaces are legal JSON) and the born timestamp.
 */
class Template {
  private readonly frame: Buffer;
  private readonly opaqueAt: number;
  private readonly timestampAt: number;
  private readonly binary: boolean;

  constructor(serializeType: SerializeTypeValue, topic: string, queueId: number) {
    this.binary = serializeType === SerializeType.ROCKETMQ;
    const request = sendRequest(serializeType, topic, queueId);
    if (this.binary) {
      this.frame = encodeFrame(request);
      this.opaqueAt = 8 + 5;
    } else {
      request.opaque = 1_000_000_000; // ten digits reserve the slot
      this.frame = encodeFrame(request);
      this.opaqueAt = this.frame.indexOf('"opaque":1000000000') + '"opaque":'.length;
    }
    this.timestampAt = this.frame.indexOf(TIMESTAMP_MARKER);
  }

  copy(): Buffer {
    return Buffer.from(this.frame);
  }

  /** `opaque` must have 10 digits in JSON (the bench keeps it in 1e9..2e9). */
  fill(target: Buffer, opaque: number): void {
    if (this.binary) target.writeInt32BE(opaque, this.opaqueAt);
    else writeDigits(target, this.opaqueAt, opaque, 10);
    writeDigits(target, this.timestampAt, Date.now(), 13);
  }
}

interface LoopbackResult {
  acksPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Share of one core used during the measured run. */
  clientCpu: number;
  brokerCpu: number | null;
}

async function loopback(header: string, address: string, queues: number, brokerPid: number | undefined): Promise<LoopbackResult> {
  const serializeType = header === 'json' ? SerializeType.JSON : SerializeType.ROCKETMQ;
  const client = new RemotingClient(address, { serializeType, liteResponses: true });
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  let opaque = 1_000_000_000;
  let acked = 0;
  let failed = 0;
  const run = async (durationMs: number, record: boolean) => {
    const end = performance.now() + durationMs;
    await Promise.all(Array.from({ length: inFlight }, async (_, slot) => {
      const template = new Template(serializeType, 'BenchmarkTest', slot % queues);
      const frame = template.copy();
      while (performance.now() < end) {
        opaque = opaque >= 2_000_000_000 ? 1_000_000_000 : opaque + 1;
        template.fill(frame, opaque);
        const t0 = performance.now();
        const response = await client.invokeEncoded(frame, opaque, 5000);
        if (!record) continue;
        if (response.code === ResponseCode.SUCCESS) acked++;
        else failed++;
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      }
    }));
  };
  try {
    await run(1000, false); // warm-up: JIT, topic queues, page cache
    const started = performance.now();
    const clientCpuBefore = process.cpuUsage();
    const brokerCpuBefore = processCpuSeconds(brokerPid);
    await run(seconds * 1000, true);
    const elapsedS = (performance.now() - started) / 1000;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const brokerCpuAfter = processCpuSeconds(brokerPid);
    if (failed > 0) console.log(`  ${failed} sends answered with an error code`);
    return {
      acksPerS: acked / elapsedS, p50Ms: histogram.getValueAtPercentile(50) / 1000, p99Ms: histogram.getValueAtPercentile(99) / 1000,
      clientCpu: (clientCpu.user + clientCpu.system) / 1e6 / elapsedS,
      brokerCpu: brokerCpuBefore !== null && brokerCpuAfter !== null ? (brokerCpuAfter - brokerCpuBefore) / elapsedS : null,
    };
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  if (!skipMicro) {
    await micro();
    fuzzThroughput();
  }
  if (!fs.existsSync(cliPath)) throw new Error(`${cliPath} is missing; run npx tsc -p . first`);
  const dir = fs.mkdtempSync(path.join(scratchRoot, 'flushbench-remotingbench-'));
  try {
    const namesrv = await startBench(['namesrv', '--port', '0'], /namesrv listening on ([\d.]+):(\d+)/, path.join(dir, 'namesrv.log'));
    const namesrvAddr = `127.0.0.1:${namesrv[2]}`;
    const port = await freePort();
    const brokerArgs = [
      'broker', `listenPort=${port}`, `namesrvAddr=${namesrvAddr}`, `storePathRootDir=${path.join(dir, 'store')}`, 'brokerName=bench-broker',
      'flushDiskType=ASYNC_FLUSH', 'brokerRole=ASYNC_MASTER', 'mappedFileSizeCommitLog=1073741824',
      ...(process.env.BROKER_ARGS ? process.env.BROKER_ARGS.split(' ') : []),
    ];
    // BENCH_BROKER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the broker process.
    const brokerNodeFlags = (process.env.BENCH_BROKER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    await startBench(brokerArgs, /broker \S+ listening on/, path.join(dir, 'broker.log'), brokerNodeFlags);
    const brokerPid = children.at(-1)?.child.pid;
    console.log(`\nloopback send/ack: broker 127.0.0.1:${port} (ASYNC_FLUSH, separate process), ${inFlight} in flight, 128 B bodies, ${seconds} s per header type`);
    for (const header of headers) {
      const result = await loopback(header, `127.0.0.1:${port}`, 8, brokerPid);
      const cpu = `CPU client ${(result.clientCpu * 100).toFixed(0)} %, broker ${result.brokerCpu === null ? '?' : `${(result.brokerCpu * 100).toFixed(0)} %`}`;
      console.log(`  ${header.toUpperCase().padEnd(8)} ${Math.round(result.acksPerS).toLocaleString().padStart(9)} acks/s  p50 ${result.p50Ms.toFixed(3)} ms  p99 ${result.p99Ms.toFixed(3)} ms  (${cpu} of one core)`);
    }
  } finally {
    await stopChildren();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  await stopChildren();
  process.exitCode = 1;
});
