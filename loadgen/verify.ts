// `bench verify`: the safety half of every claim. Each fault runs N crash cycles against real
// broker processes (loadgen/verify/crashCycle.ts), power cuts copy the loop image of the store
// (loadgen/disk), and every acked message is read back and checked. The result is verify.json
// (per fault and in total) plus a verdict per safety claim (loadgen/verify/claims.ts).
import fs from 'node:fs';
import path from 'node:path';
import { errorMessage, FlushbenchError } from '../protocol/errors.js';
import { loopSupportMissing } from './disk/diskCommands.js';
import { cleanupLeftovers, defaultDiskStateDir, DiskRegistry } from './disk/diskRegistry.js';
import { provePowerCutDropsUnsynced, type PowerCutTrialResult } from './disk/powerCutProof.js';
import { acquireStrictWriteback, STRICT_MOUNT_OPTIONS, type StrictWriteback } from './disk/writebackControl.js';
import type { Profile } from './profile.js';
import { type ClaimVerdict, judgeClaims, profileShape } from './verify/claims.js';
import { type CrashFault, type CycleContext, type CycleResult, POWER_CUT_FAULTS, runCrashCycle } from './verify/crashCycle.js';
import { makeTemplateImage } from './verify/disks.js';
import { runDLedgerSeries } from './verify/dledgerSeries.js';
import { rocketmqDriver } from './verify/rocketmqNodes.js';
import { fetchRocketmq, javaMajorVersion } from './rocketmq/fetch.js';
import { type DiskFullResult, type PartitionResult, runDiskFull, runPartition } from './verify/extraFaults.js';
import { type CountsSummary, type FaultSummary, summarizeFault, totalOf } from './verify/summary.js';

export const VERIFY_FAULTS = ['kill', 'powercut', 'slave-kill', 'slave-powercut', 'both-powercut', 'partition', 'disk-full'] as const;
export type VerifyFault = (typeof VERIFY_FAULTS)[number];

export const VERIFY_ENGINES = ['flushbench', 'rocketmq'] as const;
export type VerifyEngine = (typeof VERIFY_ENGINES)[number];

export interface VerifyOptions {
  profile: Profile;
  /** Whose brokers crash: ours (default) or Apache RocketMQ 4.9.7 JVMs (fetched jars, java on PATH). */
  engine?: VerifyEngine;
  /** `--set key=value` broker keys for every node. */
  overrides: Record<string, string>;
  /** Empty: every fault that applies to the profile. */
  faults: VerifyFault[];
  crashes: number;
  loadS: number;
  /** Where stores and loop images live: the disk under test, never tmpfs. */
  storeDir: string;
  /** Strict (default): no background writeback during power cuts; realistic: the host as it is. */
  strict: boolean;
  imageSizeMiB?: number;
  /** Environment for every broker (tests: FLUSHBENCH_TEST_FAULTS). */
  brokerEnv?: NodeJS.ProcessEnv;
  /** Loop-disk state files; defaultDiskStateDir() unless given. */
  stateDir?: string;
  /** Why loop-device power cuts cannot run here, or null (loopSupportMissing unless a test gives one). */
  checkLoopSupport?: () => string | null;
  /** Broker logs of every cycle; inside the (removed) work directory unless given. */
  logDir?: string;
  onProgress?: (line: string) => void;
}

export interface VerifyReport {
  profile: string;
  engine: VerifyEngine;
  mode: 'strict' | 'realistic';
  startedAt: string;
  loadS: number;
  crashesPerFault: number;
  /** FLUSHBENCH_TEST_FAULTS the brokers ran with (a deliberately broken broker), or null. */
  testFaults: string | null;
  powerCutProof: PowerCutTrialResult | null;
  faults: Record<string, FaultSummary>;
  total: CountsSummary & { crashes: number };
  skipped: Array<{ fault: string; reason: string }>;
  partition: PartitionResult | null;
  diskFull: DiskFullResult | null;
  claims: ClaimVerdict[];
  cycles: CycleResult[];
  /** Wall time of the whole run (self-check, every cycle), seconds. */
  wallS: number;
}

