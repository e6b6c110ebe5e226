// The side-by-side section of `bench scenario`: one table per measure with a column per engine
// (flushbench, Apache RocketMQ), as scenario.md and scenario.html beside scenario.json.
import fs from 'node:fs';
import path from 'node:path';
import { escapeHtml, htmlPage } from './renderReport.js';
import type {
  AsyncLagRate, Distribution, EngineScenarioResult, HistogramBin, SaturationResult, ScenarioFile, SlaveRestartResult, SlaveStopResult,
} from './scenarioData.js';

interface Table { caption: string; header: string[]; rows: string[][] }
export interface ScenarioSection { title: string; notes: string[]; tables: Table[] }

const TITLES: Record<string, string> = {
  'slave-stop': 'Slave SIGSTOP under SYNC_MASTER (async-sync)',
  'slave-restart': 'Slave SIGKILL + restart under SYNC_MASTER (async-sync)',
  saturation: 'Saturation on single-sync-flush',
  'async-lag': 'ASYNC_MASTER replication lag (async-async)',
};

const dist = (d: Distribution | null | undefined) => (d && d.n > 0 ? `${d.p50} / ${d.p90} / ${d.p99} / ${d.max} (n ${d.n})` : '—');
const counts = (c: Record<string, number> | undefined) => (c && Object.keys(c).length ? Object.entries(c).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') : '—');
const pct = (share: number) => `${(share * 100).toFixed(2)} %`;
const value = (v: number | null | undefined, unit = '') => (v === null || v === undefined ? '—' : `${v}${unit}`);

function resultOf<T>(engine: EngineScenarioResult, scenario: string): T | null {
  return engine.outcome && engine.outcome.scenario === scenario ? (engine.outcome.result as T) : null;
}

/** One row per measure, one column per engine. */
function measureTable<T>(caption: string, engines: EngineScenarioResult[], scenario: string, measures: Array<[string, (r: T) => string]>): Table {
  return {
    caption,
    header: ['measure', ...engines.map((e) => e.engineLabel)],
    rows: measures.map(([name, read]) => [name, ...engines.map((e) => {
      const r = resultOf<T>(e, scenario);
      return r ? read(r) : `not run: ${(e.error ?? 'no result').split('\n')[0].slice(0, 200)}`;
    })]),
  };
}

/** Histogram bins side by side; only rows where some engine has a count. */
function histogramTable(caption: string, engines: EngineScenarioResult[], bins: (e: EngineScenarioResult) => HistogramBin[] | null, widthMs: number): Table {
  const all = engines.map(bins);
  const lowers = [...new Set(all.flatMap((b) => (b ?? []).filter((x) => x.count > 0).map((x) => x.lowerMs)))].sort((a, b) => a - b);
  return {
    caption,
    header: ['ms', ...engines.map((e) => e.engineLabel)],
    rows: lowers.map((lower) => [`${lower}–${lower + widthMs}`, ...all.map((b) => String(b?.find((x) => x.lowerMs === lower)?.count ?? 0))]),
  };
}

export function scenarioSection(file: ScenarioFile): ScenarioSection {
  const e = file.engines;
  const notes = [`profile ${file.profile}, started ${file.startedAt}; distributions are p50 / p90 / p99 / max (n).`];
  if (Object.keys(file.settings.brokerSet).length) notes.push(`broker keys set on every node of both engines: ${JSON.stringify(file.settings.brokerSet)}`);
  const tables: Table[] = [];
  if (file.scenario === 'slave-stop') {
    notes.push(`open loop ${file.settings.faultRate} msgs/s; the slave is SIGSTOPped for ${file.settings.stopMs} ms, then SIGCONTed.`);
    tables.push(measureTable<SlaveStopResult>('Sends made during the stop', e, file.scenario, [
      ['stopped ms', (r) => String(r.stoppedMs)],
      ['sends during the stop', (r) => String(r.sendsDuringStop)],
      ['their answers', (r) => counts(r.statusesDuringStop)],
      ['error answer − send (ms)', (r) => dist(r.errorAnswerMs)],
      ['SIGCONT → first SEND_OK (ms)', (r) => value(r.firstSendOkAfterContMs)],
      ['SEND_OK share of sends ≥ 2 s after SIGCONT', (r) => pct(r.sendOkShareAfterCont)],
    ]));
    tables.push(histogramTable('Error answer − send, 250 ms bins', e, (x) => resultOf<SlaveStopResult>(x, file.scenario)?.errorAnswerHistogram ?? null, 250));
    tables.push(histogramTable('FLUSH_SLAVE_TIMEOUT arrivals after SIGSTOP, 100 ms bins (bursts = GroupTransferService\'s 1 s check)', e,
      (x) => resultOf<SlaveStopResult>(x, file.scenario)?.timeoutArrivalsPer100Ms ?? null, 100));
  } else if (file.scenario === 'slave-restart') {
    notes.push(`open loop ${file.settings.faultRate} msgs/s; the slave is SIGKILLed and restarted at once with its command line, on its store.`);
    tables.push(measureTable<SlaveRestartResult>('Stall after the slave restart', e, file.scenario, [
      ['SIGKILL → respawned (ms)', (r) => String(r.respawnAfterKillMs)],
      ['stall: acks stop → flow again (ms)', (r) => String(r.stallMs)],
      ['SIGKILL → acks flow again (ms)', (r) => value(r.recoveredAfterKillMs)],
      ['errors until then', (r) => String(r.errorsUntilRecovery)],
      ['answers until then', (r) => counts(r.statusesUntilRecovery)],
      ['SEND_OK share after recovery', (r) => pct(r.sendOkShareAfterRecovery)],
    ]));
  } else if (file.scenario === 'saturation') {
    notes.push(`${file.settings.saturationProducers} closed-loop producers, ${file.settings.saturationDurationMs} ms measured after ${file.settings.saturationWarmupMs} ms.`);
    tables.push(measureTable<SaturationResult>('Load shedding at saturation', e, file.scenario, [
      ['answers', (r) => String(r.answers)],
      ['acked msgs/s', (r) => String(r.ackedPerSecond)],
      ['SYSTEM_BUSY share', (r) => pct(r.systemBusyShare)],
      ['SYSTEM_BUSY by remark', (r) => counts(r.busyReasons)],
      ['OS_PAGECACHE_BUSY share', (r) => pct(r.osPageCacheBusyShare)],
      ['all answers', (r) => counts(r.statuses)],
      ['acked latency ms', (r) => dist(r.ackedLatencyMs)],
      ['refusal latency ms', (r) => dist(r.refusalLatencyMs)],
    ]));
  } else {
    notes.push('Lag = master commitLogMaxOffset − slave commitLogMaxOffset (GET_BROKER_RUNTIME_INFO on both, every 100 ms); ms = bytes ÷ the master\'s CommitLog byte rate. flushbench also reports its master\'s own view (rocketmq_ha_slave_fall_behind_bytes).');
    const rates = [...new Set(e.flatMap((x) => (resultOf<AsyncLagRate[]>(x, file.scenario) ?? []).map((r) => r.rate)))];
    for (const rate of rates) {
      const at = (r: AsyncLagRate[]) => r.find((x) => x.rate === rate);
      tables.push(measureTable<AsyncLagRate[]>(`${rate} msgs/s`, e, file.scenario, [
        ['acked msgs/s', (r) => value(at(r)?.ackedPerSecond)],
        ['CommitLog bytes/s', (r) => value(at(r)?.commitLogBytesPerSecond)],
        ['samples (failed)', (r) => `${value(at(r)?.samples)} (${value(at(r)?.failedSamples)})`],
        ['lag bytes', (r) => dist(at(r)?.lagBytes)],
        ['lag ms', (r) => dist(at(r)?.lagMs)],
        ['master view: fall-behind bytes', (r) => dist(at(r)?.metricLagBytes)],
        ['master view: fall-behind ms', (r) => dist(at(r)?.metricLagMs)],
      ]));
    }
  }
  return { title: TITLES[file.scenario] ?? file.scenario, notes, tables };
}

export function renderScenarioMarkdown(section: ScenarioSection): string {
  const lines = [`## ${section.title}`, '', ...section.notes.map((n) => `${n}`), ''];
  for (const t of section.tables) {
    lines.push(`**${t.caption}**`, '', `| ${t.header.join(' | ')} |`, `|${t.header.map(() => '---').join('|')}|`, ...t.rows.map((r) => `| ${r.join(' | ')} |`), '');
  }
  return `${lines.join('\n')}\n`;
}

export function renderScenarioHtml(section: ScenarioSection): string {
  const tables = section.tables.map((t) => `<table><caption>${escapeHtml(t.caption)}</caption><tr>${t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${
    t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</table>`).join('\n');
  // Numbers align right; the caption names the table.
  return htmlPage(section.title, `<h2>${escapeHtml(section.title)}</h2>${section.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('')}
${tables}`, 'td{text-align:right}caption{font-weight:bold;text-align:left}');
}

export function writeScenarioReport(dir: string, file: ScenarioFile): void {
  const section = scenarioSection(file);
  fs.writeFileSync(path.join(dir, 'scenario.md'), renderScenarioMarkdown(section));
  fs.writeFileSync(path.join(dir, 'scenario.html'), renderScenarioHtml(section));
}
