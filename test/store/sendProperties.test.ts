// sendProperties (one pass: stored form with WAIT removed and CLUSTER set, WAIT, DELAY level,
// TAGS hash) and findProperty are string surgery on the hot path. They must agree with the map
// model: parse the pairs, read the first pair with a name, drop the first WAIT and CLUSTER,
// append CLUSTER. Seeded random property strings built from fragments that collide on purpose
// (keys inside values, keys as suffixes, empty values, duplicates, the ≤4.9.2 trailing separator).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findProperty, javaStringHashCode } from '../../broker/store/messageCodec.js';
import { sendProperties } from '../../broker/store/sendProperties.js';

const NAME = '\u0001';
const PAIR = '\u0002';

/** The first pair with this name, as RocketMQ's string → map parse and a get() would give it. */
function modelFind(properties: string, key: string): string | undefined {
  for (const pair of properties.split(PAIR)) {
    const cut = pair.indexOf(NAME);
    if (cut >= 0 && pair.slice(0, cut) === key) return pair.slice(cut + 1);
  }
  return undefined;
}

/** The first pair with this name and the separator after it removed; everything else kept as is. */
function modelWithout(properties: string, key: string): string {
  const pairs = properties.split(PAIR);
  const index = pairs.findIndex((pair) => pair.indexOf(NAME) >= 0 && pair.slice(0, pair.indexOf(NAME)) === key);
  if (index < 0) return properties;
  if (index === pairs.length - 1) return pairs.slice(0, index).map((pair) => pair + PAIR).join('');
  return [...pairs.slice(0, index), ...pairs.slice(index + 1)].join(PAIR);
}

function modelStored(properties: string, cluster: string): string {
  const out = modelWithout(modelWithout(properties, 'WAIT'), 'CLUSTER');
  return `${out}${out.length > 0 && !out.endsWith(PAIR) ? PAIR : ''}CLUSTER${NAME}${cluster}`;
}

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 0x1_0000_0000;
  };
}

const NAMES = ['WAIT', 'CLUSTER', 'TAGS', 'DELAY', 'UNIQ_KEY', 'XWAIT', 'WAITX', 'CLUSTERS', 'W', '', 'KEYS', 'TAG', 'DELAYS'];
const VALUES = ['true', 'false', 'falsey', '', 'WAIT', `WAIT${NAME}x`, 'CLUSTER', 'a', '0123456789ABCDEF', 'é漢', '3', '-2', '2.5', ' 4', 'TagA'];

function randomProperties(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const pairs = Math.floor(random() * 6);
  let out = '';
  for (let i = 0; i < pairs; i++) {
    if (i > 0) out += PAIR;
    // Now and then a pair without a name separator, as a malformed client might send.
    out += random() < 0.05 ? pick(VALUES) : `${pick(NAMES)}${NAME}${pick(VALUES)}`;
  }
  if (pairs > 0 && random() < 0.3) out += PAIR; // the ≤4.9.2 trailing separator
  return out;
}

/** Message.getDelayTimeLevel on the model's DELAY (Number() parse, 0 unless an integer). */
function modelDelayLevel(properties: string): number {
  const value = modelFind(properties, 'DELAY');
  return value !== undefined && Number.isInteger(Number(value)) ? Number(value) : 0;
}

test('sendProperties and findProperty agree with the map model on 5000 seeded property strings', () => {
  const random = prng(0x9e3779b9);
  for (let n = 0; n < 5000; n++) {
    const properties = randomProperties(random);
    const shown = JSON.stringify(properties);
    const read = sendProperties(properties, 'ClusterA');
    assert.equal(read.stored, modelStored(properties, 'ClusterA'), `case ${n}: ${shown}`);
    assert.equal(read.wait, modelFind(properties, 'WAIT') !== 'false', `case ${n}: WAIT in ${shown}`);
    assert.equal(read.delayLevel, modelDelayLevel(properties), `case ${n}: DELAY in ${shown}`);
    const tags = modelFind(properties, 'TAGS');
    assert.equal(read.tagsCode, tags ? javaStringHashCode(tags) : 0, `case ${n}: TAGS in ${shown}`);
    for (const key of ['WAIT', 'CLUSTER', 'TAGS', 'DELAY']) assert.equal(findProperty(properties, key), modelFind(properties, key), `case ${n}: ${key} in ${shown}`);
  }
});

const storedProperties = (properties: string, cluster: string) => sendProperties(properties, cluster).stored;

test('sendProperties on the shapes the Java client sends', () => {
  assert.equal(storedProperties(`UNIQ_KEY${NAME}U1${PAIR}WAIT${NAME}true`, 'C'), `UNIQ_KEY${NAME}U1${PAIR}CLUSTER${NAME}C`);
  assert.equal(storedProperties(`WAIT${NAME}true${PAIR}TAGS${NAME}A`, 'C'), `TAGS${NAME}A${PAIR}CLUSTER${NAME}C`);
  assert.equal(storedProperties(`TAGS${NAME}A${PAIR}CLUSTER${NAME}Old${PAIR}`, 'C'), `TAGS${NAME}A${PAIR}CLUSTER${NAME}C`);
  assert.equal(storedProperties('', 'C'), `CLUSTER${NAME}C`);
  assert.deepEqual(sendProperties(`DELAY${NAME}3${PAIR}WAIT${NAME}false${PAIR}TAGS${NAME}TagA`, 'C'),
    { stored: `DELAY${NAME}3${PAIR}TAGS${NAME}TagA${PAIR}CLUSTER${NAME}C`, wait: false, delayLevel: 3, tagsCode: javaStringHashCode('TagA') });
});
