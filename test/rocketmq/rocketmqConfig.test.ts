import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'dot-properties';
import { buildBrokerConfig, checkHeap, directMemoryBytes, jvmArgs, logbackXml, MODULE_FLAGS, parseJavaMajor } from '../../loadgen/rocketmq/rocketmqConfig.js';
import { defaultCacheDir, versionFromJars } from '../../loadgen/rocketmq/fetch.js';
import { parseSettings } from '../../loadgen/commands/rocketmq.js';

const ports = { listenPort: 31011, namesrvPort: 31014 };

test('broker.properties: profile keys pass through, the launcher owns ports, addresses and store paths', () => {
  const config = buildBrokerConfig({
    settings: { flushDiskType: 'SYNC_FLUSH', brokerRole: 'SYNC_MASTER', flushCommitLogLeastPages: '0', listenPort: '10911', storePathRootDir: '/elsewhere', brokerIP1: '127.0.0.1' },
    ports,
    storeDir: '/disk/under/test/store',
  });
  const written = parse(config.text) as Record<string, string>;
  assert.deepEqual(written, config.properties, 'the text parses back to the same keys');
  assert.equal(written.flushDiskType, 'SYNC_FLUSH');
  assert.equal(written.brokerRole, 'SYNC_MASTER');
  assert.equal(written.flushCommitLogLeastPages, '0');
  assert.equal(written.brokerName, 'broker-a');
  assert.equal(written.brokerClusterName, 'DefaultCluster');
  assert.equal(written.listenPort, '31011');
  assert.equal(written.namesrvAddr, '127.0.0.1:31014');
  assert.equal(written.brokerIP1, '127.0.0.1');
  assert.equal(written.brokerIP2, '127.0.0.1');
  assert.equal(written.storePathRootDir, '/disk/under/test/store');
  assert.equal(written.storePathCommitLog, path.join('/disk/under/test/store', 'commitlog'));
  assert.deepEqual(config.replaced, { listenPort: '10911', storePathRootDir: '/elsewhere' }, 'only keys that changed are reported, with the value asked for');
  assert.match(config.text, /^namesrvAddr=127\.0\.0\.1:31014$/m, 'key=value lines, no folding');
  assert.deepEqual(config.warnings, []);
});

test('broker.properties: the old mapedFileSizeCommitLog spelling and haListenPort get a warning', () => {
  const config = buildBrokerConfig({ settings: { mapedFileSizeCommitLog: '1048576', haListenPort: '10912' }, ports, storeDir: '/s' });
  assert.equal(config.warnings.length, 2);
  assert.match(config.warnings[0], /mapedFileSizeCommitLog=1048576 .*ignores it.*default 1073741824/);
  assert.match(config.warnings[1], /haListenPort=10912 is ignored.*31012/);
  assert.equal(config.properties.mapedFileSizeCommitLog, '1048576', 'passed through: RocketMQ decides');
});

test('JVM flags: heap, module flags on JDK >= 9 only, scratch home, class path, main class last', () => {
  const base = { heap: '1g', homeDir: '/s/home', libDir: '/cache/lib' };
  const jdk17 = jvmArgs({ ...base, javaMajor: 17, directMemoryBytes: 2 ** 30 }, 'org.apache.rocketmq.broker.BrokerStartup', ['-c', 'b.properties', '-n', '127.0.0.1:1']);
  assert.deepEqual(jdk17.slice(0, 3), ['-Xms1g', '-Xmx1g', '-XX:MaxDirectMemorySize=1073741824']);
  for (const [flag, value] of [['--add-opens', 'java.base/java.nio=ALL-UNNAMED'], ['--add-exports', 'java.base/jdk.internal.ref=ALL-UNNAMED'], ['--add-exports', 'java.base/sun.nio.ch=ALL-UNNAMED']]) {
    const at = jdk17.indexOf(value);
    assert.ok(at > 0 && jdk17[at - 1] === flag, `${flag} ${value}`);
  }
  assert.ok(jdk17.includes('-Duser.home=/s/home') && jdk17.includes('-Drocketmq.home.dir=/s/home'));
  assert.deepEqual(jdk17.slice(-7), ['-cp', '/cache/lib/*', 'org.apache.rocketmq.broker.BrokerStartup', '-c', 'b.properties', '-n', '127.0.0.1:1']);
  const jdk8 = jvmArgs({ ...base, javaMajor: 8 }, 'org.apache.rocketmq.namesrv.NamesrvStartup', []);
  assert.ok(!jdk8.some((arg) => MODULE_FLAGS.includes(arg)), 'Java 8 refuses --add-opens');
  assert.ok(!jdk8.some((arg) => arg.startsWith('-XX:MaxDirectMemorySize')));
});

test('direct memory covers the transient store pool', () => {
  assert.equal(directMemoryBytes({}), 2 ** 30);
  assert.equal(directMemoryBytes({ transientStorePoolEnable: 'true' }), 6 * 2 ** 30, '5 pooled 1 GiB files + 1 GiB');
  assert.equal(directMemoryBytes({ transientStorePoolEnable: 'true', transientStorePoolSize: '2', mappedFileSizeCommitLog: '1048576' }), 2 * 1048576 + 2 ** 30);
});

test('small parsers: java -version, heap sizes, jar names, --set pairs, cache dir', () => {
  assert.equal(parseJavaMajor('openjdk version "17.0.15" 2025-04-15'), 17);
  assert.equal(parseJavaMajor('java version "1.8.0_392"'), 8);
  assert.equal(parseJavaMajor('openjdk version "25" 2025-09-16'), 25);
  assert.equal(parseJavaMajor('nothing'), null);
  assert.equal(checkHeap('512m'), null);
  assert.match(checkHeap('1 GB') ?? '', /not a JVM heap size/);
  assert.equal(versionFromJars(['netty-all-4.1.65.Final.jar', 'rocketmq-broker-4.9.7.jar']), '4.9.7');
  assert.equal(versionFromJars(['rocketmq-client-4.9.7.jar']), null);
  assert.deepEqual(parseSettings(['flushDiskType=SYNC_FLUSH', 'a = b=c']), { flushDiskType: 'SYNC_FLUSH', a: 'b=c' });
  assert.throws(() => parseSettings(['flushDiskType']), /expected key=value/);
  assert.equal(defaultCacheDir('4.9.7', { XDG_CACHE_HOME: '/xdg' }), '/xdg/flushbench/rocketmq-4.9.7');
  assert.match(defaultCacheDir('4.9.7', {}), /\.cache\/flushbench\/rocketmq-4\.9\.7$/);
  assert.match(logbackXml('broker'), /\$\{user\.home\}\/logs\/rocketmqlogs\/broker\.log/);
});
