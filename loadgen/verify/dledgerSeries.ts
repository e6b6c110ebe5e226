// bench verify on a DLedger group: one group of 3 lives through the whole series of N faults.
// Each cycle: wait until all members hold the same committed log, start the load (it follows
// the leader), kill or power-cut the LEADER at a random moment, wait until a new leader acks,
// keep the load on it for the rest of the cycle, then restart the crashed member with the same
// properties on its surviving (kill) or copied (power cut) store: it rejoins as a follower and
// catches up before the next cycle. After the last cycle every member must converge, and every
// acked message is read back from the leader (the verdict) and from each follower (evidence).
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, FlushbenchError } from '../../protocol/errors.js';
import type { LoopDisk } from '../disk/loopDisk.js';
import type { VerifyDLedgerJson } from '../../reports/verifyReport.js';
import type { CountsSummary, FaultSummary } from './summary.js';
import { toSummary } from './summary.js';
import type { CycleContext } from './crashCycle.js';
import { cutPower, dropDisk, nodeDisk } from './disks.js';
import { findLeader, memberStates, planDLedgerGroup, waitConverged, waitForLeader, writableLeader } from './dledgerGroup.js';
import { type LeaderAckRecord, startLeaderLoad } from './leaderLoad.js';
import { createVerifyTopic, killNode, startNode, stopNode, topicConfigKnown, type VerifyNode } from './nodes.js';
import { isAcked, statusCounts } from './producer.js';
import { type NodeRead, readNode } from './readBack.js';
import { intactKeys, tally } from './tally.js';

export interface DLedgerCycle {
  cycle: number;
  /** The leader that was crashed, and the member whose SEND_OK came first after it. */
  killed: string;
  newLeader: string;
  faultAfterMs: number;
  /** Fault → first SEND_OK from another member. */
  failoverMs: number;
  /** Sends answered with an error (or not at all) between the fault and that first SEND_OK: not acked, not counted as lost. */
  failedSends: number;
  ackedBeforeFault: number;
  /** Acked by another member (the new leader) after the fault. */
  ackedAfterFault: number;
  /** Acked in this cycle before its fault and missing on the final leader; the window from the oldest of them to the fault. */
  ackedLost: number;
  lostWindowMs: number | null;
  copyMs: number;
  /** The crashed leader's ledger end index just before the crash, and the entries its restart recovered (its broker log). */
  ledgerEndAtFault: number | null;
  recoveredEntries: number | null;
  /**
   * At least this many entries the crash took from the crashed leader's own log (power cut: not yet
   * fdatasync'ed; kill: appended in memory, not yet write()n). A lower bound: entries appended between
   * the gauge read and the crash are not seen.
   */
  entriesDropped: number | null;
  /** The restarted member no longer knew the verify topic (created again so the series goes on). */
  topicConfigLost: boolean;
}

export interface DLedgerMemberRead extends CountsSummary {
  name: string;
  selfId: string;
  leader: boolean;
}

/** verify.json's DLedger section (the fields the report reads, reports/verifyReport.ts) and what only loadgen tracks. */
export interface DLedgerSeriesSummary extends VerifyDLedgerJson {
  cycles: DLedgerCycle[];
  /** The final read of every member after convergence (the leader's is the verdict's). */
  members: DLedgerMemberRead[];
  /** Entries the crashes took from the crashed leaders' own logs, and in how many crashes (null: no evidence). */
  entriesDropped: number | null;
  crashesThatDropped: number;
  /** Wall time of the series: start of the group to the end of the last read-back. */
  seriesMs: number;
}

const FAILOVER_LIMIT_MS = 60_000;
const CONVERGE_LIMIT_MS = 120_000;
const LEADER_POLL_MS = 200;
const LEADER_POLL_SUSPECT_MS = 20;
const RECOVERY_LOG_WAIT_MS = 3000;

interface Storage {
  disk: LoopDisk | null;
  storeRoot: string;
}

