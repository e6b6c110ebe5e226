// The engine switch without Java: which engines --engine runs and in what order, how a profile
// node becomes a RocketMQ broker, and how the launcher knows a slave has reported to its master.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enginesOf } from '../../loadgen/commands/run.js';
import { rocketmqBrokerSpec } from '../../loadgen/rocketmq/rocketmqCluster.js';
import { slavesReported } from '../../loadgen/rocketmq/rocketmqProcess.js';
import { runSchedule } from '../../loadgen/runProfile.js';

test('--engine: flushbench by default, both = flushbench then rocketmq, refused with --namesrv or unknown', () => {
  assert.deepEqual(enginesOf(undefined, undefined), ['flushbench']);
  assert.deepEqual(enginesOf('rocketmq', undefined), ['rocketmq']);
  assert.deepEqual(enginesOf('both', undefined), ['flushbench', 'rocketmq']);
  assert.deepEqual(enginesOf(undefined, '127.0.0.1:9876'), ['flushbench']);
  assert.throws(() => enginesOf('rocketmq', '127.0.0.1:9876'), /with --namesrv the cluster is already running/);
  assert.throws(() => enginesOf('kafka', undefined), /use flushbench, rocketmq or both/);
});

test('runs alternate between engines (A B A B), never all of one engine first', () => {
  assert.deepEqual(runSchedule(['flushbench', 'rocketmq'], 2).map((s) => `${s.engine}#${s.run}`), ['flushbench#1', 'rocketmq#1', 'flushbench#2', 'rocketmq#2']);
  assert.deepEqual(runSchedule(['rocketmq'], 3).map((s) => s.run), [1, 2, 3]);
});

test('a profile slave becomes a RocketMQ SLAVE (brokerId 1, same brokerName); the profile\'s keys win', () => {
  const slave = rocketmqBrokerSpec({ name: 'broker-a-s', role: 'slave', brokerName: 'broker-a', properties: { flushDiskType: 'SYNC_FLUSH' } });
  assert.equal(slave.name, 'broker-a-s');
  assert.deepEqual(slave.settings, { brokerClusterName: 'FlushbenchCluster', brokerName: 'broker-a', brokerId: '1', brokerRole: 'SLAVE', flushDiskType: 'SYNC_FLUSH' });
  const master = rocketmqBrokerSpec({ name: 'broker-a', role: 'master', brokerName: 'broker-a', properties: { brokerRole: 'SYNC_MASTER' } });
  assert.equal(master.settings.brokerId, '0');
  assert.equal(master.settings.brokerRole, 'SYNC_MASTER');
});

test('a master has heard from its slave once its log shows the slave\'s first HA offset report', () => {
  const log = [
    '2026-12-01 14:19:24 INFO  [AcceptSocketService] RocketmqStore - HAService receive new connection, /127.0.0.1:35324',
    '2026-12-01 14:19:29 INFO  [ReadSocketService] RocketmqStore - slave[/127.0.0.1:35324] request offset 0',
    '2026-12-01 14:19:34 INFO  [ReadSocketService] RocketmqStore - slave[/127.0.0.1:35324] request offset 0',
  ].join('\n');
  assert.equal(slavesReported(log.split('\n')[0]), 0, 'a connection alone is not enough: the master transfers nothing before the report');
  assert.equal(slavesReported(log), 1, 'the same slave reporting twice counts once');
  assert.equal(slavesReported(`${log}\n... slave[/127.0.0.1:40000] request offset 1048576`), 2);
});
