// npm run bench:redis — the Redis baseline of the CPU-per-message target, in one run:
// our single-sync-flush against Redis `appendfsync always`, and single-async-flush against
// `appendfsync everysec`, on the same disk, under the same load shape (64 clients, 128 B).
// For each: TPS and CPU µs per acknowledged message of the server and of the load generator,
// alternated (ours, Redis, ours, Redis …) so host drift falls on both. A benchmark: it reports
// numbers and asserts nothing.
//   npm run bench:redis -- [--duration 10] [--repeat 2] [--connections 1] [--store-dir .flushbench-store]
// --connections: our producers' connections per broker (default 1, like one DefaultMQProducer;
// redis-benchmark opens one per client, i.e. 64).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { linuxProcSource, processCpuTicks } from '../cpuAccounting.js';
import { validateSummary } from '../../reports/summary.js';

const PAIRS = [
  { profile: 'single-sync-flush', appendfsync: 'always' },
  { profile: 'single-async-flush', appendfsync: 'everysec' },
] as const;
const CLIENTS = 64;
const BODY_BYTES = 128;
const REDIS_PORT = 6399;
const CPU_POLL_MS = 50;
const here = path.dirname(new URL(import.meta.url).pathname);
const cliPath = path.resolve(here, '..', 'cli.js');

interface Sample {
  tps: number;
  serverUsPerOp: number | null;
  loadgenUsPerOp: number | null;
  stealPercent: number | null;
}

function cpuSeconds(pid: number): number | null {
  const stat = linuxProcSource().processStat(pid);
  return stat === null ? null : processCpuTicks(stat) / linuxProcSource().clockTicksPerSecond;
}

/** Runs a child to completion; returns stdout and its CPU seconds (polled: the last reading before exit). */
function runMeasured(command: string, args: string[], timeoutMs: number): Promise<{ stdout: string; cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let lastCpu = 0;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const poll = setInterval(() => {
      const cpu = child.pid ? cpuSeconds(child.pid) : null;
      if (cpu !== null) lastCpu = cpu;
    }, CPU_POLL_MS);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, cpuSeconds: lastCpu });
      else reject(new Error(`${command} exited ${code}: ${stderr.slice(-500)}`));
    });
  });
}

