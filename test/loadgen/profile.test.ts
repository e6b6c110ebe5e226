import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { applyOverrides, listProfiles, resolveProfiles, validateProfile } from '../../loadgen/profile.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

const good = {
  name: 'p', description: 'd',
  claim: { text: 't', tpsMin: 1000, tpsMax: 3000, latencyMsMax: null, source: 's' },
  nodes: [{ name: 'broker-a', role: 'master', brokerName: 'broker-a', properties: { flushDiskType: 'SYNC_FLUSH' } }],
  load: { producers: 8, durationS: 2 },
};

test('every bundled profile validates, and all includes every claim profile', () => {
  const names = listProfiles();
  for (const required of ['async-async', 'sync-async', 'async-sync', 'sync-sync', 'single-async-flush', 'single-sync-flush', 'least-pages', 'transient-pool', 'dledger', 'dledger-sync-flush', 'all']) {
    assert.ok(names.includes(required), `missing profile ${required}`);
  }
  for (const name of names) assert.ok(resolveProfiles(name).length >= 1, name);
  const all = resolveProfiles('all').map((p) => p.name);
  assert.deepEqual(new Set(all), new Set(names.filter((n) => n !== 'all')));
  const sweep = resolveProfiles('least-pages')[0];
  assert.deepEqual(sweep.variants.map((v) => v.set.flushCommitLogLeastPages), ['0', '1', '4', '16', '64']);
  const syncSync = resolveProfiles('sync-sync')[0];
  assert.equal(syncSync.claim.tpsMin, 3000);
  assert.equal(syncSync.nodes.find((n) => n.role === 'slave')?.properties.flushDiskType, 'SYNC_FLUSH');
});

test('bad profiles fail with a message naming the field', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ ...good, claim: { ...good.claim, tpsMin: 'many' } }, /claim\.tpsMin/],
    [{ ...good, claim: { text: 't', tpsMin: 5, tpsMax: null } }, /claim needs both/],
    [{ ...good, nodes: [{ ...good.nodes[0], role: 'leader' }] }, /nodes\[0\]\.role/],
    [{ ...good, extra: 1 }, /extra is not a profile field/],
    [{ ...good, nodes: [{ name: 's', role: 'slave', brokerName: 'broker-x' }] }, /no master/],
    [{ ...good, load: { producers: 0 } }, /load\.producers/],
    [{ ...good, load: { turbo: true } }, /load\.turbo/],
    [{ ...good, claim: undefined }, /claim is required/],
  ];
  for (const [raw, pattern] of cases) {
    assert.throws(() => validateProfile(raw, 'my.yaml'), (error: Error) => pattern.test(error.message) && error.message.startsWith('my.yaml'), String(pattern));
  }
});

test('--set overrides broker keys on every node and load fields', () => {
  const profile = resolveProfiles('sync-sync')[0];
  const changed = applyOverrides(profile, ['syncFlushTimeout=100', 'load.durationS=3', 'load.rate=5000']);
  assert.ok(changed.nodes.every((n) => n.properties.syncFlushTimeout === '100'));
  assert.equal(changed.load.durationS, 3);
  assert.equal(changed.load.rate, 5000);
  assert.equal(profile.load.durationS, 20, 'the original is untouched');
  assert.throws(() => applyOverrides(profile, ['load.nope=1']), /no such load field/);
  assert.throws(() => applyOverrides(profile, ['load.producers=-1']), /load\.producers/);
  assert.throws(() => applyOverrides(profile, ['novalue']), /not key=value/);
});

test('a broker.properties file becomes a single-master profile; unknown names are explained', () => {
  const dir = scratchDir('profile');
  try {
    const file = path.join(dir, 'mine.properties');
    fs.writeFileSync(file, 'brokerName=b1\nflushDiskType=SYNC_FLUSH\n');
    const [profile] = resolveProfiles(file);
    assert.equal(profile.nodes.length, 1);
    assert.equal(profile.nodes[0].properties.flushDiskType, 'SYNC_FLUSH');
    assert.equal(profile.claim.tpsMin, null);
    assert.throws(() => resolveProfiles('no-such-profile'), /use one of .*sync-sync/);
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'name: [unclosed');
    assert.throws(() => resolveProfiles(path.join(dir, 'bad.yaml')), /not valid YAML/);
  } finally {
    removeScratch(dir);
  }
});
