// What the broker exposes: every port binds listenHost (default 127.0.0.1) while brokerIP1 is
// only advertised; aclEnable=true is refused (there is no ACL); POST /produce answers only with
// httpProduceEnable=true; effective settings say all of it. Also `bench namesrv --listen-host`.
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { ResponseCode } from '../../protocol/codes.js';
import { FlushbenchError } from '../../protocol/errors.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { brokerConfigFrom } from '../../broker/server/brokerConfig.js';
import { isLoopbackHost } from '../../broker/server/listenHost.js';
import { startBenchProcess, stopProcess } from '../../loadgen/childProcesses.js';
import { expectedMsgId, sendV2, startTestBroker } from './brokerHarness.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

test('aclEnable=true is refused at load with a typed error; aclEnable=false is accepted and settings say ACL is refused', () => {
  assert.throws(() => brokerConfigFrom({ aclEnable: 'true' }, {}), (error: unknown) => {
    assert.ok(error instanceof FlushbenchError);
    assert.equal(error.code, 'ACL_NOT_SUPPORTED');
    assert.match(error.message, /flushbench has no ACL; remove aclEnable or set it false/);
    return true;
  });
  const config = brokerConfigFrom({ aclEnable: 'false' }, {});
  assert.ok(!config.warnings.some((w) => /aclEnable/.test(w)), config.warnings.join('\n'));
  assert.match(config.effectiveSettings().aclEnable, /refused/);
});

test('listenHost defaults to 127.0.0.1 whatever brokerIP1 advertises; a non-loopback bind address warns', () => {
  const advertised = brokerConfigFrom({ brokerIP1: '10.1.2.3' }, {});
  assert.equal(advertised.listenHost, '127.0.0.1');
  assert.equal(advertised.metricsHost, '127.0.0.1');
  assert.equal(advertised.brokerIP1, '10.1.2.3');
  assert.ok(advertised.warnings.some((w) => /brokerIP1=10\.1\.2\.3 is advertised to clients, but the broker listens on 127\.0\.0\.1 only; set listenHost/.test(w)), advertised.warnings.join('\n'));
  const settings = advertised.effectiveSettings();
  assert.equal(settings.listenHost, '127.0.0.1');
  assert.equal(settings.httpProduceEnable, 'false');
  const open = brokerConfigFrom({ listenHost: '0.0.0.0', brokerIP1: '10.1.2.3' }, {});
  assert.equal(open.metricsHost, '0.0.0.0', 'metrics follow listenHost unless metricsHost is set');
  assert.equal(open.warnings.filter((w) => /listenHost=0\.0\.0\.0 is not a loopback address/.test(w)).length, 1, open.warnings.join('\n'));
  assert.ok(!open.warnings.some((w) => /metricsHost/.test(w)), 'one warning when metrics share listenHost');
  assert.ok(brokerConfigFrom({}, {}).warnings.every((w) => !/loopback|advertised/.test(w)));
  assert.ok(isLoopbackHost('127.0.0.1') && isLoopbackHost('127.3.2.1') && isLoopbackHost('::1') && isLoopbackHost('localhost'));
  assert.ok(!isLoopbackHost('0.0.0.0') && !isLoopbackHost('10.0.0.1') && !isLoopbackHost('::') && !isLoopbackHost('127.0.0.1.example.com'));
});

test('a broker advertising brokerIP1=10.1.2.3 binds 127.0.0.1 on every port; msgIds carry brokerIP1; POST /produce is off by default', { timeout: 20_000 }, async () => {
  const broker = await startTestBroker({ brokerIP1: '10.1.2.3', metricsPort: '-1' });
  const client = new RemotingClient(broker.address);
  try {
    const sent = await client.invoke(sendV2({ topic: 'ExpT', body: Buffer.from('x') }), 3000);
    assert.equal(sent.code, ResponseCode.SUCCESS, sent.remark);
    const msgId = sent.extFields?.msgId ?? '';
    assert.equal(msgId, expectedMsgId('10.1.2.3', broker.ports.listenPort, Number.parseInt(msgId.slice(16), 16)));
    assert.ok(broker.ports.haPort);
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(broker.ports.haPort ?? 0, '127.0.0.1', () => {
        socket.destroy();
        resolve();
      });
      socket.on('error', reject);
    });
    const base = `http://127.0.0.1:${broker.ports.metricsPort}`;
    const produce = await fetch(`${base}/produce/ExpT`, { method: 'POST', body: 'over http' });
    assert.equal(produce.status, 404);
    assert.match(await produce.text(), /httpProduceEnable=true/);
    const settings = await (await fetch(`${base}/settings`)).json() as Record<string, string>;
    assert.equal(settings.listenHost, '127.0.0.1');
    assert.equal(settings.brokerIP1, '10.1.2.3');
    assert.match(settings.aclEnable, /refused/);
    assert.equal(settings.httpProduceEnable, 'false');
  } finally {
    client.close();
    await broker.stop();
    removeScratch(broker.storeDir);
  }
});

test('bench namesrv --listen-host binds the given loopback address (default 127.0.0.1)', { timeout: 30_000 }, async () => {
  const dir = scratchDir('namesrv-host');
  const { process: namesrv, match } = await startBenchProcess('namesrv', ['namesrv', '--port', '0', '--listen-host', '127.0.0.2'], /namesrv listening on (\S+):(\d+)/,
    { logDir: path.join(dir, 'logs'), timeoutMs: 20_000 });
  try {
    assert.equal(match[1], '127.0.0.2');
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(Number(match[2]), '127.0.0.2', () => {
        socket.destroy();
        resolve();
      });
      socket.on('error', reject);
    });
  } finally {
    await stopProcess(namesrv, 5000);
    removeScratch(dir);
  }
});