/** Finds the leader in the background: every LEADER_POLL_MS, sooner after a failed send. */
function leaderTracker(nodes: readonly VerifyNode[]) {
  let current: string | null = null;
  let suspect = false;
  let running = true;
  // set() bumps the generation: a lookup that started before it (e.g. one that saw the leader
  // just before the crash) must not overwrite it (it did: a dead leader's address came back).
  let generation = 0;
  const loop = (async () => {
    while (running) {
      if (suspect || current === null) {
        suspect = false;
        const asked = generation;
        const leader = await findLeader(nodes).catch(() => null);
        if (asked === generation) current = leader?.address ?? null;
      }
      await sleep(current === null || suspect ? LEADER_POLL_SUSPECT_MS : LEADER_POLL_MS);
      if (Math.random() < LEADER_POLL_SUSPECT_MS / LEADER_POLL_MS) suspect = true; // an occasional check even when all goes well
    }
  })();
  return {
    get address() {
      return current;
    },
    set(address: string | null) {
      generation++;
      current = address;
    },
    suspect() {
      suspect = true;
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

export async function runDLedgerSeries(ctx: CycleContext, fault: 'kill' | 'powercut', crashes: number, progress: (line: string) => void): Promise<FaultSummary> {
  if (fault === 'powercut' && !ctx.disks) throw new FlushbenchError('VERIFY_NO_DISK', 'powercut needs loop disks');
  const seriesDir = path.join(ctx.workDir, `dledger-${fault}`);
  const logDir = path.join(ctx.logRoot, `dledger-${fault}`);
  const nodes = await planDLedgerGroup(ctx.nodes, ctx.overrides);
  const storage = new Map<VerifyNode, Storage>();
  // Info level even under node:test (which silences children): the recovery line is evidence.
  const env = { FLUSHBENCH_LOG_LEVEL: 'info', ...ctx.brokerEnv };
  const start = (node: VerifyNode, label: string) => startNode(node, (storage.get(node) as Storage).storeRoot, { logDir, env, label });
  const records: LeaderAckRecord[] = [];
  const cycles: DLedgerCycle[] = [];
  const faultTimes: number[] = [];
  const errors: string[] = [];
  const tracker = leaderTracker(nodes);
  const startedAtMs = Date.now();
  try {
    for (const node of nodes) {
      if (fault === 'powercut' && ctx.disks) {
        const disk = await nodeDisk(ctx.disks.template, seriesDir, node.spec.name, ctx.disks.mountOptions, ctx.disks.registry);
        storage.set(node, { disk, storeRoot: path.join(disk.mountPoint, 'store') });
      } else {
        storage.set(node, { disk: null, storeRoot: path.join(seriesDir, node.spec.name) });
      }
    }
    await Promise.all(nodes.map((node) => start(node, 'first')));
    await waitForLeader(nodes, 30_000);
    // Topic configs are not replicated between members: each one learns the topic itself.
    for (const node of nodes) await createVerifyTopic(node, ctx.topic, ctx.queues);
    for (let cycle = 1; cycle <= crashes; cycle++) {
      try {
        const result = await runCycle(cycle);
        cycles.push(result);
        progress(`dledger ${fault} ${cycle}/${crashes}: ${result.killed} → ${result.newLeader} in ${result.failoverMs} ms, ${result.failedSends} failed sends, acked ${result.ackedBeforeFault} before / ${result.ackedAfterFault} after the fault`);
      } catch (error) {
        errors.push(`cycle ${cycle}: ${errorMessage(error)}`);
        progress(`dledger ${fault} ${cycle}/${crashes}: FAILED ${errorMessage(error).split('\n')[0]}`);
        break; // the group is in an unknown state: stop crashing it, but still read back what was acked
      }
    }
    return await finalRead();
  } finally {
    await tracker.stop();
    for (const node of nodes) await stopNode(node).catch(() => undefined);
    if (ctx.disks) for (const { disk } of storage.values()) if (disk) await dropDisk(disk, ctx.disks.registry).catch(() => undefined);
    fs.rmSync(seriesDir, { recursive: true, force: true });
  }

  async function runCycle(cycle: number): Promise<DLedgerCycle> {
    const converged = await waitConverged(nodes, CONVERGE_LIMIT_MS);
    tracker.set(converged.leader.address);
    const from = records.length;
    const load = startLeaderLoad({
      runId: `${ctx.runId}-${fault}-${cycle}`, topic: ctx.topic, queues: ctx.queues, producers: ctx.producers, sizeBytes: ctx.sizeBytes, sendTimeoutMs: ctx.sendTimeoutMs,
      leader: () => tracker.address, onFailure: () => tracker.suspect(), records,
    });
    try {
      const faultAfterMs = Math.round(ctx.loadMs * (0.3 + 0.6 * Math.random()));
      await sleep(faultAfterMs);
      const states = await memberStates(nodes);
      const victim = writableLeader(states) ?? nodes.find((n) => n.address === tracker.address);
      if (!victim) throw new FlushbenchError('DLEDGER_NO_LEADER', 'no member takes writes at the moment of the fault');
      const ledgerEndAtFault = states.find((s) => s.node === victim)?.gauges?.get('dledger_ledger_end_index') ?? null;
      tracker.set(null);
      const faultAtMs = Date.now();
      faultTimes.push(faultAtMs);
      await killNode(victim);
      tracker.suspect();
      let scanned = from;
      let recovered: LeaderAckRecord | undefined;
      for (const deadline = faultAtMs + FAILOVER_LIMIT_MS; !recovered && Date.now() < deadline;) {
        for (; !recovered && scanned < records.length; scanned++) {
          const r = records[scanned];
          if (isAcked(r) && r.answeredAtMs >= faultAtMs && r.address !== victim.address) recovered = r;
        }
        if (!recovered) await sleep(10);
      }
      if (!recovered) throw new FlushbenchError('DLEDGER_NO_FAILOVER', `no SEND_OK from another member within ${FAILOVER_LIMIT_MS} ms of crashing the leader ${victim.spec.name}`);
      await sleep(Math.max(0, ctx.loadMs - faultAfterMs));
      await load.stop();
      const mine = records.slice(from);
      const recoveredAt = recovered.answeredAtMs;
      let copyMs = 0;
      if (fault === 'powercut' && ctx.disks) {
        const cut = await cutPower((storage.get(victim) as Storage).disk as LoopDisk, ctx.disks.registry, ctx.disks.mountOptions);
        copyMs = cut.copyMs;
        const storeRoot = path.join(cut.disk.mountPoint, 'store');
        storage.set(victim, { disk: cut.disk, storeRoot });
        // The DLedger log lives under storePathRootDir (dledger-<selfId>/): it must be on the image that was cut.
        const ledgerDir = path.join(storeRoot, `dledger-${victim.properties.dLegerSelfId}`);
        if (!fs.existsSync(ledgerDir)) throw new FlushbenchError('VERIFY_DLEDGER_NOT_ON_IMAGE', `${victim.spec.name}: ${ledgerDir} is missing on the power-cut image; the DLedger log was not on the disk under test`);
      }
      await start(victim, `restarted-${cycle}`);
      const recoveredEntries = await recoveredEntriesOf(path.join(logDir, `${victim.spec.name}-restarted-${cycle}.log`));
      const topicConfigLost = !(await topicConfigKnown(victim, ctx.topic));
      if (topicConfigLost) await createVerifyTopic(victim, ctx.topic, ctx.queues);
      return {
        cycle, killed: victim.spec.name, newLeader: nodes.find((n) => n.address === recovered?.address)?.spec.name ?? recovered.address, faultAfterMs,
        failoverMs: recoveredAt - faultAtMs,
        failedSends: mine.filter((r) => !isAcked(r) && r.answeredAtMs >= faultAtMs && r.answeredAtMs <= recoveredAt).length,
        ackedBeforeFault: mine.filter((r) => isAcked(r) && r.answeredAtMs < faultAtMs).length,
        ackedAfterFault: mine.filter((r) => isAcked(r) && r.answeredAtMs >= faultAtMs && r.address !== victim.address).length,
        ackedLost: 0, lostWindowMs: null, copyMs, topicConfigLost, ledgerEndAtFault, recoveredEntries,
        entriesDropped: ledgerEndAtFault === null || recoveredEntries === null ? null : Math.max(0, ledgerEndAtFault + 1 - recoveredEntries),
      };
    } finally {
      await load.stop();
    }
  }

  async function finalRead(): Promise<FaultSummary> {
    const base = seriesBase(records, cycles, errors, ctx, startedAtMs);
    try {
      for (const node of nodes) if (!node.process) await start(node, 'final');
      const converged = await waitConverged(nodes, CONVERGE_LIMIT_MS);
      const reads = new Map<VerifyNode, NodeRead>();
      for (const node of nodes) reads.set(node, await readNode(node.address, ctx.topic, ctx.queues));
      const leaderRead = reads.get(converged.leader) as NodeRead;
      const counts = tally(records, [leaderRead], faultTimes.at(-1) ?? Date.now());
      attributeLosses(records, leaderRead, cycles, faultTimes);
      const members = nodes.map((node): DLedgerMemberRead => ({
        name: node.spec.name, selfId: node.properties.dLegerSelfId, leader: node === converged.leader, ...toSummary(tally(records, [reads.get(node) as NodeRead], faultTimes.at(-1) ?? Date.now())),
      }));
      const lostWindows = cycles.map((c) => c.lostWindowMs ?? 0);
      return {
        ...base, ...toSummary(counts), lostWindowMsMax: Math.max(0, ...lostWindows), master: toSummary(counts), lostWindowsMs: lostWindows,
        dledger: { ...(base.dledger as DLedgerSeriesSummary), members, finalLeader: converged.leader.spec.name, ledgerEndIndex: converged.ledgerEndIndex, convergeMs: converged.waitedMs, seriesMs: Date.now() - startedAtMs },
      };
    } catch (error) {
      // Without the final read nothing can be judged: no crash counts as verified.
      return { ...base, crashes: 0, failedCycles: base.failedCycles + 1, errors: [...base.errors, `final read-back: ${errorMessage(error)}`] };
    }
  }
}

/** The summary before the read-back: counts zero, the cycles and the failover numbers filled in. */
function seriesBase(records: readonly LeaderAckRecord[], cycles: DLedgerCycle[], errors: string[], ctx: CycleContext, startedAtMs: number): FaultSummary {
  const failovers = cycles.map((c) => c.failoverMs).sort((a, b) => a - b);
  const props = { ...(ctx.nodes[0]?.properties ?? {}), ...ctx.overrides };
  const zero: CountsSummary = { acked: 0, ackedLost: 0, lostWindowMsMax: 0, duplicates: 0, unackedStored: 0, corrupt: 0, queueGaps: 0, ackedMoved: 0 };
  return {
    crashes: cycles.length, failedCycles: errors.length, errors: [...errors], ...zero, master: null, slave: null, slaveLossIsTail: null, fsyncMsMax: null,
    lostWindowsMs: cycles.map(() => 0), fsyncMsMaxPerCycle: cycles.map(() => null), topicConfigLost: cycles.filter((c) => c.topicConfigLost).length, statusCounts: statusCounts(records),
    dledger: {
      flushDiskType: String(props.flushDiskType ?? 'ASYNC_FLUSH'), cycles, members: [], finalLeader: null, ledgerEndIndex: null, convergeMs: null,
      failedSendsDuringFailover: cycles.reduce((s, c) => s + c.failedSends, 0), failoverMsMax: failovers.at(-1) ?? null, failoverMsP50: failovers.length ? failovers[Math.floor(failovers.length / 2)] : null,
      seriesMs: Date.now() - startedAtMs,
      entriesDropped: cycles.some((c) => c.entriesDropped !== null) ? cycles.reduce((s, c) => s + (c.entriesDropped ?? 0), 0) : null,
      crashesThatDropped: cycles.filter((c) => (c.entriesDropped ?? 0) > 0).length,
      ackedAfterFirstFault: cycles.length === 0 ? 0 : cycles.reduce((s, c) => s + c.ackedAfterFault, 0) + cycles.slice(1).reduce((s, c) => s + c.ackedBeforeFault, 0),
    },
  };
}

/**
 * The entries a restarted member's DLedger recovery kept ("DLedger member started" in its log,
 * written just after the "listening" line the start waits for), or null after RECOVERY_LOG_WAIT_MS.
 */
async function recoveredEntriesOf(logPath: string): Promise<number | null> {
  for (const deadline = Date.now() + RECOVERY_LOG_WAIT_MS; Date.now() < deadline; await sleep(50)) {
    const line = (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '').split('\n').find((l) => l.includes('DLedger member started'));
    if (!line) continue;
    try {
      const entries = Number(JSON.parse(line).recovery?.entries);
      return Number.isSafeInteger(entries) ? entries : null;
    } catch {
      return null; // not JSON: the evidence is missing, no verdict depends on it
    }
  }
  return null;
}

/** Each acked message missing on the final leader is charged to the first fault at or after its ack. */
export function attributeLosses(records: readonly LeaderAckRecord[], leaderRead: NodeRead, cycles: DLedgerCycle[], faultTimes: readonly number[]): void {
  const present = intactKeys(leaderRead);
  const oldest: number[] = cycles.map(() => Infinity);
  for (const r of records) {
    if (!isAcked(r) || present.has(r.key)) continue;
    const k = faultTimes.findIndex((at) => at >= r.answeredAtMs);
    if (k < 0 || k >= cycles.length) continue; // lost without a fault after it: counted in the total only
    cycles[k].ackedLost += 1;
    oldest[k] = Math.min(oldest[k], r.answeredAtMs);
  }
  cycles.forEach((c, k) => {
    c.lostWindowMs = c.ackedLost > 0 ? Math.max(0, faultTimes[k] - oldest[k]) : null;
  });
}
