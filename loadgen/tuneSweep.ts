// `bench tune sweep`: runs a profile at every combination of vm settings (A B C A B C … so
// host drift falls on all of them), always puts the originals back — at the end, on Ctrl-C
// (exit hook), and after a crash (state file restored at the next start) — and judges the
// seed's advice against the run spread. The runner is injected: tests need no real profile.
import fs from 'node:fs';
import { FlushbenchError } from '../protocol/errors.js';
import { type HostStateSpec, leftoverHostStateNotice, restoreHostState, saveHostState } from './hostState.js';
import { PROC_SYS, readSettings, SEED_ADVICE, writeSettings } from './vmTuning.js';

export const SWEEP_STATE_FILE = '.flushbench-sweep-state.json';

export const SWEEP_STATE: HostStateSpec = {
  owner: 'bench tune sweep',
  allowedKeys: Object.keys(SEED_ADVICE),
  isValidValue: (value) => /^\d{1,9}$/.test(value),
  valueDescription: 'a non-negative integer',
};

export interface SweepParam {
  key: string;
  values: string[];
}

/** "vm.dirty_ratio=10,20,40" → { key, values }; only the seed's sysctls can be swept. */
export function parseSweepParam(text: string): SweepParam {
  const match = /^([\w.]+)=([\d,]+)$/.exec(text.trim());
  const values = match ? match[2].split(',').filter(Boolean) : [];
  if (!match || values.length === 0) throw new FlushbenchError('BAD_SWEEP_PARAM', `--param ${JSON.stringify(text)}: write key=v1,v2,… (e.g. vm.dirty_ratio=10,20,40)`);
  if (!SWEEP_STATE.allowedKeys.includes(match[1])) throw new FlushbenchError('BAD_SWEEP_PARAM', `--param ${match[1]}: only ${SWEEP_STATE.allowedKeys.join(', ')} can be swept`);
  return { key: match[1], values: [...new Set(values)] };
}

/** Every combination, first parameter slowest. */
export function combinations(params: readonly SweepParam[]): Array<Record<string, string>> {
  let out: Array<Record<string, string>> = [{}];
  for (const p of params) out = out.flatMap((combo) => p.values.map((v) => ({ ...combo, [p.key]: v })));
  return out;
}

export interface SweepMeasurement {
  tps: number;
  latencyMsP50: number;
  latencyMsP99: number;
  /** The run's report directory, if it wrote one. */
  reportDir?: string | null;
}

export type SweepRunner = (settings: Record<string, string>, label: string) => Promise<SweepMeasurement>;

export interface SweepPoint {
  settings: Record<string, string>;
  label: string;
  runs: SweepMeasurement[];
  tpsMean: number;
  p99MsMean: number;
  p50MsMean: number;
  /** (max − min) / mean of the runs' TPS, in %; null with one run. */
  tpsSpreadPercent: number | null;
}

export interface SweepResult {
  params: SweepParam[];
  original: Record<string, string>;
  points: SweepPoint[];
  verdict: string;
  /** What was restored from a crashed earlier sweep at the start, if anything. */
  recovered: Record<string, string> | null;
}

export interface SweepOptions {
  params: SweepParam[];
  repeat: number;
  runner: SweepRunner;
  stateFile: string;
  procSys?: string;
  progress?: (line: string) => void;
}

/** Below this TPS difference a single-run sweep calls it noise (shared hosts move more than this run to run). */
export const NOISE_FLOOR_PERCENT = 10;

export const labelOf = (settings: Record<string, string>): string => Object.entries(settings).map(([k, v]) => `${k.replace(/^vm\./, '')}=${v}`).join(' ');

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** Puts back what a crashed sweep saved; null when there was nothing. */
export function recoverSweep(stateFile: string, procSys = PROC_SYS): Record<string, string> | null {
  return restoreHostState(stateFile, SWEEP_STATE, (values) => writeSettings(values, procSys))?.values ?? null;
}

