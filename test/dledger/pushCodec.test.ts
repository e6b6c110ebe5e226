import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DLedgerStore } from '../../broker/dledger/dledgerStore.js';
import { encodeEntry, entryBodyCrc } from '../../broker/dledger/entryCodec.js';
import { decodePushRequest, encodeEntries, encodePushRequest, type PushHead, type PushIn, pushInFromJson } from '../../broker/dledger/pushCodec.js';
import { entryToJson, type PushEntryRequest } from '../../broker/dledger/rpc.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

const HEAD: PushHead = { group: 'broker-d', remoteId: 'n1', localId: 'n0', code: 200, leaderId: 'n0', term: 7, type: 'APPEND', commitIndex: 41 };

function entry(index: number, body: Buffer, pos = index * 1000): Buffer {
  return encodeEntry({ index, term: 7, pos, channel: 0, chainCrc: -123456789 + (index % 1000), bodyCrc: entryBodyCrc(body) }, body);
}

/** The request object the pusher used to JSON.stringify. */
function asObject(head: PushHead, entries: Buffer[]): PushEntryRequest {
  const jsons = entries.map(entryToJson);
  return {
    group: head.group, remoteId: head.remoteId, localId: head.localId, code: head.code, leaderId: head.leaderId, term: head.term, type: head.type,
    commitIndex: head.commitIndex, entry: jsons.length === 1 ? jsons[0] : null, batchEntry: jsons.length > 1 ? jsons : [], totalSize: entries.reduce((s, e) => s + e.length, 0),
  };
}

/** What a follower reads, with each entry's bytes built: comparable with deepEqual. */
function materialize(request: PushIn) {
  return { ...request, entries: request.entries.map((e) => ({ index: e.index, term: e.term, pos: e.pos, bytes: e.toBytes().toString('hex') })) };
}

const odd = [
  Buffer.alloc(0),
  Buffer.from([0, 0xff, 0x22, 0x5c, 0x0a, 0x80, 0xfe]), // quote, backslash, newline, non-UTF-8
  Buffer.from('x'),
  Buffer.from('xy'),
  Buffer.from('xyz'),
  Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 131) % 256)),
];

test('push request JSON: the hand-written body is byte for byte what JSON.stringify wrote, for 0, 1 and many entries and odd bodies', () => {
  const cases: Buffer[][] = [[], [entry(5, odd[0])], odd.map((b, i) => entry(100 + i, b)), [entry(2 ** 40, odd[1], 2 ** 45)]];
  for (const entries of cases) {
    for (const head of [HEAD, { ...HEAD, leaderId: null, type: 'COMPARE' as const, commitIndex: -1 }, { ...HEAD, group: 'grüppe "x"\n' }]) {
      const body = encodePushRequest(head, entries);
      assert.equal(body.toString('utf8'), JSON.stringify(asObject(head, entries)));
      assert.deepEqual(JSON.parse(body.toString('utf8')), asObject(head, entries));
      assert.ok(encodeEntries(entries).equals(encodeEntries(entries.map((e) => Buffer.from(e)))), 'entries JSON depends only on the bytes');
    }
  }
});

test('push request decode: entries arrive byte for byte, whatever shape of JSON (key order, whitespace, escapes, unpadded base64) carries them', () => {
  const entries = odd.map((b, i) => entry(100 + i, b));
  const bodies = [
    encodePushRequest(HEAD, []),
    encodePushRequest(HEAD, entries.slice(0, 1)),
    encodePushRequest(HEAD, entries),
    encodePushRequest({ ...HEAD, leaderId: null }, entries.slice(1, 3)),
    encodePushRequest({ ...HEAD, group: 'grüppe' }, entries.slice(1, 2)), // non-ASCII: JSON.parse path
    // Shapes another writer (fastjson) may produce: other key order, whitespace, escapes, floats, missing fields, unpadded base64.
    Buffer.from(JSON.stringify({ ...asObject(HEAD, entries.slice(0, 2)), type: 'APPEND' }, null, 1)),
    Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(asObject(HEAD, entries.slice(1, 2))).reverse()))),
    Buffer.from(encodePushRequest(HEAD, entries.slice(1, 2)).toString().replace('"n1"', '"n\\u0031"')),
    Buffer.from(encodePushRequest(HEAD, entries.slice(1, 2)).toString().replace('"commitIndex":41', '"commitIndex":41.0')),
    Buffer.from(encodePushRequest(HEAD, entries.slice(1, 2)).toString().replace('"channel":0,', '')),
    Buffer.from(encodePushRequest(HEAD, entries.slice(2, 3)).toString().replace('eA=="', 'eA"')),
    Buffer.from(encodePushRequest(HEAD, entries.slice(1, 2)).toString().replace('"term":7', '"term":0123')),
  ];
  for (const body of bodies) {
    const text = body.toString('utf8');
    let generic: ReturnType<typeof materialize> | Error;
    try {
      generic = materialize(pushInFromJson(JSON.parse(text) as PushEntryRequest));
    } catch (error) {
      generic = error as Error;
    }
    if (generic instanceof Error) assert.throws(() => materialize(decodePushRequest(body)), { name: generic.name }, text.slice(0, 120));
    else assert.deepEqual(materialize(decodePushRequest(body)), generic, text.slice(0, 120));
  }
  const decoded = decodePushRequest(encodePushRequest(HEAD, entries));
  assert.deepEqual(decoded.entries.map((e) => e.toBytes().toString('hex')), entries.map((e) => e.toString('hex')), 'entries arrive byte for byte');
  assert.throws(() => decodePushRequest(Buffer.from('{"group":')), SyntaxError);
});

test('deferred writes: appended entries are readable at once and reach the files by writeOut, truncation and close', async () => {
  const dir = scratchDir('dledger-defer');
  try {
    const store = new DLedgerStore(dir, { dataFileSizeBytes: 4096, indexFileSizeBytes: 32 * 8 });
    store.deferWrites = true;
    const fill = (text: string) => (buf: Buffer, at: number) => void buf.write(text, at);
    for (let i = 0; i < 30; i++) store.appendAsLeader(1, 150, fill(`e${i}`.padEnd(150, '.')));
    assert.equal(store.get(29).bytes.subarray(48, 51).toString(), 'e29', 'read from memory before any write');
    const read: number[] = [];
    for (let next = 0; next <= 29 && read.length < 100;) for (const e of store.readBatch(next, 1 << 20, 100)) read.push((next = e.header.index + 1) - 1);
    assert.deepEqual(read, Array.from({ length: 30 }, (_, i) => i), 'batches (each within one in-memory slab) cover the log');
    store.truncateAfter(20); // writes out what was pending, then cuts
    store.appendAsLeader(2, 150, fill('new21'.padEnd(150, '.')));
    assert.equal(store.termAt(21), 2);
    await store.close(true);
    const reopened = new DLedgerStore(dir, { dataFileSizeBytes: 4096, indexFileSizeBytes: 32 * 8 });
    assert.equal(reopened.ledgerEndIndex, 21);
    assert.equal(reopened.get(21).bytes.subarray(48, 53).toString(), 'new21');
    assert.equal(reopened.get(12).bytes.subarray(48, 51).toString(), 'e12');
    await reopened.close();
  } finally {
    removeScratch(dir);
  }
});
