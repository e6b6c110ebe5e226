// Slave faults under SYNC_MASTER (async-sync): SIGSTOP the slave (connected but silent) and
// SIGKILL + restart it on its store. Both drive an open-loop load so the number of sends during
// the fault does not depend on how long each waits, and judge every send by its own answer.
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';
import type { EngineCluster } from '../clusterLauncher.js';
import { captureCommand, restartCommand, signalProcess, stopChild, waitForExit } from './processControl.js';
import type { SlaveRestartResult, SlaveStopResult } from '../../reports/scenarioData.js';
import {
  countStatuses, distributionOf, histogramOf, type ScenarioLoadOptions, type SendEvent, sleep, startScenarioLoad,
} from './scenarioLoad.js';

export interface SlaveFaultOptions {
  /** msgs/s (open loop) and the in-flight cap (producers × 64). */
  rate: number;
  producers: number;
  beforeMs: number;
  afterMs: number;
  sendTimeoutMs: number;
}

function slaveOf(cluster: EngineCluster): { pid: number; name: string } {
  const slave = cluster.nodes.find((n) => n.node.role === 'slave');
  if (!slave?.pid) throw new FlushbenchError('NO_SLAVE', 'the scenario needs a profile with a slave whose pid is known (async-sync)');
  return { pid: slave.pid, name: slave.node.name };
}

function loadOptions(cluster: EngineCluster, o: SlaveFaultOptions, topic: string): ScenarioLoadOptions {
  return { namesrvAddress: cluster.namesrvAddress, topic, queues: 8, producers: o.producers, rate: o.rate, sizeBytes: 128, sendTimeoutMs: o.sendTimeoutMs };
}

const sendOkShare = (events: SendEvent[]) => (events.length ? Math.round((1000 * events.filter((e) => e.status === 'SEND_OK').length) / events.length) / 1000 : 0);

export async function runSlaveStop(cluster: EngineCluster, o: SlaveFaultOptions & { stopMs: number }): Promise<SlaveStopResult> {
  const slave = slaveOf(cluster);
  const load = await startScenarioLoad(loadOptions(cluster, o, 'ScenarioSlaveStop'));
  let stoppedAt = 0;
  let continuedAt = 0;
  try {
    await sleep(o.beforeMs);
    stoppedAt = Date.now();
    signalProcess(slave.pid, 'SIGSTOP');
    await sleep(o.stopMs);
  } finally {
    continuedAt = Date.now();
    signalProcess(slave.pid, 'SIGCONT');
  }
  // The answers to sends made late in the stop arrive up to a deadline (+1 s check) after it.
  await sleep(Math.max(o.afterMs, o.sendTimeoutMs));
  await load.stop();
  const events = load.recorder.events;
  const during = events.filter((e) => e.sentAtMs >= stoppedAt && e.sentAtMs < continuedAt);
  const errors = during.filter((e) => e.status !== 'SEND_OK').map((e) => e.answeredAtMs - e.sentAtMs);
  const timeouts = events.filter((e) => e.status === 'FLUSH_SLAVE_TIMEOUT' && e.answeredAtMs >= stoppedAt).map((e) => e.answeredAtMs - stoppedAt);
  const firstOk = events.filter((e) => e.status === 'SEND_OK' && e.answeredAtMs >= continuedAt).reduce((min, e) => Math.min(min, e.answeredAtMs), Infinity);
  return {
    stoppedMs: continuedAt - stoppedAt,
    sendsDuringStop: during.length,
    statusesDuringStop: countStatuses(during, true),
    errorAnswerMs: distributionOf(errors),
    errorAnswerHistogram: histogramOf(errors, 250, 32),
    timeoutArrivalsPer100Ms: histogramOf(timeouts, 100, Math.ceil((continuedAt - stoppedAt + o.sendTimeoutMs + 2000) / 100)),
    firstSendOkAfterContMs: Number.isFinite(firstOk) ? firstOk - continuedAt : null,
    sendOkShareAfterCont: sendOkShare(events.filter((e) => e.sentAtMs >= continuedAt + 2000)),
  };
}

