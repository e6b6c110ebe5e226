// issue #14 on our engine, shape only (short timings): a silent slave's FLUSH_SLAVE_TIMEOUTs land
// 3–5 s after their send in once-a-second bursts, and acks resume after SIGCONT; a SIGKILLed and
// restarted slave lets acks flow again.
import assert from 'node:assert/strict';
import test from 'node:test';
import { runScenario } from '../../loadgen/scenarios/runScenario.js';
import type { SlaveRestartResult, SlaveStopResult } from '../../reports/scenarioData.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

const QUICK = { faultRate: 400, faultProducers: 16, beforeMs: 1500, afterMs: 1000, sendTimeoutMs: 6000, recoverLimitMs: 25_000 };

test('slave SIGSTOP under SYNC_MASTER: timeouts 3–5 s after the send, in 1 s bursts; acks resume after SIGCONT', { timeout: 60_000 }, async () => {
  const dir = scratchDir('scenario-stop');
  try {
    const file = await runScenario({ name: 'slave-stop', engines: ['flushbench'], outDir: dir, storeRoot: dir, settings: { ...QUICK, stopMs: 4500 } });
    const [engine] = file.engines;
    assert.equal(engine.error, null);
    const r = engine.outcome?.result as SlaveStopResult;
    const timeouts = r.statusesDuringStop.FLUSH_SLAVE_TIMEOUT ?? 0;
    assert.ok(timeouts > 100, `FLUSH_SLAVE_TIMEOUT for sends during the stop: ${JSON.stringify(r.statusesDuringStop)}`);
    assert.ok(r.errorAnswerMs.min >= 2900 && r.errorAnswerMs.max <= 5000, `error answers 3–5 s after the send: ${JSON.stringify(r.errorAnswerMs)}`);
    // GroupTransferService checks deadlines once a second: arrivals fill few 100 ms bins.
    const busyBins = r.timeoutArrivalsPer100Ms.filter((b) => b.count > 0).length;
    assert.ok(busyBins <= 8, `timeouts arrive in bursts, not spread: ${busyBins} of the 100 ms bins have arrivals`);
    assert.ok(r.firstSendOkAfterContMs !== null && r.firstSendOkAfterContMs < 2000, `SEND_OK soon after SIGCONT: ${r.firstSendOkAfterContMs}`);
    assert.ok(r.sendOkShareAfterCont >= 0.99, `acks flow after SIGCONT: ${r.sendOkShareAfterCont}`);
  } finally {
    removeScratch(dir);
  }
});

test('slave SIGKILL + restart under SYNC_MASTER: a stall, errors, then acks flow again', { timeout: 60_000 }, async () => {
  const dir = scratchDir('scenario-restart');
  try {
    const file = await runScenario({ name: 'slave-restart', engines: ['flushbench'], outDir: dir, storeRoot: dir, settings: QUICK });
    const [engine] = file.engines;
    assert.equal(engine.error, null);
    const r = engine.outcome?.result as SlaveRestartResult;
    assert.ok(r.recoveredAfterKillMs !== null, 'acks flow again after the restart');
    assert.ok(r.stallMs >= 200 && r.stallMs <= 20_000, `a stall without SEND_OK: ${r.stallMs} ms`);
    assert.ok(r.errorsUntilRecovery > 0, `sends fail while the slave is away: ${JSON.stringify(r.statusesUntilRecovery)}`);
    assert.ok(r.sendOkShareAfterRecovery >= 0.99, `SEND_OK after the recovery: ${r.sendOkShareAfterRecovery}`);
  } finally {
    removeScratch(dir);
  }
});
