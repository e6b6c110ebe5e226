// One flushbench DLedger member against peers that speak as Apache DLedger 0.3.1.2 (RocketMQ
// 4.9.7) does: remoting answers with code 200, fastjson bodies (sorted keys, no nulls, the
// `batch`/`count`/`firstEntryIndex` getters), entries without CRCs, TRUNCATE carrying the
// leader's entry, and voters that answer a larger term with REJECT_TERM_NOT_READY.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DLedgerSettings, parsePeers } from '../../broker/dledger/dledgerConfig.js';
import { DLedgerServer } from '../../broker/dledger/dledgerServer.js';
import { checkEntry, ENTRY_HEADER_BYTES } from '../../broker/dledger/entryCodec.js';
import { DLedgerRequestCode } from '../../broker/dledger/rpc.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest, createResponse } from '../../protocol/remotingCommand.js';
import { RemotingServer } from '../../protocol/remotingServer.js';
import { freePort } from '../support/ports.js';
import { removeScratch, scratchDir } from '../support/scratch.js';
import { waitFor } from '../support/waitFor.js';

const APACHE_SUCCESS = 200; // DLedgerRpcNettyService.handleResponse: the remoting code of every answer

type Json = Record<string, unknown>;

/** An entry as fastjson writes DLedgerEntry: getters in name order, body base64, CRCs 0. */
function apacheEntry(index: number, term: number, pos: number, body: string): Json {
  const bytes = Buffer.from(body);
  return { body: bytes.toString('base64'), bodyCrc: 0, chainCrc: 0, channel: 0, index, magic: 1, pos, size: ENTRY_HEADER_BYTES + bytes.length, term };
}

function apachePush(type: string, term: number, entries: Json[], commitIndex: number): Json {
  const batch = entries.length > 1;
  const first = entries.length > 0 ? (entries[0].index as number) : -1;
  const last = entries.length > 0 ? (entries[entries.length - 1].index as number) : -1;
  return {
    batch, batchEntry: batch ? entries : [], code: 200, commitIndex, count: entries.length, ...(batch || entries.length === 0 ? {} : { entry: entries[0] }),
    firstEntryIndex: first, group: 'g', lastEntryIndex: last, leaderId: 'n0', localId: 'n0', remoteId: 'n2', term,
    totalSize: batch ? entries.reduce((sum, e) => sum + (e.size as number), 0) : 0, type,
  };
}

/** A peer's DLedger port answering as DLedgerRpcNettyService does (remoting code 200, JSON body). */
async function apachePeer(port: number, answer: (code: number, request: Json) => Json): Promise<RemotingServer> {
  const server = new RemotingServer();
  for (const code of [DLedgerRequestCode.VOTE, DLedgerRequestCode.HEART_BEAT, DLedgerRequestCode.PUSH]) {
    server.registerProcessor(code, (request) => {
      const body = answer(code, JSON.parse(request.body?.toString('utf8') ?? '{}') as Json);
      return createResponse(request, APACHE_SUCCESS, undefined, undefined, Buffer.from(JSON.stringify(body)));
    });
  }
  await server.listen(port, '127.0.0.1');
  return server;
}

async function startOurs(label: string, timing: Partial<DLedgerSettings>) {
  const root = scratchDir(label);
  const ports = [await freePort(), await freePort(), await freePort()];
  const peers = parsePeers(ports.map((port, i) => `n${i}-127.0.0.1:${port}`).join(';'));
  const settings: DLedgerSettings = {
    group: 'g', selfId: 'n2', peers, preferredLeaderIds: [], heartBeatTimeIntervalMs: 2000, maxHeartBeatLeak: 3, minVoteIntervalMs: 300,
    maxVoteIntervalMs: 1000, maxWaitAckTimeMs: 2500, maxPushTimeOutMs: 1000, flushFileIntervalMs: 10, checkPointIntervalMs: 3000, ...timing,
  };
  const server = await DLedgerServer.start(settings, { rootDir: root, listenHost: '127.0.0.1', syncFlush: false });
  return { root, ports, server };
}

test('an entry without CRCs (Apache DLedger writes 0 in both fields) is taken; a wrong non-zero CRC is still refused', () => {
  const body = Buffer.from('hello');
  const entry = Buffer.alloc(ENTRY_HEADER_BYTES + body.length);
  entry.writeInt32BE(1, 0);
  entry.writeInt32BE(entry.length, 4);
  entry.writeInt32BE(body.length, 44);
  body.copy(entry, ENTRY_HEADER_BYTES);
  assert.equal(checkEntry(entry, 0, entry.length, 0, 0, 0).ok, true);
  entry.writeInt32BE(1234, 40);
  assert.deepEqual(checkEntry(entry, 0, entry.length, 0, 0, 0), { ok: false, reason: 'body CRC mismatch' });
});

