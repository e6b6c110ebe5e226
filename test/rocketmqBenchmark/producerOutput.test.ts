// The benchmark Producer's output as captured from 4.7.0 (run here against our broker) and in the
// 4.9.x format, folded into a measured window; driver lists; the ±15 % check; where the jar comes from.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { compareDrivers } from '../../loadgen/rocketmqBenchmark/comparison.js';
import { driversOf } from '../../loadgen/rocketmqBenchmark/driver.js';
import { producerArgs } from '../../loadgen/rocketmqBenchmark/javaProducer.js';
import { benchmarkProducerJar, EXAMPLE_DIR } from '../../loadgen/rocketmqBenchmark/producerJar.js';
import { parseProducerLine, summarizeWindow, tpsAt } from '../../loadgen/rocketmqBenchmark/producerOutput.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

const V47 = [
  'topic FlushbenchX threadCount 16 messageSize 128 keyEnable false',
  'Send TPS: 9521 Max RT: 847 Average RT:   1.785 Send Failed: 0 Response Failed: 0',
  'Send TPS: 22941 Max RT: 847 Average RT:   0.697 Send Failed: 0 Response Failed: 0',
];
const V49 = [
  'Current Time: 1764600000000 Send TPS: 31020 Max RT(ms): 212 Average RT(ms):   2.061 Send Failed: 3 Response Failed: 1',
  '[Complete] Send Total: 310203 Send TPS: 31020 Max RT(ms): 212 Average RT(ms):   2.061 Send Failed: 3 Response Failed: 1',
];

test('parses 4.7 lines (Max RT:, Average RT:) and 4.9 lines (Current Time, RT(ms)); the banner and [Complete] are not periodic lines', () => {
  assert.equal(parseProducerLine(V47[0], 0), null);
  assert.deepEqual(parseProducerLine(V47[2], 5), { atMs: 5, tps: 22941, maxRtMs: 847, averageRtMs: 0.697, sendFailed: 0, responseFailed: 0 });
  assert.deepEqual(parseProducerLine(V49[0], 7), { atMs: 7, tps: 31020, maxRtMs: 212, averageRtMs: 2.061, sendFailed: 3, responseFailed: 1 });
  assert.equal(parseProducerLine(V49[1], 0), null);
  // A window without a success prints NaN (0/0): no RT, not a parse failure.
  assert.equal(parseProducerLine('Send TPS: 0 Max RT: 0 Average RT:     NaN Send Failed: 12 Response Failed: 0', 0)?.averageRtMs, 0);
});

test('a measured window uses only lines whose whole 10 s lies inside it; failures are counter deltas', () => {
  const at = (s: number, tps: number, rt: number, sendFailed: number) => ({ atMs: s * 1000, tps, maxRtMs: 900, averageRtMs: rt, sendFailed, responseFailed: 0 });
  // The first line includes JVM start-up and warm-up; the window is [10 s, 40 s].
  const lines = [at(10.4, 9000, 3, 1), at(20.4, 30000, 1, 1), at(30.4, 20000, 2, 4), at(40.4, 10000, 4, 6), at(50.4, 1, 1, 9)];
  const summary = summarizeWindow(lines, 10_000, 40_000);
  assert.equal(summary.linesUsed, 3);
  assert.equal(summary.tps, 20000);
  assert.equal(summary.averageRtMs, (30000 * 1 + 20000 * 2 + 10000 * 4) / 60000);
  assert.equal(summary.sendFailed, 5, 'cumulative 6 at the end minus 1 at the start');
  assert.equal(summary.maxRtMs, 900);
  assert.equal(summarizeWindow(lines, 10_000, 15_000).tps, null, 'no 10 s line fits a 5 s window');
  assert.equal(tpsAt(lines, 25_000), 20000);
  assert.equal(tpsAt(lines, 60_000), null);
});

test('--driver takes one driver or a list, and refuses unknown or repeated ones', () => {
  assert.deepEqual(driversOf(undefined), ['remoting']);
  assert.deepEqual(driversOf('remoting,rocketmq-benchmark'), ['remoting', 'rocketmq-benchmark']);
  assert.throws(() => driversOf('remoting,java'), /--driver java/);
  assert.throws(() => driversOf('http,http'), /named twice/);
});

test('the ratio is ours ÷ reference, within ±15 % inclusive', () => {
  assert.equal(compareDrivers('x', { tps: 115, loadgenUsPerMsg: 1 }, { tps: 100, loadgenUsPerMsg: 9 }).withinTolerance, true);
  const outside = compareDrivers('x', { tps: 84, loadgenUsPerMsg: null }, { tps: 100, loadgenUsPerMsg: null });
  assert.equal(outside.withinTolerance, false);
  assert.match(outside.line, /ratio ours ÷ reference 0\.840: OUTSIDE ±15 %/);
  assert.equal(compareDrivers('x', { tps: 5, loadgenUsPerMsg: null }, { tps: 0, loadgenUsPerMsg: null }).ratio, null);
});

test('Producer arguments are the ones 4.3–4.7 know (-n -t -w -s -k)', () => {
  assert.deepEqual(producerArgs({ namesrv: '127.0.0.1:9876', topic: 'T', threads: 8, sizeBytes: 256 }), ['-n', '127.0.0.1:9876', '-t', 'T', '-w', '8', '-s', '256', '-k', 'false']);
});

test('the Producer comes from the lib itself (binary distribution) or from rocketmq-example 4.7.0 beside a Maven lib', () => {
  const dir = scratchDir('rmq-bench-jar');
  try {
    const home = path.join(dir, 'home', 'lib');
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, 'rocketmq-example-4.9.7.jar'), '');
    const fromHome = benchmarkProducerJar({ version: '4.9.7', libDir: home, source: 'home', jarCount: 1, benchmarkProducer: true }, () => assert.fail('no fetch'));
    assert.deepEqual(fromHome, { classpath: path.join(home, '*'), producerVersion: '4.9.7', clientVersion: '4.9.7' });

    const lib = path.join(dir, 'cache', 'lib');
    fs.mkdirSync(lib, { recursive: true });
    let fetched = 0;
    const fakeFetch = (target: string) => {
      fetched++;
      fs.mkdirSync(target, { recursive: true });
      fs.writeFileSync(path.join(target, 'rocketmq-example-4.7.0.jar'), '');
      return path.join(target, 'rocketmq-example-4.7.0.jar');
    };
    const maven = { version: '4.9.7', libDir: lib, source: 'cache' as const, jarCount: 40, benchmarkProducer: false };
    const first = benchmarkProducerJar(maven, fakeFetch);
    const second = benchmarkProducerJar(maven, fakeFetch);
    assert.equal(fetched, 1, 'fetched once, then reused');
    assert.deepEqual(second, first);
    assert.equal(first.classpath, `${path.join(dir, 'cache', EXAMPLE_DIR, 'rocketmq-example-4.7.0.jar')}${path.delimiter}${path.join(lib, '*')}`);
    assert.equal(first.producerVersion, '4.7.0');
  } finally {
    removeScratch(dir);
  }
});
