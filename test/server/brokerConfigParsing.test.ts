import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { brokerConfigFrom, loadBrokerConfigFile, parseOverrides } from '../../broker/server/brokerConfig.js';

const confDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'broker', 'conf');

test('every sample in broker/conf loads without error or unknown-key warning', () => {
  const files = fs.readdirSync(confDir, { recursive: true }).map(String).filter((f) => f.endsWith('.properties') && !f.startsWith('namesrv'));
  assert.ok(files.length >= 10, `found ${files.length} samples`);
  for (const file of files) {
    const config = loadBrokerConfigFile(path.join(confDir, file));
    assert.deepEqual(config.warnings.filter((w) => w.startsWith('unknown key')), [], file);
    if (file.includes('-s.properties')) assert.equal(config.store.brokerRole, 'SLAVE', file);
  }
});

test('segment size: the modern key wins and the seed spelling is ignored with a warning, legacy mode reverses it', () => {
  const modern = brokerConfigFrom({ mapedFileSizeCommitLog: '1048576', mappedFileSizeCommitLog: '2097152' });
  assert.equal(modern.store.mappedFileSizeCommitLog, 2097152);
  assert.equal(modern.segmentSizeKey, 'mappedFileSizeCommitLog');
  assert.ok(modern.warnings.some((w) => w.includes('mapedFileSizeCommitLog=1048576') && w.includes('ignored')));
  const seedOnly = brokerConfigFrom({ mapedFileSizeCommitLog: '1048576' });
  assert.equal(seedOnly.store.mappedFileSizeCommitLog, 1024 ** 3, 'RocketMQ ≥ 4.5.2 silently ignores the old key');
  const legacy = brokerConfigFrom({ mapedFileSizeCommitLog: '1048576', rocketmqVersionCompat: 'legacy' });
  assert.equal(legacy.store.mappedFileSizeCommitLog, 1048576);
  assert.equal(legacy.segmentSizeKey, 'mapedFileSizeCommitLog');
});

test('bad values name the key, the value and the allowed values; unknown keys only warn', () => {
  assert.throws(() => brokerConfigFrom({ flushDiskType: 'FAST' }), /flushDiskType=FAST is not allowed; use one of ASYNC_FLUSH, SYNC_FLUSH/);
  assert.throws(() => brokerConfigFrom({ listenPort: 'abc' }), /listenPort=abc is not an integer/);
  assert.throws(() => brokerConfigFrom({ slaveReadEnable: 'yes' }), /slaveReadEnable=yes must be true or false/);
  assert.throws(() => brokerConfigFrom({ brokerRole: 'SLAVE', brokerId: '0' }), /SLAVE needs brokerId > 0/);
  const config = brokerConfigFrom({ turboMode: 'on' });
  assert.ok(config.warnings.some((w) => w.includes('unknown key turboMode')));
  assert.throws(() => parseOverrides(['nonsense']), /not key=value/);
});

test('RocketMQ rules: haListenPort = listenPort + 1, masters get brokerId 0, the pool only for ASYNC_FLUSH masters, slave deadline source', () => {
  const config = brokerConfigFrom({ listenPort: '20911', haListenPort: '30000', brokerId: '3' });
  assert.equal(config.haListenPort, 20912);
  assert.equal(config.brokerId, 0);
  assert.ok(config.warnings.some((w) => w.includes('haListenPort=30000')));
  const syncPool = brokerConfigFrom({ flushDiskType: 'SYNC_FLUSH', transientStorePoolEnable: 'true' });
  assert.equal(syncPool.effectiveSettings().transientStorePoolActive, 'false');
  assert.ok(syncPool.warnings.some((w) => w.includes('transientStorePoolEnable=true has no effect')));
  assert.equal(brokerConfigFrom({ transientStorePoolEnable: 'true' }).effectiveSettings().transientStorePoolActive, 'true');
  assert.equal(brokerConfigFrom({}).slaveAckDeadlineMs, 3000);
  assert.equal(brokerConfigFrom({ slaveAckDeadlineSource: 'syncFlushTimeout', syncFlushTimeout: '4000' }).slaveAckDeadlineMs, 4000);
  assert.equal(brokerConfigFrom({}).brokerIP1, '127.0.0.1');
});
