// Unhandled errors must not end the broker: the aborted POST /produce that used to reject the
// request handler (Node 20 then exits), and the process guard that fails the store for any
// error nobody handled.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { startBenchProcess, stopProcess } from '../../loadgen/childProcesses.js';
import { installProcessGuard } from '../../broker/server/processGuard.js';
import { pullRequest, SMALL_STORE, sendV2, startTestBroker } from './brokerHarness.js';
import { freeBrokerPort } from '../support/ports.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

const BROKER_READY = /broker (\S+) listening on ([\d.]+):(\d+) .*metrics=(\d+)/;

/** Sends the head of a POST with a 64 KiB body, 10 bytes of it, then resets the connection. */
function abortedPost(port: number, pathname: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`POST ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 65536\r\n\r\n0123456789`, () => {
        setTimeout(() => {
          socket.resetAndDestroy();
          resolve();
        }, 50);
      });
    });
    socket.on('error', reject);
  });
}

test('a client aborting POST /produce halfway does not end the broker process; sends and metrics keep working', { timeout: 60_000 }, async () => {
  const storeDir = scratchDir('guard-proc');
  const port = await freeBrokerPort();
  const args = ['broker', `storePathRootDir=${path.join(storeDir, 'store')}`, `listenPort=${port}`, 'brokerName=guard-a', 'namesrvAddr=', 'metricsPort=-1',
    'httpProduceEnable=true', ...Object.entries(SMALL_STORE).map(([k, v]) => `${k}=${v}`)];
  const { process: broker, match } = await startBenchProcess('broker', args, BROKER_READY, { logDir: path.join(storeDir, 'logs'), timeoutMs: 20_000 });
  const client = new RemotingClient(`127.0.0.1:${port}`);
  try {
    const metricsPort = Number(match[4]);
    for (let i = 0; i < 3; i++) await abortedPost(metricsPort, '/produce/GuardTopic');
    await new Promise((r) => setTimeout(r, 300)); // time for a rejection to end the process, if one escaped
    const sent = await client.invoke(sendV2({ topic: 'GuardTopic', body: Buffer.from('after the aborted POSTs') }), 5000);
    assert.equal(sent.code, ResponseCode.SUCCESS, `the store still takes writes: ${sent.remark}`);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(metrics.status, 200);
    const log = fs.readFileSync(broker.logPath, 'utf8');
    assert.doesNotMatch(log, /unhandledRejection|uncaughtException/, 'the abort is handled where it happens, not by the process guard');
  } finally {
    client.close();
    const code = await stopProcess(broker, 15_000);
    assert.equal(code, 0, `the broker was still running and stopped cleanly: ${fs.readFileSync(broker.logPath, 'utf8').slice(-2000)}`);
    removeScratch(storeDir);
  }
});

test('process guard: an unhandled rejection or uncaught exception fails the store with that error; uninstall removes it', () => {
  const events = new EventEmitter();
  const failed: Error[] = [];
  const uninstall = installProcessGuard({ failStore: (error) => failed.push(error) }, events);
  const boom = new Error('boom');
  events.emit('unhandledRejection', boom);
  events.emit('uncaughtException', new Error('thrown'));
  events.emit('unhandledRejection', 'a string reason');
  assert.equal(failed.length, 3);
  assert.equal(failed[0], boom);
  assert.equal(failed[1].message, 'thrown');
  assert.match(failed[2].message, /a string reason/);
  uninstall();
  assert.equal(events.listenerCount('unhandledRejection'), 0);
  assert.equal(events.listenerCount('uncaughtException'), 0);
});

test('process guard: a failStore that throws is logged, never rethrown from the handler', () => {
  const events = new EventEmitter();
  const uninstall = installProcessGuard({ failStore: () => { throw new Error('cannot fail'); } }, events);
  assert.doesNotThrow(() => events.emit('unhandledRejection', new Error('x')));
  uninstall();
});

test('process guard on a running broker: writes answer SERVICE_NOT_AVAILABLE, reads go on', { timeout: 20_000 }, async () => {
  const broker = await startTestBroker();
  const client = new RemotingClient(broker.address);
  const events = new EventEmitter();
  const uninstall = installProcessGuard(broker.broker, events);
  try {
    const before = await client.invoke(sendV2({ topic: 'GuardT', body: Buffer.from('stored before') }), 3000);
    assert.equal(before.code, ResponseCode.SUCCESS, before.remark);
    const reason = new Error('a bug nobody caught');
    events.emit('unhandledRejection', reason);
    assert.equal(broker.broker.store.storeFailure, reason);
    const after = await client.invoke(sendV2({ topic: 'GuardT', body: Buffer.from('refused') }), 3000);
    assert.equal(after.code, ResponseCode.SERVICE_NOT_AVAILABLE);
    const pulled = await client.invoke(pullRequest({ topic: 'GuardT', queueId: 0, queueOffset: 0 }), 3000);
    assert.equal(pulled.code, ResponseCode.SUCCESS, `reads go on: ${pulled.remark}`);
  } finally {
    uninstall();
    client.close();
    await broker.stop();
    removeScratch(broker.storeDir);
  }
});
