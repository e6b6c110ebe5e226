// Records every send acknowledgement: status counts, an HdrHistogram of latency (µs) for the
// whole measured window, and one histogram per second for the time series. Acks that arrive
// during warm-up are counted separately and left out of the results.
import { newLatencyHistogram } from '../reports/histogram.js';

/** Send outcomes as RocketMQ's Java client names them, plus transport failures. */
export type AckStatus =
  | 'SEND_OK' | 'FLUSH_DISK_TIMEOUT' | 'FLUSH_SLAVE_TIMEOUT' | 'SLAVE_NOT_AVAILABLE'
  | 'SYSTEM_BUSY' | 'OS_PAGECACHE_BUSY' | 'SYSTEM_ERROR' | 'SERVICE_NOT_AVAILABLE' | 'MESSAGE_ILLEGAL' | 'TOPIC_NOT_EXIST' | 'OTHER_RESPONSE'
  | 'TIMEOUT' | 'CONNECTION_ERROR';

/** RocketMQ's benchmark counts these as success (SendResult with a status), the rest as failures. */
export const SUCCESS_STATUSES: ReadonlySet<AckStatus> = new Set(['SEND_OK', 'FLUSH_DISK_TIMEOUT', 'FLUSH_SLAVE_TIMEOUT', 'SLAVE_NOT_AVAILABLE']);

/** RocketMQ answers a put that found the page cache busy as SYSTEM_ERROR (1) with this remark prefix (SendMessageProcessor). */
export const PC_SYNCHRONIZED_PREFIX = '[PC_SYNCHRONIZED]';

/** The remark prefixes of SYSTEM_BUSY: which load shedding answered (BrokerFastFailure, SendMessageProcessor). */
export const SYSTEM_BUSY_REASONS = ['[REJECTREQUEST]', '[OVERLOAD]', '[PCBUSY_CLEAN_QUEUE]', '[TIMEOUT_CLEAN_QUEUE]'] as const;

/** The leading `[WORD]` of a remark, or 'unknown' (a SYSTEM_BUSY without a recognised prefix). */
export function busyReason(remark: string | undefined): string {
  const match = remark ? /^\[[A-Z_]+\]/.exec(remark) : null;
  return match ? match[0] : 'unknown';
}

/** The status of a response; the remark (decoded for non-success codes only) splits SYSTEM_ERROR from OS_PAGECACHE_BUSY. */
export function ackStatusForCode(code: number, remark?: string): AckStatus {
  switch (code) {
    case 0: return 'SEND_OK';
    case 10: return 'FLUSH_DISK_TIMEOUT';
    case 12: return 'FLUSH_SLAVE_TIMEOUT';
    case 11: return 'SLAVE_NOT_AVAILABLE';
    case 2: return 'SYSTEM_BUSY';
    case 1: return remark?.startsWith(PC_SYNCHRONIZED_PREFIX) ? 'OS_PAGECACHE_BUSY' : 'SYSTEM_ERROR';
    case 14: return 'SERVICE_NOT_AVAILABLE';
    case 13: return 'MESSAGE_ILLEGAL';
    case 17: return 'TOPIC_NOT_EXIST';
    default: return 'OTHER_RESPONSE';
  }
}

export interface SecondSample {
  /** Seconds since the measured window began (1 = the first full second). */
  second: number;
  acks: number;
  /** Acks that count as sent (SEND_OK + the flush/slave statuses). */
  ok: number;
  sendOk: number;
  failures: number;
  latencyMsP50: number;
  latencyMsP99: number;
  latencyMsMax: number;
  latencyMsMean: number;
}

export class AckRecorder {
  readonly histogram = newLatencyHistogram();
  readonly statusCounts: Partial<Record<AckStatus, number>> = {};
  /** SYSTEM_BUSY answers by remark prefix ([REJECTREQUEST], [OVERLOAD], …); they also count in statusCounts.SYSTEM_BUSY. */
  readonly busyReasons: Record<string, number> = {};
  readonly seconds: SecondSample[] = [];
  warmupAcks = 0;
  sent = 0;
  private measuring = false;
  private measureStartMs = 0;
  private measureEndMs = 0;
  private current = newLatencyHistogram();
  private currentOk = 0;
  private currentSendOk = 0;
  private currentFailures = 0;

  startMeasuring(nowMs = performance.now()): void {
    this.measuring = true;
    this.measureStartMs = nowMs;
    this.current.reset();
  }

  get isMeasuring(): boolean {
    return this.measuring;
  }

  /** Records one ack; latencyUs is from the intended send time (open loop) or the actual one; remark only matters for SYSTEM_BUSY. */
  record(status: AckStatus, latencyUs: number, remark?: string): void {
    if (!this.measuring) {
      this.warmupAcks++;
      return;
    }
    const value = Math.max(1, Math.round(latencyUs));
    this.statusCounts[status] = (this.statusCounts[status] ?? 0) + 1;
    if (status === 'SYSTEM_BUSY') {
      const reason = busyReason(remark);
      this.busyReasons[reason] = (this.busyReasons[reason] ?? 0) + 1;
    }
    if (SUCCESS_STATUSES.has(status)) {
      this.histogram.recordValue(value);
      this.current.recordValue(value);
      this.currentOk++;
      if (status === 'SEND_OK') this.currentSendOk++;
    } else {
      this.currentFailures++;
    }
  }

  /** Closes the current one-second bucket (called by a 1 s timer while measuring). */
  closeSecond(): SecondSample {
    const h = this.current;
    const sample: SecondSample = {
      second: this.seconds.length + 1,
      acks: this.currentOk + this.currentFailures,
      ok: this.currentOk,
      sendOk: this.currentSendOk,
      failures: this.currentFailures,
      latencyMsP50: h.totalCount ? h.getValueAtPercentile(50) / 1000 : 0,
      latencyMsP99: h.totalCount ? h.getValueAtPercentile(99) / 1000 : 0,
      latencyMsMax: h.totalCount ? h.maxValue / 1000 : 0,
      latencyMsMean: h.totalCount ? h.mean / 1000 : 0,
    };
    this.seconds.push(sample);
    h.reset();
    this.currentOk = this.currentSendOk = this.currentFailures = 0;
    return sample;
  }

  stopMeasuring(nowMs = performance.now()): void {
    this.measuring = false;
    this.measureEndMs = nowMs;
  }

  get measuredSeconds(): number {
    const end = this.measuring ? performance.now() : this.measureEndMs;
    return Math.max(0.001, (end - this.measureStartMs) / 1000);
  }

  get okCount(): number {
    let ok = 0;
    for (const status of SUCCESS_STATUSES) ok += this.statusCounts[status] ?? 0;
    return ok;
  }

  get failureCount(): number {
    let total = 0;
    for (const [status, count] of Object.entries(this.statusCounts)) if (!SUCCESS_STATUSES.has(status as AckStatus)) total += count ?? 0;
    return total;
  }
}
