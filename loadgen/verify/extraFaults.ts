// The two faults that are not crashes:
//   partition  SIGSTOP the slave of a SYNC_MASTER under load: every send must be answered
//              FLUSH_SLAVE_TIMEOUT / SLAVE_NOT_AVAILABLE within the slave deadline plus a stated
//              slack (never hang), and after SIGCONT the slave must catch up and hold every ack.
//   disk-full  the master's store on a small loop file system that fills up: sends get clear
//              error statuses (no hang), nothing stored is corrupt, and after space is freed
//              the broker takes sends again.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResponseCode } from '../../protocol/codes.js';
import { FlushbenchError } from '../../protocol/errors.js';
import { attachAndMount, type LoopDisk } from '../disk/loopDisk.js';
import type { CycleContext } from './crashCycle.js';
import { waitCaughtUp } from './crashCycle.js';
import { dropDisk, makeTemplateImage } from './disks.js';
import { createVerifyTopic, planNodes, signalNode, startNode, stopNode, type VerifyNode, waitForSlaves, warmReplication } from './nodes.js';
import { type AckRecord, isAcked, startLoad, statusCounts } from './producer.js';
import { readNode } from './readBack.js';
import { type LossCounts, tally } from './tally.js';

/**
 * How much later than the slave deadline an answer may come: RocketMQ 4.9.7's GroupTransferService
 * checks the deadline after each 1 s wait (so up to 1 s late by design), plus 500 ms of scheduling.
 */
export const PARTITION_SLACK_MS = 1500;

export interface PartitionResult {
  verdict: 'holds' | 'violated';
  detail: string;
  deadlineMs: number;
  slackMs: number;
  stoppedMs: number;
  /** Sends whose deadline fell inside the partition. */
  sendsDuringPartition: number;
  statusCounts: Record<string, number>;
  answerMsMax: number;
  hung: number;
  catchUpMs: number | null;
  master: LossCounts;
  slave: LossCounts | null;
}

export interface DiskFullResult {
  verdict: 'holds' | 'violated';
  detail: string;
  imageSizeMiB: number;
  statusCounts: Record<string, number>;
  errorStatusesSeen: number;
  /** Answers SERVICE_NOT_AVAILABLE: the broker's disk-full guard (checks every 10 s, refuses above 90 % used) took over. */
  refusedAsDiskFull: number;
  answerMsMax: number;
  hung: number;
  resumed: boolean;
  master: LossCounts;
}

function answerMs(record: AckRecord): number {
  return record.answeredAtMs > 0 ? record.answeredAtMs - record.sentAtMs : Infinity;
}