/** A pause longer than this between SEND_OK answers means acks stopped flowing (the load is ≥ 100 msgs/s). */
const FLOW_GAP_MS = 200;
/** Acks flow again once SEND_OKs come without such a pause for this long. */
const FLOW_RESUMED_MS = 1000;

/**
 * When SEND_OKs stopped after fromMs (the last one before the first pause > 200 ms) and when
 * they flowed again (the first of a run lasting ≥ 1 s with no such pause); null = not (yet).
 */
export function ackFlowAfter(events: readonly SendEvent[], fromMs: number, nowMs: number): { stallStartMs: number | null; recoveredAtMs: number | null } {
  const oks = events.filter((e) => e.status === 'SEND_OK' && e.answeredAtMs >= fromMs).map((e) => e.answeredAtMs).sort((a, b) => a - b);
  let previous = fromMs;
  let stallStartMs: number | null = null;
  let runStartMs: number | null = null;
  for (const at of oks) {
    if (at - previous > FLOW_GAP_MS) {
      stallStartMs ??= previous;
      runStartMs = at;
    }
    if (stallStartMs !== null && runStartMs !== null && at - runStartMs >= FLOW_RESUMED_MS) return { stallStartMs, recoveredAtMs: runStartMs };
    previous = at;
  }
  if (stallStartMs === null && nowMs - previous > FLOW_GAP_MS) stallStartMs = previous;
  return { stallStartMs, recoveredAtMs: null };
}

export async function runSlaveRestart(cluster: EngineCluster, o: SlaveFaultOptions & { recoverLimitMs: number; logDir: string }): Promise<SlaveRestartResult> {
  const slave = slaveOf(cluster);
  const command = captureCommand(slave.pid);
  const load = await startScenarioLoad(loadOptions(cluster, o, 'ScenarioSlaveRestart'));
  let restarted: ReturnType<typeof restartCommand> | null = null;
  try {
    await sleep(o.beforeMs);
    const killedAt = Date.now();
    signalProcess(slave.pid, 'SIGKILL');
    await waitForExit(slave.pid, 10_000);
    restarted = restartCommand(command, path.join(o.logDir, `${slave.name}-restarted.out`));
    const respawnedAt = Date.now();
    // Recovered = SEND_OKs flowing again for 1 s after the stall (bounded by recoverLimitMs).
    const deadline = killedAt + o.recoverLimitMs;
    let flow = ackFlowAfter(load.recorder.events, killedAt, Date.now());
    while (Date.now() < deadline && flow.recoveredAtMs === null) {
      await sleep(200);
      flow = ackFlowAfter(load.recorder.events, killedAt, Date.now());
    }
    await sleep(o.afterMs);
    await load.stop();
    const events = load.recorder.events;
    const recoveredAt = flow.recoveredAtMs;
    const stallStart = flow.stallStartMs ?? killedAt;
    const end = recoveredAt ?? Date.now();
    const until = events.filter((e) => e.answeredAtMs >= killedAt && e.answeredAtMs < end);
    const statuses = countStatuses(until, true);
    return {
      respawnAfterKillMs: respawnedAt - killedAt,
      stallMs: end - stallStart,
      recoveredAfterKillMs: recoveredAt === null ? null : recoveredAt - killedAt,
      errorsUntilRecovery: until.filter((e) => e.status !== 'SEND_OK').length,
      statusesUntilRecovery: statuses,
      sendOkShareAfterRecovery: recoveredAt === null ? 0 : sendOkShare(events.filter((e) => e.sentAtMs >= recoveredAt + 500)),
    };
  } finally {
    await load.stop().catch(() => {});
    if (restarted) await stopChild(restarted, 20_000);
  }
}
