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

test('concurrent fetches into one cache: one runs Maven, the others wait and reuse it; a dead holder\'s lock is taken over', { skip: !process.env.PATH?.split(':').some((d) => fs.existsSync(path.join(d, 'java'))) && 'needs java on PATH', timeout: 60_000 }, async () => {
  const cacheDir = scratchDir('rmq-lock');
  const bin = scratchDir('fake-mvn');
  const calls = path.join(bin, 'calls.log');
  // A fake Maven: logs each call, takes a second (so the fetches overlap), writes the jars copy-dependencies would.
  fs.writeFileSync(path.join(bin, 'mvn'), `#!/bin/sh
echo "$@" >> ${calls}
for a in "$@"; do case "$a" in -DoutputDirectory=*) out="\${a#-DoutputDirectory=}";; -Dartifact=*) exit 1;; esac; done
[ -n "$out" ] || exit 0
sleep 1; mkdir -p "$out"; touch "$out/rocketmq-broker-4.9.7.jar" "$out/rocketmq-namesrv-4.9.7.jar"
`, { mode: 0o755 });
  // A lock left by a process that no longer exists must not block anyone.
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(path.join(cacheDir, '.fetch.lock'), '2147483646');
  const fetchModule = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'loadgen', 'rocketmq', 'fetch.js');
  const script = `import { fetchRocketmq } from ${JSON.stringify(fetchModule)}; console.log(JSON.stringify(fetchRocketmq({ version: '4.9.7', cacheDir: ${JSON.stringify(cacheDir)} })));`;
  const { spawn } = await import('node:child_process');
  const run = () => new Promise<{ source: string; jarCount: number }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`fetch exited ${code}: ${err}`))));
  });
  try {
    const results = await Promise.all([run(), run(), run()]);
    const copyCalls = fs.readFileSync(calls, 'utf8').split('\n').filter((l) => l.includes('copy-dependencies'));
    assert.equal(copyCalls.length, 1, 'Maven copied the dependencies once');
    assert.deepEqual(results.map((r) => r.source).sort(), ['cache', 'cache', 'maven']);
    for (const r of results) assert.equal(r.jarCount, 2);
    assert.equal(fs.existsSync(path.join(cacheDir, '.fetch.lock')), false, 'the lock is released');
  } finally {
    removeScratch(cacheDir);
    removeScratch(bin);
  }
});
