// The safety half of a claim comes from `bench verify`, a separate command: a run report finds
// the newest verify.json beside it (reports/runs/*/verify.json) and quotes each claim's verdict,
// so every speed in the report stands next to what that setting loses. Verify runs with a test
// fault (FLUSHBENCH_TEST_FAULTS: a deliberately broken broker) are never evidence.
import fs from 'node:fs';
import path from 'node:path';

export interface SafetyEvidence {
  profile: string;
  engine: string;
  /** The claim's id in verify.json (loadgen/verify/claims.ts), e.g. "sync-flush-power-cut". */
  claimId: string;
  claim: string;
  verdict: string;
  detail: string;
  /** When that verify run started, its writeback mode, and its folder (relative to the runs folder). */
  startedAt: string;
  mode: string;
  source: string;
}

interface VerifyFile {
  profile?: unknown;
  engine?: unknown;
  mode?: unknown;
  startedAt?: unknown;
  testFaults?: unknown;
  claims?: unknown;
}

function readVerify(file: string): VerifyFile | null {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as VerifyFile) : null;
  } catch {
    return null; // a verify run still writing, or not ours: not evidence
  }
}

function evidenceOf(verify: VerifyFile, source: string): SafetyEvidence[] {
  if (typeof verify.profile !== 'string' || typeof verify.startedAt !== 'string' || !Array.isArray(verify.claims)) return [];
  if (verify.testFaults) return [];
  const out: SafetyEvidence[] = [];
  for (const item of verify.claims as unknown[]) {
    const c = item as Record<string, unknown>;
    if (typeof c?.id !== 'string' || typeof c.verdict !== 'string' || c.verdict === 'not tested') continue;
    out.push({
      profile: verify.profile, engine: typeof verify.engine === 'string' ? verify.engine : 'flushbench', claimId: c.id,
      claim: String(c.claim ?? c.id), verdict: c.verdict, detail: String(c.detail ?? ''),
      startedAt: verify.startedAt, mode: typeof verify.mode === 'string' ? verify.mode : '?', source,
    });
  }
  return out;
}

/**
 * The newest verdict per (engine, profile, claim) among `runsDir/<run>/verify.json`, newest
 * first; [] when the folder has none. Only `profiles` when given.
 */
export function collectSafetyEvidence(runsDir: string, profiles?: readonly string[]): SafetyEvidence[] {
  let runs: string[];
  try {
    runs = fs.readdirSync(runsDir);
  } catch {
    return [];
  }
  const newest = new Map<string, SafetyEvidence>();
  for (const run of runs) {
    const verify = readVerify(path.join(runsDir, run, 'verify.json'));
    if (!verify) continue;
    for (const evidence of evidenceOf(verify, run)) {
      if (profiles && !profiles.includes(evidence.profile)) continue;
      const key = `${evidence.engine}\u0000${evidence.profile}\u0000${evidence.claimId}`;
      const known = newest.get(key);
      if (!known || known.startedAt < evidence.startedAt) newest.set(key, evidence);
    }
  }
  return [...newest.values()].sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
}

/**
 * The evidence for one claim of one profile, if any verify run measured it: `engine`'s own
 * (our broker's unless told), else another engine's (labelled with it by describeEvidence), so a
 * newer Apache RocketMQ verdict never stands in for ours.
 */
export function findEvidence(evidence: readonly SafetyEvidence[] | undefined, profile: string, claimId: string, engine = 'flushbench'): SafetyEvidence | undefined {
  const matching = evidence?.filter((e) => e.profile === profile && e.claimId === claimId) ?? [];
  return matching.find((e) => e.engine === engine) ?? matching[0];
}

/** "50 power cuts, … (bench verify 2026-12-01, strict mode, flushbench: <run>/verify.md)": where a ledger verdict comes from. */
export function describeEvidence(e: SafetyEvidence): string {
  return `${e.detail} (bench verify ${e.startedAt.slice(0, 10)}, ${e.mode} mode, ${e.engine}: ${e.source}/verify.md)`;
}
