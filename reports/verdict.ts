// Verdict for a claim: where the mean TPS of the runs falls against the claimed range, and how
// sure we are (all runs on the same side, their spread).
import type { Claim, Verdict } from './runData.js';

export function verdictOf(claim: Claim, runsTps: number[]): { verdict: Verdict | null; confidence: string } {
  if (claim.tpsMin === null || claim.tpsMax === null || runsTps.length === 0) return { verdict: null, confidence: 'no claimed range' };
  const min = claim.tpsMin;
  const max = claim.tpsMax;
  const side = (tps: number): Verdict => (tps < min ? 'below' : tps > max ? 'above' : 'within');
  const mean = runsTps.reduce((a, b) => a + b, 0) / runsTps.length;
  const verdict = side(mean);
  if (runsTps.length === 1) return { verdict, confidence: '1 run: repeat with --repeat 3 for confidence' };
  const agreeing = runsTps.filter((t) => side(t) === verdict).length;
  const spread = mean > 0 ? ((Math.max(...runsTps) - Math.min(...runsTps)) / 2 / mean) * 100 : 0;
  const text = `${agreeing} of ${runsTps.length} runs ${verdict}; spread ±${spread.toFixed(1)} %`;
  return { verdict, confidence: agreeing === runsTps.length ? text : `low confidence: runs straddle the range (${text})` };
}
