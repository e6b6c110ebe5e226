// fetch without Maven: a complete cache is reused, --rocketmq-home is read as it is, and a
// missing java/mvn gives an error that says what to install.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fetchRocketmq } from '../../loadgen/rocketmq/fetch.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

function withPath<T>(value: string, body: () => T): T {
  const saved = process.env.PATH;
  process.env.PATH = value;
  try {
    return body();
  } finally {
    process.env.PATH = saved;
  }
}

test('a complete cache is reused without java or mvn; an incomplete one is not', () => {
  const cacheDir = scratchDir('rmq-cache');
  fs.mkdirSync(path.join(cacheDir, 'lib'));
  fs.writeFileSync(path.join(cacheDir, 'lib', 'rocketmq-broker-4.9.7.jar'), '');
  fs.writeFileSync(path.join(cacheDir, 'lib', 'netty-all-4.1.65.Final.jar'), '');
  // No marker yet: a fetch is needed, and without java on PATH it says what to install.
  assert.throws(() => withPath('/nonexistent', () => fetchRocketmq({ version: '4.9.7', cacheDir })), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'JAVA_MISSING');
    assert.match(error.message, /apt-get install openjdk-17-jre-headless maven/);
    return true;
  });
  fs.writeFileSync(path.join(cacheDir, 'fetch-complete.json'), JSON.stringify({ version: '4.9.7', benchmarkProducer: false }));
  const lib = withPath('/nonexistent', () => fetchRocketmq({ version: '4.9.7', cacheDir }));
  assert.deepEqual(lib, { version: '4.9.7', libDir: path.join(cacheDir, 'lib'), source: 'cache', jarCount: 2, benchmarkProducer: false });
  // A marker for another version does not count.
  assert.throws(() => withPath('/nonexistent', () => fetchRocketmq({ version: '4.9.5', cacheDir })), /java/);
  removeScratch(cacheDir);
});

test('--rocketmq-home: the version comes from lib/rocketmq-broker-<version>.jar', () => {
  const home = scratchDir('rmq-home');
  assert.throws(() => fetchRocketmq({ rocketmqHome: home }), /no rocketmq-broker-<version>\.jar/);
  fs.mkdirSync(path.join(home, 'lib'));
  fs.writeFileSync(path.join(home, 'lib', 'rocketmq-broker-4.9.4.jar'), '');
  fs.writeFileSync(path.join(home, 'lib', 'rocketmq-example-4.9.4.jar'), '');
  const lib = fetchRocketmq({ rocketmqHome: home });
  assert.equal(lib.version, '4.9.4');
  assert.equal(lib.source, 'home');
  assert.equal(lib.benchmarkProducer, true);
  removeScratch(home);
});

test('a version that is not a version is refused before anything runs', () => {
  assert.throws(() => fetchRocketmq({ version: '4.9.7; rm -rf /', cacheDir: '/nonexistent' }), /is not a version/);
});