/** The faults that make sense for a profile: slave faults need a slave, partition needs SYNC_MASTER. */
export function applicableFaults(profile: Profile, overrides: Record<string, string>, engine: VerifyEngine = 'flushbench'): VerifyFault[] {
  const shape = profileShape(profile.nodes, overrides);
  // Apache RocketMQ: the crash faults; partition and disk-full need our broker's test hooks and metrics.
  if (engine === 'rocketmq') return shape.dledger ? [] : applicableFaults(profile, overrides).filter((f) => f !== 'partition' && f !== 'disk-full');
  // DLedger: the leader is the fault's target (a majority survives); slave and partition faults are master/slave ideas.
  if (shape.dledger) return ['kill', 'powercut'];
  return VERIFY_FAULTS.filter((fault) => {
    if (fault === 'partition') return shape.hasSlave && shape.masterRole === 'SYNC_MASTER';
    if (fault.startsWith('slave') || fault === 'both-powercut') return shape.hasSlave;
    return true;
  });
}

export async function runVerify(options: VerifyOptions): Promise<VerifyReport> {
  const progress = options.onProgress ?? (() => {});
  const engine = options.engine ?? 'flushbench';
  const startedMs = Date.now();
  const applicable = applicableFaults(options.profile, options.overrides, engine);
  if (applicable.length === 0) throw new FlushbenchError('VERIFY_FAULT_NOT_APPLICABLE', `--engine ${engine} has no verify faults for profile ${options.profile.name} (DLedger profiles verify our engine only)`);
  const requested = options.faults.length > 0 ? options.faults : applicable;
  for (const fault of requested) {
    if (!applicable.includes(fault)) throw new FlushbenchError('VERIFY_FAULT_NOT_APPLICABLE', `--fault ${fault} does not apply to profile ${options.profile.name} on ${engine} (applicable: ${applicable.join(', ')})`);
  }
  const skipped: VerifyReport['skipped'] = [];
  const loopMissing = requested.some((f) => POWER_CUT_FAULTS.has(f)) ? (options.checkLoopSupport ?? loopSupportMissing)() : null;
  const faults = requested.filter((fault) => {
    if (!POWER_CUT_FAULTS.has(fault) || !loopMissing) return true;
    skipped.push({ fault, reason: loopMissing });
    return false;
  });
  fs.mkdirSync(options.storeDir, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(path.resolve(options.storeDir), 'verify-'));
  // Ctrl-C/SIGTERM end the process (childProcesses stops the brokers, then exits) before the
  // finally below runs: remove the work directory at exit too. Re-armed after the disk
  // registry's hook, so loop images are unmounted before their mount points are removed.
  const removeWorkDir = (): void => fs.rmSync(workDir, { recursive: true, force: true });
  const armWorkDirRemoval = (): void => {
    process.off('exit', removeWorkDir);
    process.on('exit', removeWorkDir);
  };
  armWorkDirRemoval();
  const stateDir = options.stateDir ?? defaultDiskStateDir();
  const needsDisks = faults.some((f) => POWER_CUT_FAULTS.has(f));
  let registry: DiskRegistry | null = null;
  let disarm: (() => void) | null = null;
  let strict: StrictWriteback | null = null;
  const report: VerifyReport = {
    profile: options.profile.name, engine, mode: options.strict ? 'strict' : 'realistic', startedAt: new Date().toISOString(),
    loadS: options.loadS, crashesPerFault: options.crashes, testFaults: options.brokerEnv?.FLUSHBENCH_TEST_FAULTS ?? process.env.FLUSHBENCH_TEST_FAULTS ?? null,
    powerCutProof: null, faults: {}, total: totalOf([], []), skipped, partition: null, diskFull: null, claims: [], cycles: [], wallS: 0,
  };
  try {
    const driver = engine === 'rocketmq' ? rocketmqDriver({ lib: fetchRocketmq({ onProgress: progress }), javaMajor: javaMajorVersion() }) : undefined;
    let disks: CycleContext['disks'] = null;
    if (needsDisks) {
      cleanupLeftovers(stateDir);
      registry = new DiskRegistry(stateDir);
      disarm = registry.armSignals();
      armWorkDirRemoval();
      progress(`power-cut self-check (${options.strict ? 'strict' : 'realistic'})…`);
      report.powerCutProof = await provePowerCutDropsUnsynced({ dir: workDir, strict: options.strict, stateDir });
      if (!report.powerCutProof.keepsSynced || (options.strict && !report.powerCutProof.dropsUnsynced)) {
        throw new FlushbenchError('VERIFY_POWER_CUT_UNTRUSTED', `the power-cut self-check failed on this host (${JSON.stringify(report.powerCutProof)}): power-cut results would mean nothing`);
      }
      if (options.strict) strict = await acquireStrictWriteback({});
      const template = path.join(workDir, 'template.img');
      await makeTemplateImage(template, options.imageSizeMiB ?? 512);
      disks = { registry, template, mountOptions: options.strict ? STRICT_MOUNT_OPTIONS : [] };
    }
    const load = options.profile.load;
    const ctx: CycleContext = {
      runId: Date.now().toString(36), nodes: options.profile.nodes, overrides: options.overrides, topic: 'FlushbenchVerify', queues: load.queues,
      producers: Math.min(load.producers, 64), sizeBytes: load.sizeBytes, loadMs: options.loadS * 1000, sendTimeoutMs: 10_000, workDir, logRoot: options.logDir ?? path.join(workDir, 'logs'), disks, brokerEnv: options.brokerEnv, driver,
    };
    const dledger = profileShape(options.profile.nodes, options.overrides).dledger;
    for (const fault of faults) {
      if (dledger && (fault === 'kill' || fault === 'powercut')) {
        report.faults[fault] = await runDLedgerSeries(ctx, fault, options.crashes, progress);
        const f = report.faults[fault];
        progress(`dledger ${fault}: ${f.crashes} leader crashes, acked ${f.acked}, lost ${f.ackedLost}, dup ${f.duplicates}, corrupt ${f.corrupt}, gaps ${f.queueGaps}${f.errors.length ? `; ${f.errors[0].split('\n')[0]}` : ''}`);
        continue;
      }
      if (fault === 'partition') {
        report.partition = await runPartition(ctx);
        progress(`partition: ${report.partition.verdict} — ${report.partition.detail}`);
        continue;
      }
      if (fault === 'disk-full') {
        report.diskFull = await runDiskFull(ctx);
        progress(`disk-full: ${report.diskFull.verdict} — ${report.diskFull.detail}`);
        continue;
      }
      const cycles: CycleResult[] = [];
      const errors: string[] = [];
      for (let cycle = 1; cycle <= options.crashes; cycle++) {
        try {
          const result = await runCrashCycle(ctx, fault as CrashFault, cycle);
          cycles.push(result);
          const c = result.counts;
          progress(`${fault} ${cycle}/${options.crashes}: acked ${c.acked}, lost ${c.ackedLost}${c.lostWindowMs !== null ? ` (window ${c.lostWindowMs} ms)` : ''}, dup ${c.duplicates}, corrupt ${c.corrupt}, gaps ${c.queueGaps}${result.slave ? `; slave lost ${result.slave.ackedLost}` : ''}`);
        } catch (error) {
          errors.push(`cycle ${cycle}: ${errorMessage(error)}`);
          progress(`${fault} ${cycle}/${options.crashes}: FAILED ${errorMessage(error).split('\n')[0]}`);
        }
      }
      report.cycles.push(...cycles);
      report.faults[fault] = summarizeFault(cycles, errors);
    }
    const summaries = Object.values(report.faults);
    report.total = totalOf(summaries, summaries.map((f) => f.crashes));
    report.claims = judgeClaims(profileShape(options.profile.nodes, options.overrides), report.faults);
    if (report.partition) {
      report.claims.push({ id: 'sync-master-partition', claim: 'SYNC_MASTER with its slave stopped: sends are answered FLUSH_SLAVE_TIMEOUT / SLAVE_NOT_AVAILABLE within the deadline plus slack, never hang, and the slave catches up', verdict: report.partition.verdict, detail: report.partition.detail });
    }
    if (report.diskFull) {
      report.claims.push({ id: 'disk-full', claim: 'A full disk: clear error answers, nothing stored corrupt, sends taken again once space is freed', verdict: report.diskFull.verdict, detail: report.diskFull.detail });
    }
    report.wallS = Math.round((Date.now() - startedMs) / 100) / 10;
    return report;
  } finally {
    strict?.restore();
    if (registry) {
      const cleanup = registry.cleanup();
      if (cleanup.failed.length > 0) progress(`could not release: ${cleanup.failed.join('; ')}`);
    }
    disarm?.();
    process.off('exit', removeWorkDir);
    removeWorkDir();
  }
}
