// Verdict for a claim from the runs' TPS; delegates to reports/verdict.ts when present.
import type { Claim, Verdict } from '../reports/runData.js';

export function verdictOf(claim: Claim, runsTps: number[]): { verdict: Verdict | null; confidence: string } {
  if (claim.tpsMin === null || claim.tpsMax === null || runsTps.length === 0) return { verdict: null, confidence: 'no claimed range' };
  const mean = runsTps.reduce((a, b) => a + b, 0) / runsTps.length;
  const side = (tps: number): Verdict => (tps < (claim.tpsMin as number) ? 'below' : tps > (claim.tpsMax as number) ? 'above' : 'within');
  const verdict = side(mean);
  const agreeing = runsTps.filter((t) => side(t) === verdict).length;
  const confidence = runsTps.length === 1 ? '1 run: repeat with --repeat 3 for confidence' : `${agreeing} of ${runsTps.length} runs ${verdict}`;
  return { verdict, confidence };
}
