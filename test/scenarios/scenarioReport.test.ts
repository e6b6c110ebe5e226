// The scenario pieces that need no broker: the SEND_OK gap finder and the side-by-side report.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { ScenarioFile } from '../../reports/scenarioData.js';
import { DEFAULT_SETTINGS } from '../../loadgen/scenarios/runScenario.js';
import { distributionOf, histogramOf } from '../../loadgen/scenarios/scenarioLoad.js';
import { ackFlowAfter } from '../../loadgen/scenarios/slaveFaults.js';
import { renderScenarioHtml, renderScenarioMarkdown, scenarioSection } from '../../reports/scenarioReport.js';

test('ackFlowAfter finds when acks stopped and when they flowed again for 1 s', () => {
  const ok = (at: number) => ({ sentAtMs: at - 1, answeredAtMs: at, status: 'SEND_OK' as const });
  const flow = (from: number, to: number) => Array.from({ length: (to - from) / 10 + 1 }, (_, i) => ok(from + i * 10));
  // Flow until 500, a lone SEND_OK at 2000 (not a recovery), flow again from 4000.
  const events = [...flow(0, 500), { sentAtMs: 600, answeredAtMs: 610, status: 'SLAVE_NOT_AVAILABLE' as const }, ok(2000), ...flow(4000, 5500)];
  assert.deepEqual(ackFlowAfter(events, 300, 6000), { stallStartMs: 500, recoveredAtMs: 4000 });
  assert.deepEqual(ackFlowAfter(events.slice(0, 53), 300, 3000), { stallStartMs: 500, recoveredAtMs: null }, 'still stalled');
});

test('distributions and histograms', () => {
  assert.deepEqual(distributionOf([]), { n: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  assert.equal(distributionOf([1, 2, 3, 4]).p50, 3);
  assert.deepEqual(histogramOf([0, 99, 100, 1e9], 100, 3).map((b) => b.count), [2, 1, 1]);
});

test('the report puts both engines side by side and says why one did not run', () => {
  const stop = {
    stoppedMs: 10_000, sendsDuringStop: 10, statusesDuringStop: { FLUSH_SLAVE_TIMEOUT: 10 }, errorAnswerMs: distributionOf([3100, 3900]),
    errorAnswerHistogram: histogramOf([3100, 3900], 250, 32), timeoutArrivalsPer100Ms: histogramOf([3050], 100, 10), firstSendOkAfterContMs: 40, sendOkShareAfterCont: 1,
  };
  const file: ScenarioFile = {
    scenario: 'slave-stop', profile: 'async-sync', startedAt: 'now', settings: DEFAULT_SETTINGS,
    engines: [
      { engine: 'flushbench', engineLabel: 'flushbench', outcome: { scenario: 'slave-stop', result: stop }, error: null, elapsedMs: 1 },
      { engine: 'rocketmq', engineLabel: 'rocketmq-4.9.7', outcome: null, error: 'java not found', elapsedMs: 1 },
    ],
  };
  const md = renderScenarioMarkdown(scenarioSection(file));
  assert.match(md, /\| measure \| flushbench \| rocketmq-4\.9\.7 \|/);
  assert.match(md, /\| 3000–3250 \| 1 \| 0 \|/);
  assert.match(md, /not run: java not found/);
  assert.match(renderScenarioHtml(scenarioSection(file)), /<th>rocketmq-4\.9\.7<\/th>/);
});
