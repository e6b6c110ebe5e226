// `bench broker` as a real child process: SIGTERM exits 0 after flushing, a second broker on
// the same store is refused by the lock, and a bad broker.properties value names its key.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { startBenchProcess, stopProcess } from '../../loadgen/childProcesses.js';
import { SMALL_STORE, sendV2 } from './brokerHarness.js';
import { freeBrokerPort } from '../support/ports.js';
import { scratchDir } from '../support/scratch.js';
import { runBench } from '../support/benchCli.js';

const BROKER_READY = /broker (\S+) listening on ([\d.]+):(\d+) role=(\S+)/;

function brokerArgs(storeDir: string, port: number, extra: string[] = []): string[] {
  return ['broker', `storePathRootDir=${storeDir}`, `listenPort=${port}`, 'brokerName=proc-a', 'namesrvAddr=', 'metricsPort=-1',
    ...Object.entries(SMALL_STORE).map(([k, v]) => `${k}=${v}`), ...extra];
}

test('SIGTERM: the broker flushes and exits 0; while it runs, a second broker on its store fails on the lock', { timeout: 60_000 }, async () => {
  const storeDir = scratchDir('proc');
  const logDir = path.join(storeDir, 'logs');
  const port = await freeBrokerPort();
  const { process: broker, match } = await startBenchProcess('broker', brokerArgs(path.join(storeDir, 'store'), port), BROKER_READY, { logDir, timeoutMs: 20_000 });
  try {
    assert.equal(match[1], 'proc-a');
    assert.equal(Number(match[3]), port);
    assert.equal(match[4], 'ASYNC_MASTER');
    const client = new RemotingClient(`127.0.0.1:${port}`);
    const sent = await client.invoke(sendV2({ topic: 'ProcT', body: Buffer.from('before SIGTERM') }), 5000);
    client.close();
    assert.equal(sent.code, ResponseCode.SUCCESS);

    const otherPort = await freeBrokerPort();
    const second = await runBench(brokerArgs(path.join(storeDir, 'store'), otherPort), 20_000);
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, /store .* is in use by process \d+; stop it or use another storePathRootDir/);
    assert.doesNotMatch(second.stdout, /listening/);

    const code = await stopProcess(broker, 15_000);
    assert.equal(code, 0, fs.readFileSync(broker.logPath, 'utf8').slice(-2000));
    assert.ok(!fs.existsSync(path.join(storeDir, 'store', 'abort')), 'a clean shutdown removes the abort file');
    assert.match(fs.readFileSync(broker.logPath, 'utf8'), /SIGTERM, flushing and stopping/);
  } finally {
    await stopProcess(broker, 2000);
    fs.rmSync(storeDir, { recursive: true, force: true });
  }
});

test('a bad broker.properties value stops the broker with a message that names the key, the value and the choices', { timeout: 30_000 }, async () => {
  const dir = scratchDir('badconf');
  try {
    const file = path.join(dir, 'broker.properties');
    fs.writeFileSync(file, `brokerName=bad\nstorePathRootDir=${path.join(dir, 'store')}\nflushDiskType=SYNC_FLUSHH\n`);
    const result = await runBench(['broker', '-c', file], 20_000);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /flushDiskType=SYNC_FLUSHH is not allowed; use one of ASYNC_FLUSH, SYNC_FLUSH/);
    fs.writeFileSync(file, `brokerName=bad\nstorePathRootDir=${path.join(dir, 'store')}\nlistenPort=10x11\n`);
    const port = await runBench(['broker', '-c', file], 20_000);
    assert.notEqual(port.code, 0);
    assert.match(port.stderr, /listenPort=10x11 is not an integer/);
    assert.ok(!fs.existsSync(path.join(dir, 'store', 'commitlog')), 'nothing was created');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
