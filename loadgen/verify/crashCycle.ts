// One crash cycle: fresh stores, load, a fault at a random moment, recovery, read-back.
//   kill            SIGKILL the master; restart it on the same store (page cache survives)
//   powercut        SIGKILL the master, copy its image (what reached the disk), restart on the copy
//   slave-kill      SIGKILL the slave under load; restart it; it must catch up
//   slave-powercut  as slave-kill, restarted on its crash image
//   both-powercut   SIGKILL master and slave together, copy both images, restart both
// A slave is read before its master comes back (slaveReadEnable: the failover read a consumer
// gets while the master is down); the master is read after its own recovery.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { FlushbenchError } from '../../protocol/errors.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import type { DiskRegistry } from '../disk/diskRegistry.js';
import type { LoopDisk } from '../disk/loopDisk.js';
import { histogramQuantileMs, type MetricValues, scrapeMetrics } from '../metricsScraper.js';
import type { ProfileNode } from '../profile.js';
import { cutPower, dropDisk, nodeDisk } from './disks.js';
import { flushbenchDriver, type NodeDriver, topicConfigKnown, type VerifyNode, warmReplication } from './nodes.js';
import { startLoad, statusCounts } from './producer.js';
import { type NodeRead, readNode } from './readBack.js';
import { type LossCounts, lossIsTail, tally } from './tally.js';

export type CrashFault = 'kill' | 'powercut' | 'slave-kill' | 'slave-powercut' | 'both-powercut';
export const POWER_CUT_FAULTS: ReadonlySet<string> = new Set(['powercut', 'slave-powercut', 'both-powercut', 'disk-full']);

export interface CycleContext {
  runId: string;
  nodes: readonly ProfileNode[];
  overrides: Record<string, string>;
  topic: string;
  queues: number;
  producers: number;
  sizeBytes: number;
  loadMs: number;
  sendTimeoutMs: number;
  workDir: string;
  /** Broker logs go to <logRoot>/<fault>-<cycle>/. */
  logRoot: string;
  /** Loop-disk state; null when power cuts are unavailable. */
  disks: { registry: DiskRegistry; template: string; mountOptions: readonly string[] } | null;
  brokerEnv?: NodeJS.ProcessEnv;
  /** Which broker the nodes run (default ours; rocketmqNodes.ts for Apache RocketMQ). */
  driver?: NodeDriver;
}

export interface CycleResult {
  fault: CrashFault;
  cycle: number;
  faultAfterMs: number;
  statusCounts: Record<string, number>;
  /** The read the fault's claim is about (see README: master for kill/powercut, slave for slave-*, both for both-powercut). */
  counts: LossCounts;
  master: LossCounts;
  slave: LossCounts | null;
  /** ASYNC_MASTER: the acked messages the slave lacks are a tail of each queue (null: no slave read). */
  slaveLossIsTail: boolean | null;
  /** Slowest CommitLog fdatasync during the load (ms, histogram estimate), flushbench only. */
  fsyncMsMax: number | null;
  copyMs: number;
  /** The restarted master no longer knows the verify topic (its config file did not survive). */
  topicConfigLost: boolean;
  /** Apache RocketMQ: how the restarted master recovered (abort file found: 'abnormal'); null for ours. */
  recovery: 'abnormal' | 'normal' | null;
}

async function maxOffsets(address: string, topic: string, queues: number): Promise<number[]> {
  const client = new RemotingClient(address);
  try {
    const out: number[] = [];
    for (let queueId = 0; queueId < queues; queueId++) {
      const response = await client.invoke(createRequest(RequestCode.GET_MAX_OFFSET, { topic, queueId: String(queueId) }), 3000);
      out.push(response.code === ResponseCode.SUCCESS ? Number(response.extFields?.offset ?? 0) : -1);
    }
    return out;
  } finally {
    client.close();
  }
}

/** Waits (bounded) until the slave's queues are as long as the master's. */
export async function waitCaughtUp(master: VerifyNode, slave: VerifyNode, topic: string, queues: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const target = await maxOffsets(master.address, topic, queues);
  for (;;) {
    const have = await maxOffsets(slave.address, topic, queues).catch(() => [] as number[]);
    if (have.length === queues && have.every((offset, q) => offset >= target[q])) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new FlushbenchError('VERIFY_SLAVE_BEHIND', `${slave.spec.name} did not catch up with ${master.spec.name} within ${timeoutMs} ms (has ${JSON.stringify(have)}, master ${JSON.stringify(target)})`);
    await sleep(100);
  }
}

interface Storage {
  disk: LoopDisk | null;
  storeRoot: string;
}

