// Three in-process DLedger members on 127.0.0.1 with short timings: election, leader loss,
// a follower catching up, a conflicting suffix truncated, a minority that stops acking.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DLedgerSettings, parsePeers } from '../../broker/dledger/dledgerConfig.js';
import { DLedgerServer } from '../../broker/dledger/dledgerServer.js';
import { ENTRY_HEADER_BYTES } from '../../broker/dledger/entryCodec.js';
import { freePort } from '../support/ports.js';
import { removeScratch, scratchDir } from '../support/scratch.js';
import { waitFor } from '../support/waitFor.js';

const TIMING = {
  heartBeatTimeIntervalMs: 80, maxHeartBeatLeak: 4, minVoteIntervalMs: 40, maxVoteIntervalMs: 120, maxWaitAckTimeMs: 800, maxPushTimeOutMs: 300,
  flushFileIntervalMs: 10, checkPointIntervalMs: 200,
};
/** Longest a failover may take with TIMING: leak × interval + two vote rounds + slack for a loaded CI host. */
const FAILOVER_BOUND_MS = TIMING.maxHeartBeatLeak * TIMING.heartBeatTimeIntervalMs + 2 * TIMING.maxVoteIntervalMs + 4 * TIMING.heartBeatTimeIntervalMs + 1500;

interface Group {
  servers: Array<DLedgerServer | null>;
  settings: DLedgerSettings[];
  root: string;
}

async function startGroup(label: string, syncFlush = false): Promise<Group> {
  const root = scratchDir(label);
  const ports = [await freePort(), await freePort(), await freePort()];
  const peers = parsePeers(ports.map((port, i) => `n${i}-127.0.0.1:${port}`).join(';'));
  const settings = peers.map((peer): DLedgerSettings => ({ group: 'g', selfId: peer.id, peers, preferredLeaderIds: [], ...TIMING }));
  const servers = await Promise.all(settings.map((s) => DLedgerServer.start(s, { rootDir: root, listenHost: '127.0.0.1', syncFlush })));
  return { servers, settings, root };
}

async function stopGroup(group: Group): Promise<void> {
  for (const server of group.servers) await server?.shutdown();
  removeScratch(group.root);
}

function leaders(group: Group): DLedgerServer[] {
  return group.servers.filter((s): s is DLedgerServer => s !== null && s.isLeader);
}

/** One leader that every live member follows, unchanged for 4 heartbeats (a vote round already in flight can still depose a fresh leader). */
async function waitForLeader(group: Group, timeoutMs: number): Promise<DLedgerServer> {
  let seen = '';
  let sinceMs = 0;
  await waitFor(() => {
    const found = leaders(group);
    const agreed = found.length === 1 && group.servers.every((s) => !s || s.isLeader || s.member.leaderId === found[0].member.selfId);
    const key = agreed ? `${found[0].member.selfId}/${found[0].member.currTerm}` : '';
    if (key !== seen) {
      seen = key;
      sinceMs = Date.now();
    }
    return agreed && Date.now() - sinceMs >= 4 * TIMING.heartBeatTimeIntervalMs;
  }, 'one leader that every live member follows', timeoutMs);
  return leaders(group)[0];
}

function append(server: DLedgerServer, text: string) {
  return server.appendAsLeader(Buffer.byteLength(text), (entry, at) => {
    entry.write(text, at);
  });
}

function bodies(server: DLedgerServer): string[] {
  const out: string[] = [];
  for (let i = 0; i <= server.store.ledgerEndIndex; i++) out.push(server.store.get(i).bytes.subarray(ENTRY_HEADER_BYTES).toString());
  return out.filter(Boolean); // term-start entries have empty bodies
}

test('three members elect one leader; appends commit on a quorum and replicate byte for byte', async () => {
  const group = await startGroup('dledger-elect');
  try {
    const leader = await waitForLeader(group, 5000);
    const term = leader.member.currTerm;
    assert.ok(group.servers.every((s) => s?.member.currTerm === term), 'everyone is in the leader term');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => append(leader, `m${i}`).settled));
    assert.deepEqual(new Set(results), new Set(['SUCCESS']));
    await waitFor(() => group.servers.every((s) => s?.store.committedIndex === leader.store.ledgerEndIndex), 'followers learn the commit index', 3000);
    for (const server of group.servers) assert.deepEqual(bodies(server as DLedgerServer), Array.from({ length: 20 }, (_, i) => `m${i}`));
    const follower = group.servers.find((s) => s && !s.isLeader) as DLedgerServer;
    assert.throws(() => append(follower, 'x'), /not the leader/);
  } finally {
    await stopGroup(group);
  }
});