export async function runPartition(ctx: CycleContext): Promise<PartitionResult> {
  const dir = path.join(ctx.workDir, 'partition');
  const logDir = path.join(ctx.logRoot, 'partition');
  const nodes = await planNodes(ctx.nodes, ctx.overrides);
  const master = nodes.find((n) => n.spec.role === 'master') as VerifyNode;
  const slave = nodes.find((n) => n.spec.role === 'slave');
  if (!slave) throw new FlushbenchError('VERIFY_FAULT_NOT_APPLICABLE', 'partition needs a slave');
  const props = master.properties;
  const deadlineMs = props.slaveAckDeadlineSource === 'syncFlushTimeout' ? Number(props.syncFlushTimeout ?? 5000) : Number(props.slaveTimeout ?? 3000);
  try {
    for (const node of nodes) await startNode(node, path.join(dir, node.spec.name), { logDir, env: ctx.brokerEnv, label: 'partition' });
    await waitForSlaves(nodes);
    await warmReplication(master, slave);
    await createVerifyTopic(master, ctx.topic, ctx.queues);
    const load = startLoad({ runId: `${ctx.runId}-partition`, address: master.address, topic: ctx.topic, queues: ctx.queues, producers: ctx.producers, sizeBytes: ctx.sizeBytes, sendTimeoutMs: deadlineMs + PARTITION_SLACK_MS + 5000 });
    await sleep(Math.max(500, ctx.loadMs * 0.3));
    const stoppedAtMs = Date.now();
    signalNode(slave, 'SIGSTOP');
    // Long enough that every producer's second send (after its first timed out) also falls inside.
    const stoppedMs = 3 * deadlineMs + 2000;
    await sleep(stoppedMs);
    const contAtMs = Date.now();
    signalNode(slave, 'SIGCONT');
    await sleep(1000);
    await load.stop();
    // Sends whose whole deadline (plus slack) fell inside the partition: those sent after the stop
    // must be refused (FLUSH_SLAVE_TIMEOUT / SLAVE_NOT_AVAILABLE); those in flight at the stop may
    // have been replicated just before it, so only their answer time is judged.
    const inside = (r: AckRecord) => r.sentAtMs + deadlineMs + PARTITION_SLACK_MS <= contAtMs && (r.answeredAtMs === 0 || r.answeredAtMs > stoppedAtMs + 200);
    const during = load.records.filter(inside);
    const sentDuring = during.filter((r) => r.sentAtMs >= stoppedAtMs + 100);
    const allowed = new Set<number>([ResponseCode.FLUSH_SLAVE_TIMEOUT, ResponseCode.SLAVE_NOT_AVAILABLE]);
    const wrong = sentDuring.filter((r) => !allowed.has(r.status));
    const late = during.filter((r) => answerMs(r) > deadlineMs + PARTITION_SLACK_MS);
    const answerMsMax = during.reduce((m, r) => Math.max(m, answerMs(r)), 0);
    let catchUpMs: number | null = null;
    let slaveCounts: LossCounts | null = null;
    let catchUpProblem = '';
    try {
      catchUpMs = await waitCaughtUp(master, slave, ctx.topic, ctx.queues, 30_000);
      slaveCounts = tally(load.records, [await readNode(slave.address, ctx.topic, ctx.queues)], contAtMs);
    } catch (error) {
      catchUpProblem = (error as Error).message;
    }
    const masterCounts = tally(load.records, [await readNode(master.address, ctx.topic, ctx.queues)], contAtMs);
    const ok = sentDuring.length > 0 && wrong.length === 0 && late.length === 0 && load.hung === 0 && catchUpMs !== null
      && masterCounts.ackedLost === 0 && (slaveCounts?.ackedLost ?? 1) === 0;
    const detail = `slave stopped ${stoppedMs} ms; ${sentDuring.length} sends during it: ${JSON.stringify(statusCounts(sentDuring))}, ${during.length - sentDuring.length} in flight at the stop (want ${ResponseCode.FLUSH_SLAVE_TIMEOUT} FLUSH_SLAVE_TIMEOUT / ${ResponseCode.SLAVE_NOT_AVAILABLE} SLAVE_NOT_AVAILABLE), ` +
      `slowest answer ${Number.isFinite(answerMsMax) ? answerMsMax : 'none'} ms against ${deadlineMs} + ${PARTITION_SLACK_MS} ms slack, ${load.hung} hung; ` +
      (catchUpMs !== null ? `slave caught up ${catchUpMs} ms after SIGCONT, lost ${slaveCounts?.ackedLost} acked` : `slave did not catch up: ${catchUpProblem}`);
    return {
      verdict: ok ? 'holds' : 'violated', detail, deadlineMs, slackMs: PARTITION_SLACK_MS, stoppedMs, sendsDuringPartition: sentDuring.length, statusCounts: statusCounts(during),
      answerMsMax: Number.isFinite(answerMsMax) ? answerMsMax : -1, hung: load.hung, catchUpMs, master: masterCounts, slave: slaveCounts,
    };
  } finally {
    signalNode(slave, 'SIGCONT');
    for (const node of nodes) await stopNode(node).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const DISK_FULL_IMAGE_MIB = 64;
/** Room left beside the filler: a few CommitLog segments of 4 MiB fill it within a second or two. */
const DISK_FULL_FREE_BYTES = 12 * 1024 * 1024;

export async function runDiskFull(ctx: CycleContext): Promise<DiskFullResult> {
  if (!ctx.disks) throw new FlushbenchError('VERIFY_NO_DISK', 'disk-full needs a loop disk');
  const registry = ctx.disks.registry;
  const dir = path.join(ctx.workDir, 'disk-full');
  const logDir = path.join(ctx.logRoot, 'disk-full');
  const image = path.join(dir, 'small.img');
  await makeTemplateImage(image, DISK_FULL_IMAGE_MIB);
  let disk: LoopDisk | null = null;
  // The master alone: a SYNC_MASTER without its slave would refuse every send for another reason.
  const masterSpec = ctx.nodes.find((n) => n.role === 'master');
  if (!masterSpec) throw new FlushbenchError('VERIFY_FAULT_NOT_APPLICABLE', 'disk-full needs a master');
  const [node] = await planNodes([masterSpec], { ...ctx.overrides, brokerRole: 'ASYNC_MASTER', mappedFileSizeCommitLog: '4194304', mappedFileSizeConsumeQueue: '60000' });
  try {
    disk = await attachAndMount(image, path.join(dir, 'mnt'), [], false, registry);
    await startNode(node, path.join(disk.mountPoint, 'store'), { logDir, env: ctx.brokerEnv, label: 'disk-full' });
    await createVerifyTopic(node, ctx.topic, ctx.queues);
    const filler = path.join(disk.mountPoint, 'filler.bin');
    const stat = fs.statfsSync(disk.mountPoint);
    const fillBytes = Math.max(0, Number(stat.bavail) * Number(stat.bsize) - DISK_FULL_FREE_BYTES);
    const fd = fs.openSync(filler, 'w');
    const chunk = Buffer.alloc(1024 * 1024, 0x5a);
    for (let written = 0; written < fillBytes; written += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, fillBytes - written));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    const load = startLoad({ runId: `${ctx.runId}-diskfull`, address: node.address, topic: ctx.topic, queues: ctx.queues, producers: Math.min(ctx.producers, 16), sizeBytes: Math.max(ctx.sizeBytes, 1024), sendTimeoutMs: 10_000 });
    const errorStatus = (r: AckRecord) => r.status !== ResponseCode.SUCCESS && r.status !== -1;
    const diskFullRefusal = (r: AckRecord) => r.status === ResponseCode.SERVICE_NOT_AVAILABLE;
    // Writes fail at once (ENOSPC); keep the disk full until the guard's check (every 10 s in
    // RocketMQ 4.9.7) refuses sends as SERVICE_NOT_AVAILABLE, as a client would then see it.
    const fullDeadline = Date.now() + 30_000;
    while ((load.records.filter(errorStatus).length < 50 || !load.records.some(diskFullRefusal)) && Date.now() < fullDeadline) await sleep(100);
    const errorStatusesSeen = load.records.filter(errorStatus).length;
    const refusedAsDiskFull = load.records.filter(diskFullRefusal).length;
    const freedAtIndex = load.records.length;
    fs.rmSync(filler, { force: true });
    const resumeDeadline = Date.now() + 20_000;
    let resumed = false;
    while (!resumed && Date.now() < resumeDeadline) {
      resumed = load.records.slice(freedAtIndex).some((r) => isAcked(r) && r.sentAtMs > Date.now() - 5000) && load.records.slice(-20).every(isAcked);
      if (!resumed) await sleep(200);
    }
    await load.stop();
    const answerMsMax = load.records.reduce((m, r) => Math.max(m, answerMs(r)), 0);
    const master = tally(load.records, [await readNode(node.address, ctx.topic, ctx.queues)], Date.now());
    const ok = errorStatusesSeen > 0 && load.hung === 0 && resumed && master.corrupt === 0 && master.queueGaps === 0 && master.ackedLost === 0;
    const detail = `${DISK_FULL_IMAGE_MIB} MiB file system filled: ${errorStatusesSeen} error answers ${JSON.stringify(statusCounts(load.records))} ` +
      `(${refusedAsDiskFull} SERVICE_NOT_AVAILABLE from the disk-full guard), slowest answer ${Number.isFinite(answerMsMax) ? answerMsMax : 'none'} ms, ${load.hung} hung; ` +
      `${resumed ? 'took sends again after space was freed' : 'did NOT take sends again within 20 s after space was freed'}; read-back: ${master.ackedLost} acked lost, ${master.corrupt} corrupt, ${master.queueGaps} gaps`;
    return { verdict: ok ? 'holds' : 'violated', detail, imageSizeMiB: DISK_FULL_IMAGE_MIB, statusCounts: statusCounts(load.records), errorStatusesSeen, refusedAsDiskFull, answerMsMax: Number.isFinite(answerMsMax) ? answerMsMax : -1, hung: load.hung, resumed, master };
  } finally {
    await stopNode(node).catch(() => undefined);
    if (disk) await dropDisk(disk, registry).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