async function ours(profile: string, seconds: number, storeDir: string, connections: number): Promise<Sample> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-redis-baseline-'));
  try {
    await runMeasured(process.execPath, [cliPath, 'run', '--profile', profile, '--duration', String(seconds), '--warmup', '3', '--no-calibrate', '--quiet',
      '--producers', String(CLIENTS), '--size', String(BODY_BYTES), '--connections', String(connections), '--store-dir', storeDir, '--out', out], (seconds + 120) * 1000);
    const result = validateSummary(JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'))).results[0];
    return { tps: result.tps.mean, serverUsPerOp: result.cpu?.brokersTotalUsPerMsg ?? null, loadgenUsPerOp: result.cpu?.loadgenUsPerMsg ?? null, stealPercent: result.cpu?.hostStealPercent ?? null };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

async function redis(appendfsync: string, seconds: number, expectedTps: number, storeDir: string): Promise<Sample> {
  const dir = fs.mkdtempSync(path.join(fs.mkdirSync(storeDir, { recursive: true }) ?? storeDir, 'redis-'));
  const server = spawn('redis-server', ['--port', String(REDIS_PORT), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', appendfsync,
    '--save', '', '--logfile', path.join(dir, 'redis.log')], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100; i++) {
      try {
        execFileSync('redis-cli', ['-p', String(REDIS_PORT), 'ping'], { stdio: 'ignore' });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const pid = server.pid ?? 0;
    // redis-benchmark has no duration: size the request count from our TPS to take about as long.
    const requests = Math.max(50_000, Math.round(expectedTps * seconds));
    const before = cpuSeconds(pid) ?? 0;
    const started = performance.now();
    const bench = await runMeasured('redis-benchmark', ['-p', String(REDIS_PORT), '-c', String(CLIENTS), '-d', String(BODY_BYTES), '-t', 'set', '-n', String(requests), '-q'],
      (seconds * 20 + 120) * 1000);
    const elapsedS = (performance.now() - started) / 1000;
    const serverCpu = (cpuSeconds(pid) ?? before) - before;
    const tps = Number(/SET: ([\d.]+) requests per second/.exec(bench.stdout.replace(/\r/g, '\n'))?.[1] ?? requests / elapsedS);
    return { tps, serverUsPerOp: (serverCpu * 1e6) / requests, loadgenUsPerOp: (bench.cpuSeconds * 1e6) / requests, stealPercent: null };
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const mean = (values: Array<number | null>) => {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
};
const f = (value: number | null, digits = 1) => (value === null ? '—' : value.toFixed(digits));

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '10' }, repeat: { type: 'string', default: '2' }, 'store-dir': { type: 'string', default: '.flushbench-store' }, connections: { type: 'string', default: '1' } } });
  const connections = Number(values.connections);
  if (!(Number.isInteger(connections) && connections >= 1 && connections <= CLIENTS)) throw new Error(`--connections 1..${CLIENTS}`);
  const seconds = Number(values.duration);
  const repeat = Number(values.repeat);
  if (!(seconds > 0 && seconds <= 600) || !(Number.isInteger(repeat) && repeat >= 1 && repeat <= 10)) throw new Error('--duration 1..600 s, --repeat 1..10');
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('redis-server and redis-benchmark are needed: apt-get install redis-server');
  }
  if (!fs.existsSync(cliPath)) throw new Error(`${cliPath} is missing; run npx tsc -p . first`);
  const storeDir = path.resolve(values['store-dir'] as string);
  const rows: string[] = [];
  for (const pair of PAIRS) {
    const oursSamples: Sample[] = [];
    const redisSamples: Sample[] = [];
    for (let i = 0; i < repeat; i++) {
      process.stderr.write(`${pair.profile} run ${i + 1}/${repeat}…\n`);
      const a = await ours(pair.profile, seconds, storeDir, connections);
      oursSamples.push(a);
      process.stderr.write(`redis appendfsync ${pair.appendfsync} run ${i + 1}/${repeat}…\n`);
      redisSamples.push(await redis(pair.appendfsync, seconds, a.tps, storeDir));
    }
    const o = { tps: mean(oursSamples.map((s) => s.tps)), server: mean(oursSamples.map((s) => s.serverUsPerOp)), loadgen: mean(oursSamples.map((s) => s.loadgenUsPerOp)), steal: mean(oursSamples.map((s) => s.stealPercent)) };
    const r = { tps: mean(redisSamples.map((s) => s.tps)), server: mean(redisSamples.map((s) => s.serverUsPerOp)), loadgen: mean(redisSamples.map((s) => s.loadgenUsPerOp)) };
    const ratio = (a: number | null, b: number | null) => (a !== null && b ? a / b : null);
    rows.push(`| ${pair.profile} vs appendfsync ${pair.appendfsync} | ${f(o.server)} | ${f(r.server)} | ${f(ratio(o.server, r.server), 2)} | ${f(o.loadgen)} | ${f(r.loadgen)} | ${f(o.tps, 0)} | ${f(r.tps, 0)} | ${f(ratio(o.tps, r.tps), 2)} | ${f(o.steal)} |`);
  }
  process.stdout.write([
    `flushbench vs Redis ${execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] ?? ''}: ${CLIENTS} clients, ${BODY_BYTES} B, ${seconds} s, ${repeat} alternations, store ${storeDir}; our producers share ${connections} connection(s), redis-benchmark opens ${CLIENTS}`,
    '',
    '| setting | broker CPU µs/msg | Redis CPU µs/SET | broker ÷ Redis | bench run µs/msg | redis-benchmark µs/req | our TPS | Redis TPS | TPS ours ÷ Redis | steal % (ours) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows, '',
  ].join('\n'));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:redis: ${(error as Error).message}\n`);
  process.exit(1);
});
