// RocketMQ 4.9.7's disk-full guard (DefaultMessageStore's diskCheckScheduledExecutorService →
// CleanCommitLogService.isSpaceFull): 1 s after start and then every 10 s it measures the
// CommitLog's file system; above diskSpaceWarningLevelRatio (0.90) the store is marked disk
// full and every put is refused SERVICE_NOT_AVAILABLE until a later check finds it below
// again. The broker stops taking writes before the file system is full, so a client sees a
// clear refusal instead of a failed write.
import fs from 'node:fs';

/** -Drocketmq.broker.diskSpaceWarningLevelRatio's default. */
export const DISK_SPACE_WARNING_LEVEL_RATIO = 0.9;
const FIRST_CHECK_MS = 1000;
const CHECK_INTERVAL_MS = 10_000;

/** The statfs fields the ratio needs (block counts and block size). */
export interface SpaceStats {
  blocks: number | bigint;
  bfree: number | bigint;
  bavail: number | bigint;
  bsize: number | bigint;
}

/**
 * UtilAll.getDiskPartitionSpaceUsedPercent: used (total − free) over used + usable, so blocks
 * reserved for root count as neither, rounded up to a whole percent; −1 when the path is
 * missing or the file system reports no size.
 */
export function diskUsedRatio(stats: SpaceStats | null): number {
  if (stats === null) return -1;
  const blockSize = BigInt(stats.bsize);
  const total = BigInt(stats.blocks) * blockSize;
  if (total <= 0n) return -1;
  const used = total - BigInt(stats.bfree) * blockSize;
  const entire = used + BigInt(stats.bavail) * blockSize;
  if (entire <= 0n) return -1;
  const percent = (used * 100n) / entire + ((used * 100n) % entire !== 0n ? 1n : 0n);
  return Number(percent) / 100;
}

export function statfsOrNull(dir: string): SpaceStats | null {
  try {
    return fs.statfsSync(dir);
  } catch {
    return null;
  }
}

export interface DiskSpaceGuardOptions {
  /** The file system stats of a directory (tests give their own). */
  stats?: (dir: string) => SpaceStats | null;
  warningLevelRatio?: number;
  firstCheckMs?: number;
  checkIntervalMs?: number;
  /** Told when the flag changes (the store logs it). */
  onChange?: (full: boolean, usedRatio: number) => void;
}

export class DiskSpaceGuard {
  private fullFlag = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly stats: (dir: string) => SpaceStats | null;
  private readonly warningLevelRatio: number;

  constructor(private readonly commitLogDir: string, private readonly options: DiskSpaceGuardOptions = {}) {
    this.stats = options.stats ?? statfsOrNull;
    this.warningLevelRatio = options.warningLevelRatio ?? DISK_SPACE_WARNING_LEVEL_RATIO;
  }

  /** RunningFlags' DISK_FULL_BIT: puts are refused while it is set. */
  get full(): boolean {
    return this.fullFlag;
  }

  /** The used ratio of a directory's file system (−1 if unknown). */
  usedRatio(dir: string): number {
    return diskUsedRatio(this.stats(dir));
  }

  /** SendMessageProcessor.diskUtil's figures: "CL:  0.91 CQ:  0.91 INDEX: -1.00" (Java's %5.2f). */
  describe(consumeQueueDir: string, indexDir: string): string {
    const shown = (dir: string) => this.usedRatio(dir).toFixed(2).padStart(5);
    return `CL: ${shown(this.commitLogDir)} CQ: ${shown(consumeQueueDir)} INDEX: ${shown(indexDir)}`;
  }

  /** One isSpaceFull check: sets or clears the flag; returns it. */
  check(): boolean {
    const ratio = this.usedRatio(this.commitLogDir);
    const full = ratio > this.warningLevelRatio;
    if (full !== this.fullFlag) {
      this.fullFlag = full;
      this.options.onChange?.(full, ratio);
    }
    return full;
  }

  start(): void {
    if (this.timer) return;
    const every = this.options.checkIntervalMs ?? CHECK_INTERVAL_MS;
    this.timer = setTimeout(() => {
      this.check();
      this.timer = setInterval(() => this.check(), every);
      this.timer.unref();
    }, this.options.firstCheckMs ?? FIRST_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer); // clears an interval too
    this.timer = null;
  }
}