test('the leader is killed: a new leader is elected within the configured timeouts and keeps the committed entries', async () => {
  const group = await startGroup('dledger-kill');
  try {
    const leader = await waitForLeader(group, 5000);
    for (let i = 0; i < 5; i++) assert.equal(await append(leader, `before${i}`).settled, 'SUCCESS');
    const killedAt = Date.now();
    const index = group.servers.indexOf(leader);
    await leader.shutdown(true);
    group.servers[index] = null;
    await waitFor(() => leaders(group).length === 1, 'a new leader', FAILOVER_BOUND_MS);
    const failoverMs = Date.now() - killedAt;
    const next = await waitForLeader(group, FAILOVER_BOUND_MS);
    assert.notEqual(next, leader);
    assert.ok(failoverMs <= FAILOVER_BOUND_MS, `failover took ${failoverMs} ms`);
    assert.ok(failoverMs >= TIMING.heartBeatTimeIntervalMs * TIMING.maxHeartBeatLeak - 60, `a follower waits for maxHeartBeatLeak heartbeats first (${failoverMs} ms)`);
    assert.equal(await append(next, 'after').settled, 'SUCCESS', 'two of three still make a quorum');
    assert.deepEqual(bodies(next), ['before0', 'before1', 'before2', 'before3', 'before4', 'after']);
  } finally {
    await stopGroup(group);
  }
});

test('a follower that was behind catches up', async () => {
  const group = await startGroup('dledger-catchup');
  try {
    const leader = await waitForLeader(group, 5000);
    const lagging = group.servers.find((s) => s && !s.isLeader) as DLedgerServer;
    lagging.setIsolated(true);
    // The isolated follower starts elections of its own; the others keep the leader.
    for (let i = 0; i < 30; i++) assert.equal(await append(leader, `c${i}`).settled, 'SUCCESS');
    assert.ok(lagging.store.ledgerEndIndex < leader.store.ledgerEndIndex);
    lagging.setIsolated(false);
    await waitFor(() => {
      const current = leaders(group)[0];
      return current !== undefined && lagging.store.ledgerEndIndex === current.store.ledgerEndIndex && lagging.store.committedIndex >= 30;
    }, 'the lagging follower reaches the leader end', 5000);
    const current = leaders(group)[0];
    assert.deepEqual(bodies(lagging), bodies(current));
    assert.deepEqual(bodies(lagging).slice(0, 30), Array.from({ length: 30 }, (_, i) => `c${i}`));
  } finally {
    await stopGroup(group);
  }
});

test('a deposed leader truncates its conflicting suffix and takes the new leader log', async () => {
  const group = await startGroup('dledger-truncate');
  try {
    const old = await waitForLeader(group, 5000);
    assert.equal(await append(old, 'shared').settled, 'SUCCESS');
    old.setIsolated(true);
    const orphans = [append(old, 'orphan1'), append(old, 'orphan2')];
    const orphanEnd = old.store.ledgerEndIndex;
    const outcomes = await Promise.all(orphans.map((o) => o.settled));
    assert.ok(outcomes.every((o) => o !== 'SUCCESS'), `a cut-off leader never acks (${outcomes.join(',')})`);
    const others = { ...group, servers: group.servers.filter((s) => s !== old) };
    const next = await waitForLeader(others, FAILOVER_BOUND_MS);
    for (let i = 0; i < 3; i++) assert.equal(await append(next, `new${i}`).settled, 'SUCCESS');
    assert.ok(old.store.ledgerEndIndex === orphanEnd && bodies(old).includes('orphan1'), 'the orphans are still there before healing');
    old.setIsolated(false);
    await waitFor(() => !old.isLeader && old.store.ledgerEndIndex === next.store.ledgerEndIndex && old.store.committedIndex === next.store.committedIndex,
      'the old leader follows and matches', 5000);
    assert.deepEqual(bodies(old), ['shared', 'new0', 'new1', 'new2']);
    assert.equal(old.store.get(old.store.ledgerEndIndex).bytes.toString('hex'), next.store.get(next.store.ledgerEndIndex).bytes.toString('hex'));
  } finally {
    await stopGroup(group);
  }
});

test('a minority (2 of 3 cut off) stops acking within maxWaitAckTimeMs, then the group resumes', async () => {
  const group = await startGroup('dledger-minority', true);
  try {
    const leader = await waitForLeader(group, 5000);
    assert.equal(await append(leader, 'ok').settled, 'SUCCESS', 'SYNC_FLUSH acks after the leader fdatasync and a follower');
    const followers = group.servers.filter((s) => s !== leader) as DLedgerServer[];
    for (const follower of followers) follower.setIsolated(true);
    const started = Date.now();
    const outcome = await append(leader, 'lost').settled;
    const waitedMs = Date.now() - started;
    assert.notEqual(outcome, 'SUCCESS');
    assert.ok(waitedMs <= TIMING.maxWaitAckTimeMs + 300, `the append failed in ${waitedMs} ms, bounded by maxWaitAckTimeMs`);
    await waitFor(() => !leader.isLeader, 'the leader steps down without a quorum', TIMING.heartBeatTimeIntervalMs * TIMING.maxHeartBeatLeak + 1000);
    assert.throws(() => append(leader, 'refused'), /not the leader/);
    for (const follower of followers) follower.setIsolated(false);
    const resumed = await waitForLeader(group, FAILOVER_BOUND_MS * 2);
    assert.equal(await append(resumed, 'again').settled, 'SUCCESS');
    assert.ok(bodies(resumed).includes('ok') && bodies(resumed).includes('again'));
  } finally {
    await stopGroup(group);
  }
});
