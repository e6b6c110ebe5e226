// summary.json: the machine-readable result of a run (versioned), and its validator, which
// `bench compare` uses to reject anything that is not a flushbench report.
import { type RunData, SUMMARY_SCHEMA_VERSION } from './runData.js';
import type { SafetyEvidence } from './safetyEvidence.js';

export interface SummaryResult {
  profile: string;
  variant: string | null;
  /** `flushbench`, `rocketmq-<version>` or `remote`; summaries written before engines existed lack it (= flushbench). */
  engine?: string;
  description: string;
  claim: RunData['results'][number]['claim'];
  load: RunData['results'][number]['load'];
  tps: RunData['results'][number]['tps'];
  latencyMs: RunData['results'][number]['latencyMs'];
  sent: number;
  ok: number;
  statusCounts: Record<string, number>;
  verdict: 'below' | 'within' | 'above' | null;
  verdictConfidence: string;
  harnessCeilingTps: number | null;
  boundBy: 'broker' | 'harness' | 'unknown';
  runs: Array<Omit<RunData['results'][number]['runs'][number], 'histogram'>>;
  effectiveSettings: Record<string, Record<string, string>>;
  notes: string[];
  /** CPU µs per acknowledged message per process and the host's steal; null when not measured. */
  cpu: RunData['results'][number]['cpu'];
}

export interface Summary {
  schemaVersion: number;
  tool: RunData['tool'];
  command: string;
  startedAt: string;
  finishedAt: string;
  host: RunData['host'];
  results: SummaryResult[];
  /** Safety verdicts of earlier `bench verify` runs found beside this report (safetyEvidence.ts). */
  safety?: SafetyEvidence[];
}

/**
 * A profile is harness-bound when it reached 80 % of what the harness can do without a store.
 * Otherwise the broker's durability work sets the pace: fsync waits and replication round
 * trips for SYNC modes, mostly broker CPU for ASYNC ones (hence "broker", not "disk").
 */
export function boundBy(tpsMean: number, ceiling: number | null): SummaryResult['boundBy'] {
  if (!ceiling) return 'unknown';
  return tpsMean >= 0.8 * ceiling ? 'harness' : 'broker';
}

export function summaryFromRunData(data: RunData): Summary {
  return {
    schemaVersion: SUMMARY_SCHEMA_VERSION,
    tool: data.tool,
    command: data.command,
    startedAt: data.startedAt,
    finishedAt: data.finishedAt,
    host: data.host,
    results: data.results.map((r) => ({
      profile: r.profile, variant: r.variant, engine: r.engine, description: r.description, claim: r.claim, load: r.load, tps: r.tps, latencyMs: r.latencyMs,
      sent: r.sent, ok: r.ok, statusCounts: r.statusCounts, verdict: r.verdict, verdictConfidence: r.verdictConfidence,
      harnessCeilingTps: r.harnessCeilingTps, boundBy: boundBy(r.tps.mean, r.harnessCeilingTps),
      runs: r.runs.map(({ histogram: _histogram, ...run }) => run), effectiveSettings: r.effectiveSettings, notes: r.notes, cpu: r.cpu,
    })),
  };
}

function expect(condition: boolean, where: string, what: string): asserts condition {
  if (!condition) throw new Error(`not a flushbench summary: ${where} ${what}`);
}

/** Checks the parts other tools rely on; the error names the first bad JSON path. */
export function validateSummary(value: unknown): Summary {
  expect(typeof value === 'object' && value !== null, '$', 'is not an object');
  const s = value as Record<string, unknown>;
  expect(s.schemaVersion === SUMMARY_SCHEMA_VERSION, '$.schemaVersion', `must be ${SUMMARY_SCHEMA_VERSION}, got ${JSON.stringify(s.schemaVersion)}`);
  expect(typeof s.host === 'object' && s.host !== null, '$.host', 'is missing');
  expect(Array.isArray(s.results), '$.results', 'is not an array');
  (s.results as unknown[]).forEach((item, i) => {
    const where = `$.results[${i}]`;
    expect(typeof item === 'object' && item !== null, where, 'is not an object');
    const r = item as Record<string, unknown>;
    expect(typeof r.profile === 'string', `${where}.profile`, 'is not a string');
    const tps = r.tps as Record<string, unknown> | undefined;
    expect(typeof tps?.mean === 'number', `${where}.tps.mean`, 'is not a number');
    expect(typeof tps?.p50PerSecond === 'number', `${where}.tps.p50PerSecond`, 'is not a number');
    const latency = r.latencyMs as Record<string, unknown> | undefined;
    for (const key of ['p50', 'p90', 'p99', 'p999', 'max']) expect(typeof latency?.[key] === 'number', `${where}.latencyMs.${key}`, 'is not a number');
    expect(typeof r.sent === 'number' && typeof r.ok === 'number', `${where}.sent/ok`, 'are not numbers');
    expect(typeof r.statusCounts === 'object' && r.statusCounts !== null, `${where}.statusCounts`, 'is missing');
    expect(r.verdict === null || r.verdict === 'below' || r.verdict === 'within' || r.verdict === 'above', `${where}.verdict`, 'is not below/within/above/null');
    expect(Array.isArray(r.runs), `${where}.runs`, 'is not an array');
  });
  return value as Summary;
}