export async function runCrashCycle(ctx: CycleContext, fault: CrashFault, cycle: number): Promise<CycleResult> {
  const usesDisk = POWER_CUT_FAULTS.has(fault);
  if (usesDisk && !ctx.disks) throw new FlushbenchError('VERIFY_NO_DISK', `${fault} needs loop disks`);
  const cycleDir = path.join(ctx.workDir, `${fault}-${cycle}`);
  const logDir = path.join(ctx.logRoot, `${fault}-${cycle}`);
  const driver = ctx.driver ?? flushbenchDriver;
  const nodes = await driver.plan(ctx.nodes, ctx.overrides);
  const master = nodes.find((n) => n.spec.role === 'master') as VerifyNode;
  const slave = nodes.find((n) => n.spec.role === 'slave' && n.spec.brokerName === master.spec.brokerName) ?? null;
  if (fault.includes('slave') || fault.startsWith('both')) {
    if (!slave) throw new FlushbenchError('VERIFY_FAULT_NOT_APPLICABLE', `${fault} needs a profile with a slave`);
  }
  const storage = new Map<VerifyNode, Storage>();
  const start = (node: VerifyNode, label: string) => driver.start(node, (storage.get(node) as Storage).storeRoot, { logDir, env: ctx.brokerEnv, label, topic: { name: ctx.topic, queues: ctx.queues } });
  let copyMs = 0;
  try {
    for (const node of nodes) {
      if (usesDisk && ctx.disks) {
        const disk = await nodeDisk(ctx.disks.template, cycleDir, node.spec.name, ctx.disks.mountOptions, ctx.disks.registry);
        storage.set(node, { disk, storeRoot: path.join(disk.mountPoint, 'store') });
      } else {
        storage.set(node, { disk: null, storeRoot: path.join(cycleDir, node.spec.name) });
      }
    }
    for (const node of nodes) await start(node, 'first');
    await driver.waitForSlaves(nodes, logDir);
    if (slave) await warmReplication(master, slave);
    await driver.createTopic(master, ctx.topic, ctx.queues);
    const metricsBefore = driver.metrics ? await scrapeMetrics(master.metricsUrl).catch(() => null) : null;
    const load = startLoad({ runId: `${ctx.runId}-${fault}-${cycle}`, address: master.address, topic: ctx.topic, queues: ctx.queues, producers: ctx.producers, sizeBytes: ctx.sizeBytes, sendTimeoutMs: ctx.sendTimeoutMs });
    // A random moment under load, after the first 30 % (so fsyncs, replication and writeback are running).
    const faultAfterMs = Math.round(ctx.loadMs * (0.3 + 0.6 * Math.random()));
    await sleep(faultAfterMs);
    const metricsAtFault = driver.metrics ? await scrapeMetrics(master.metricsUrl).catch(() => null) : null;
    const victims = fault === 'kill' || fault === 'powercut' ? [master] : fault === 'both-powercut' ? [master, slave as VerifyNode] : [slave as VerifyNode];
    const faultAtMs = Date.now();
    await Promise.all(victims.map((node) => driver.kill(node)));
    const masterDied = victims.includes(master);
    if (masterDied) {
      await Promise.race([load.done, sleep(ctx.sendTimeoutMs + 2000)]);
    } else {
      await sleep(Math.max(0, ctx.loadMs - faultAfterMs));
    }
    await load.stop();
    if (fault.endsWith('powercut') && ctx.disks) {
      for (const node of victims) {
        const before = storage.get(node) as Storage;
        const cut = await cutPower(before.disk as LoopDisk, ctx.disks.registry, ctx.disks.mountOptions);
        copyMs += cut.copyMs;
        storage.set(node, { disk: cut.disk, storeRoot: path.join(cut.disk.mountPoint, 'store') });
      }
    }
    let slaveRead: NodeRead | null = null;
    if (slave && masterDied) {
      // Failover read before the master returns (restarted first if it died too).
      if (!slave.process) await start(slave, 'restarted');
      slaveRead = await readNode(slave.address, ctx.topic, ctx.queues);
    }
    if (!master.process) await start(master, 'restarted');
    if (slave && !masterDied) {
      await start(slave, 'restarted');
      await waitCaughtUp(master, slave, ctx.topic, ctx.queues, 30_000);
      slaveRead = await readNode(slave.address, ctx.topic, ctx.queues);
    }
    const recovery = driver.recovery?.(master, logDir) ?? null;
    const topicConfigLost = !(await topicConfigKnown(master, ctx.topic));
    // Apache RocketMQ answers PULL_MESSAGE TOPIC_NOT_EXIST without the topic's config (ours reads
    // the store regardless): recreate it, as an operator would, so the read sees what is stored.
    if (topicConfigLost && driver.recreateLostTopic) await driver.createTopic(master, ctx.topic, ctx.queues);
    const masterRead = await readNode(master.address, ctx.topic, ctx.queues);
    const acks = load.records;
    const masterCounts = tally(acks, [masterRead], faultAtMs);
    const slaveCounts = slaveRead ? tally(acks, [slaveRead], faultAtMs) : null;
    const counts = fault === 'both-powercut' && slaveRead ? tally(acks, [masterRead, slaveRead], faultAtMs)
      : fault.startsWith('slave') && slaveCounts ? slaveCounts : masterCounts;
    return {
      fault, cycle, faultAfterMs, statusCounts: statusCounts(acks), counts, master: masterCounts, slave: slaveCounts,
      slaveLossIsTail: slaveRead ? lossIsTail(acks, slaveRead) : null,
      fsyncMsMax: fsyncMsMax(metricsBefore, metricsAtFault), copyMs, topicConfigLost, recovery,
    };
  } finally {
    for (const node of nodes) await driver.stop(node).catch(() => undefined);
    if (ctx.disks) for (const { disk } of storage.values()) if (disk) await dropDisk(disk, ctx.disks.registry).catch(() => undefined);
    fs.rmSync(cycleDir, { recursive: true, force: true });
  }
}

function fsyncMsMax(before: MetricValues | null, after: MetricValues | null): number | null {
  if (!before || !after) return null;
  return histogramQuantileMs('rocketmq_fsync_latency_seconds', before, after, 1);
}