export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const procSys = options.procSys ?? PROC_SYS;
  const say = options.progress ?? (() => {});
  if (options.params.length === 0) throw new FlushbenchError('BAD_SWEEP_PARAM', 'give at least one --param');
  const notice = leftoverHostStateNotice(options.stateFile, SWEEP_STATE);
  if (notice) say(`${notice} Restoring them first.`);
  const recovered = recoverSweep(options.stateFile, procSys);
  const keys = options.params.map((p) => p.key);
  const current = readSettings(keys, procSys);
  const missing = keys.filter((k) => current[k] === null);
  if (missing.length) throw new FlushbenchError('TUNE_FAILED', `cannot read ${missing.join(', ')} under ${procSys}; nothing was changed`);
  const original = current as Record<string, string>;
  saveHostState(options.stateFile, original, SWEEP_STATE);
  // Ctrl-C: childProcesses stops the brokers and exits; this hook then writes the originals back.
  const onExit = () => {
    try {
      recoverSweep(options.stateFile, procSys);
    } catch (error) {
      process.stderr.write(`bench tune sweep: could not restore ${keys.join(', ')} (${(error as Error).message}); run \`bench tune sweep --restore\`\n`);
    }
  };
  // Ctrl-C before any broker runs: nobody else listens, so restore and exit here.
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return;
    onExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const combos = combinations(options.params);
  const points: SweepPoint[] = combos.map((settings) => ({ settings, label: labelOf(settings), runs: [], tpsMean: 0, p99MsMean: 0, p50MsMean: 0, tpsSpreadPercent: null }));
  try {
    for (let round = 1; round <= options.repeat; round++) {
      for (const point of points) {
        say(`sweep round ${round}/${options.repeat}: ${point.label}`);
        writeSettings(point.settings, procSys);
        point.runs.push(await options.runner(point.settings, `${point.label} run ${round}`));
      }
    }
  } finally {
    writeSettings(original, procSys);
    fs.rmSync(options.stateFile, { force: true });
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  for (const point of points) {
    const tps = point.runs.map((r) => r.tps);
    point.tpsMean = mean(tps);
    point.p99MsMean = mean(point.runs.map((r) => r.latencyMsP99));
    point.p50MsMean = mean(point.runs.map((r) => r.latencyMsP50));
    point.tpsSpreadPercent = tps.length > 1 && point.tpsMean > 0 ? (100 * (Math.max(...tps) - Math.min(...tps))) / point.tpsMean : null;
  }
  return { params: options.params, original, points, verdict: seedVerdict(points, original), recovered };
}

const pct = (a: number, b: number) => (b === 0 ? 0 : (100 * (a - b)) / b);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} %`;

/**
 * The seed's values (where swept) against the host's original values (or, when the originals
 * were not swept, the point furthest from the seed's): TPS and p99 difference, judged against
 * the larger run spread of the two points (or NOISE_FLOOR_PERCENT with one run each).
 */
export function seedVerdict(points: SweepPoint[], original: Record<string, string>): string {
  const keys = Object.keys(points[0]?.settings ?? {});
  const seed = points.find((p) => keys.every((k) => p.settings[k] === SEED_ADVICE[k]));
  if (!seed) return `the seed's values (${keys.map((k) => `${k}=${SEED_ADVICE[k]}`).join(', ')}) were not among the swept values: add them to judge the advice`;
  const base = points.find((p) => p !== seed && keys.every((k) => p.settings[k] === original[k]))
    ?? points.filter((p) => p !== seed).sort((a, b) => Math.abs(pct(b.tpsMean, seed.tpsMean)) - Math.abs(pct(a.tpsMean, seed.tpsMean)))[0];
  if (!base) return 'only the seed\'s values were swept: nothing to compare them with';
  const tpsDiff = pct(seed.tpsMean, base.tpsMean);
  const p99Diff = pct(seed.p99MsMean, base.p99MsMean);
  const spreads = [seed.tpsSpreadPercent, base.tpsSpreadPercent].filter((s): s is number => s !== null);
  const threshold = spreads.length === 2 ? Math.max(...spreads) : NOISE_FLOOR_PERCENT;
  const why = spreads.length === 2 ? `the run spread (${threshold.toFixed(1)} %)` : `${NOISE_FLOOR_PERCENT} % (one run per point has no spread; use --repeat 3)`;
  const isOriginal = keys.every((k) => base.settings[k] === original[k]);
  const against = `${seed.label} against ${base.label}${isOriginal ? ' (this host\'s values)' : ''}`;
  if (Math.abs(tpsDiff) <= threshold) return `no measurable difference within the run spread: ${against} changed TPS by ${signed(tpsDiff)} and p99 by ${signed(p99Diff)}, inside ${why}`;
  return `the seed's advice changed TPS by ${signed(tpsDiff)} and p99 by ${signed(p99Diff)} on this host (${against}; beyond ${why})`;
}