test('a flushbench follower takes heartbeats and pushes from an Apache DLedger leader', async () => {
  const { root, ports, server } = await startOurs('dledger-interop-follow', {});
  const peers = await Promise.all([0, 1].map((i) => apachePeer(ports[i], () => ({ code: 200, group: 'g', term: 0, voteResult: 'REJECT_ALREADY_HAS_LEADER' }))));
  const leader = new RemotingClient(`127.0.0.1:${ports[2]}`, { connectTimeoutMs: 1000 });
  const call = async (code: number, body: Json): Promise<Json> => {
    const response = await leader.invoke(createRequest(code, undefined, Buffer.from(JSON.stringify(body))), 2000);
    return JSON.parse(response.body?.toString('utf8') ?? '{}') as Json;
  };
  try {
    const beat = await call(DLedgerRequestCode.HEART_BEAT, { code: 200, group: 'g', leaderId: 'n0', localId: 'n0', remoteId: 'n2', term: 5 });
    assert.equal(beat.code, 200);
    assert.equal(server.member.leaderId, 'n0');
    const e0 = apacheEntry(0, 5, 0, 'first');
    const e1 = apacheEntry(1, 5, 53, 'second');
    const e2 = apacheEntry(2, 5, 107, 'third');
    const e3 = apacheEntry(3, 5, 160, 'fourth');
    // DLedger's doCompare on an empty follower: COMPARE the leader's end, then TRUNCATE at its begin (entry 0).
    const compared = await call(DLedgerRequestCode.PUSH, apachePush('COMPARE', 5, [e0], -1));
    assert.deepEqual([compared.code, compared.endIndex], [406, -1]);
    const truncated = await call(DLedgerRequestCode.PUSH, apachePush('TRUNCATE', 5, [e0], -1));
    assert.equal(truncated.code, 200, 'TRUNCATE with the leader entry 0 writes it on an empty follower');
    assert.equal(server.store.ledgerEndIndex, 0);
    const one = await call(DLedgerRequestCode.PUSH, apachePush('APPEND', 5, [e1], 0));
    assert.deepEqual([one.code, one.index, one.count], [200, 1, 1]);
    // Batch push: the Apache leader acks index + count - 1, so index must be the first one.
    const two = await call(DLedgerRequestCode.PUSH, apachePush('APPEND', 5, [e2, e3], 1));
    assert.deepEqual([two.code, two.index, two.count], [200, 2, 2]);
    // A new leader (term 6) whose entry 3 differs: TRUNCATE replaces the local uncommitted suffix from there (DLedgerMmapFileStore.truncate).
    const replaced = await call(DLedgerRequestCode.PUSH, apachePush('TRUNCATE', 6, [apacheEntry(3, 6, 160, 'FOURTH')], 1));
    assert.equal(replaced.code, 200);
    await call(DLedgerRequestCode.PUSH, apachePush('COMMIT', 6, [], 3));
    assert.equal(server.store.ledgerEndIndex, 3);
    assert.equal(server.store.committedIndex, 3);
    assert.equal(server.store.get(3).bytes.subarray(ENTRY_HEADER_BYTES).toString(), 'FOURTH');
    assert.equal(server.store.get(2).bytes.subarray(ENTRY_HEADER_BYTES).toString(), 'third');
  } finally {
    leader.close();
    await server.shutdown();
    for (const peer of peers) await peer.close();
    removeScratch(root);
  }
});

test('a flushbench candidate wins against Apache voters that answer a new term with REJECT_TERM_NOT_READY', async () => {
  const { root, ports, server } = await startOurs('dledger-interop-vote', {
    heartBeatTimeIntervalMs: 80, maxHeartBeatLeak: 4, minVoteIntervalMs: 40, maxVoteIntervalMs: 120, maxWaitAckTimeMs: 800, maxPushTimeOutMs: 300,
  });
  const asked: number[] = [];
  const voter = () => {
    let term = 0; // DLedgerLeaderElector.handleVote: a larger term is taken, and refused until it is the voter's own
    return (code: number, request: Json): Json => {
      const base = { code: 200, group: 'g', leaderId: null, localId: request.remoteId, remoteId: request.localId };
      if (code !== DLedgerRequestCode.VOTE) return { ...base, term: request.term, index: -1, beginIndex: -1, endIndex: -1, count: 0 };
      asked.push(request.term as number);
      if ((request.term as number) > term) {
        const before = term;
        term = request.term as number;
        return { ...base, term: before, voteResult: 'REJECT_TERM_NOT_READY' };
      }
      return { ...base, term, voteResult: request.term === term ? 'ACCEPT' : 'REJECT_EXPIRED_VOTE_TERM' };
    };
  };
  const peers = await Promise.all([0, 1].map((i) => apachePeer(ports[i], voter())));
  try {
    await waitFor(() => server.isLeader, 'our member leads with the Apache voters\' votes', 5000);
    assert.equal(server.member.currTerm, asked[0], `elected in the term it first asked for (asked: ${asked.join(',')})`);
  } finally {
    await server.shutdown();
    for (const peer of peers) await peer.close();
    removeScratch(root);
  }
});
