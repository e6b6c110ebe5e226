// Reads RocketMQ's benchmark Producer (org.apache.rocketmq.example.benchmark.Producer) from its
// stdout. It prints one line every 10 s, each covering the last 10 one-second snapshots:
//   4.3–4.7:  Send TPS: 22941 Max RT: 847 Average RT:   0.697 Send Failed: 0 Response Failed: 0
//   4.9.x:    Current Time: 1700000000000 Send TPS: 22941 Max RT(ms): 847 Average RT(ms):   0.697 Send Failed: 0 Response Failed: 0
// TPS and Average RT are over the window; Max RT is the maximum since the start; the failure
// counters are totals since the start. It has no percentiles.

export interface ProducerLine {
  /** When this process read the line (performance.now() ms): the end of the line's 10 s window. */
  atMs: number;
  tps: number;
  /** Largest send RT since the Producer started. */
  maxRtMs: number;
  /** Mean send RT over the line's window. */
  averageRtMs: number;
  /** Cumulative: RemotingException, MQClientException, InterruptedException. */
  sendFailed: number;
  /** Cumulative: MQBrokerException (an error response code; the thread then sleeps 3 s). */
  responseFailed: number;
}

/** The Producer's statistics window: lines are 10 s apart and each covers the 10 s before it. */
export const PRODUCER_LINE_WINDOW_MS = 10_000;

const LINE = /Send TPS:\s*(\d+)\s+Max RT(?:\(ms\))?:\s*(\d+)\s+Average RT(?:\(ms\))?:\s*([\d.]+|NaN|Infinity)\s+Send Failed:\s*(\d+)\s+Response Failed:\s*(\d+)/;

/** One periodic line, or null for anything else (the banner, the final "[Complete]" line, log noise). */
export function parseProducerLine(line: string, atMs: number): ProducerLine | null {
  if (line.includes('[Complete]')) return null;
  const match = LINE.exec(line);
  if (!match) return null;
  const averageRtMs = Number(match[3]);
  return {
    atMs, tps: Number(match[1]), maxRtMs: Number(match[2]),
    // A window without a success prints NaN (0/0 in Java).
    averageRtMs: Number.isFinite(averageRtMs) ? averageRtMs : 0,
    sendFailed: Number(match[4]), responseFailed: Number(match[5]),
  };
}

export interface ProducerWindowSummary {
  /** Mean of the lines' TPS whose whole 10 s window lies inside the measured window; null if none does. */
  tps: number | null;
  /** Success-weighted mean of those lines' Average RT. */
  averageRtMs: number | null;
  /** Max RT printed by the last line read up to the window's end (since the Producer started). */
  maxRtMs: number | null;
  /** Failures counted during the window: cumulative counters at its end minus at its start. */
  sendFailed: number;
  responseFailed: number;
  linesUsed: number;
}

/** The lines reached by `atMs` late-arrival slack: stdout is read a little after the Producer prints. */
const ARRIVAL_SLACK_MS = 1500;

/**
 * Folds the lines into the measured window [startMs, endMs]. A line counts when its 10 s window
 * (atMs − 10 s, atMs] falls inside it, give or take the slack of reading stdout.
 */
export function summarizeWindow(lines: readonly ProducerLine[], startMs: number, endMs: number): ProducerWindowSummary {
  const inside = lines.filter((l) => l.atMs - PRODUCER_LINE_WINDOW_MS >= startMs - ARRIVAL_SLACK_MS && l.atMs <= endMs + ARRIVAL_SLACK_MS);
  // Counters at the window's start: the line just before the first counted one (its window ends where that one's begins).
  const baselineBefore = inside.length ? inside[0].atMs : startMs + 1;
  const before = [...lines].reverse().find((l) => l.atMs < baselineBefore);
  const last = [...lines].reverse().find((l) => l.atMs <= endMs + ARRIVAL_SLACK_MS);
  const totalTps = inside.reduce((a, l) => a + l.tps, 0);
  return {
    tps: inside.length ? totalTps / inside.length : null,
    averageRtMs: inside.length && totalTps > 0 ? inside.reduce((a, l) => a + l.averageRtMs * l.tps, 0) / totalTps : null,
    maxRtMs: last ? last.maxRtMs : null,
    sendFailed: last ? last.sendFailed - (before?.sendFailed ?? 0) : 0,
    responseFailed: last ? last.responseFailed - (before?.responseFailed ?? 0) : 0,
    linesUsed: inside.length,
  };
}

/** The TPS of the line whose window covers the instant `atMs` (for the per-second time series), or null. */
export function tpsAt(lines: readonly ProducerLine[], atMs: number): number | null {
  const covering = lines.find((l) => l.atMs >= atMs && l.atMs - PRODUCER_LINE_WINDOW_MS < atMs);
  return covering ? covering.tps : null;
}
