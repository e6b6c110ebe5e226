// bench compare over three fixture reports: rows, ratios to the first, the SSD-vs-HDD verdict,
// the refusal to compare different loads, and the files it writes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCompare } from '../../loadgen/commands/compare.js';
import { compareReports, diskKindOf } from '../../reports/compareReports.js';
import type { Summary } from '../../reports/summary.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

const LOAD = { driver: 'remoting', producers: 64, sizeBytes: 128, batch: 1, topic: 'T', queues: 8, durationS: 20, warmupS: 5, rate: null, consumers: 0 };

function summary(hostname: string, rotational: boolean | null, tps: Record<string, number>, load = LOAD): Summary {
  return {
    schemaVersion: 1, tool: { name: 'flushbench', version: 't' }, command: `bench run (${hostname})`, startedAt: 's', finishedAt: 'f',
    host: { hostname, rotational, device: '/dev/x', diskModel: null, fileSystem: 'ext4', vm: {}, fsyncProbe: null } as unknown as Summary['host'],
    results: Object.entries(tps).map(([profile, mean]) => ({
      profile, variant: null, tps: { mean, p50PerSecond: mean }, latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1 },
      sent: mean, ok: mean, statusCounts: {}, verdict: 'within', runs: [], load,
    }) as unknown as Summary['results'][number]),
  };
}

test('compare: one row per profile per report, TPS ratio to the first report, SSD/HDD verdict per profile', () => {
  const ssd = summary('ssd', false, { 'single-sync-flush': 20_000, 'async-async': 50_000 });
  const hdd = summary('hdd', true, { 'single-sync-flush': 1_000, 'async-async': 40_000 });
  const third = summary('other', false, { 'single-sync-flush': 10_000 });
  const c = compareReports([ssd, hdd, third].map((s) => ({ label: s.host.hostname, summary: s, diskKind: diskKindOf(s) })));
  assert.deepEqual(c.rows.map((r) => r.profile), ['single-sync-flush', 'async-async']);
  assert.deepEqual(c.rows[0].cells.map((cell) => cell?.ratioToFirst), [1, 0.05, 0.5]);
  assert.equal(c.rows[1].cells[2], null, 'the third report lacks async-async');
  assert.deepEqual(c.ssdOverHdd.map((v) => [v.profile, v.ratio, v.holds]), [['single-sync-flush', 20, true], ['async-async', 1.25, false]]);
  assert.deepEqual(c.loadDifferences, []);
});

test('compare: the virtio rotational flag is not trusted; an emulated HDD is', () => {
  const virtio = summary('vm', true, {});
  (virtio.host as { diskModel: string | null }).diskModel = 'virtio block device (vendor 0x1af4; rotational flag not meaningful)';
  assert.equal(diskKindOf(virtio), 'unknown');
  const emulated = { ...virtio, host: { ...virtio.host, diskEmulation: { kind: 'hdd', writeIops: 150 } } } as unknown as Summary;
  assert.equal(diskKindOf(emulated), 'hdd');
});

test('compare refuses different loads unless --force, and writes md, html, csv and charts', () => {
  const dir = scratchDir('compare');
  try {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    fs.writeFileSync(path.join(a, 'summary.json'), JSON.stringify(summary('a', false, { 'sync-sync': 4000 })));
    fs.writeFileSync(path.join(b, 'summary.json'), JSON.stringify(summary('b', true, { 'sync-sync': 400 }, { ...LOAD, producers: 8 })));
    assert.throws(() => runCompare([a, b], {}), /different loads[\s\S]*producers is 64 in a but 8 in b/);
    const out = path.join(dir, 'out');
    const markdown = runCompare([a, b], { force: true, out, disks: 'ssd,hdd' });
    assert.match(markdown, /\| sync-sync \| 4000 \| 400 \| 10\.0× \| holds \|/);
    for (const file of ['compare.md', 'compare.html', 'compare.csv', 'compare-tps.png', 'compare-latency-1.png']) assert.ok(fs.existsSync(path.join(out, file)), file);
    assert.match(fs.readFileSync(path.join(out, 'compare.csv'), 'utf8'), /^profile,report,diskKind,tps,p50Ms,p99Ms,verdict,ratioToFirst\nsync-sync,a,ssd,4000\.0/);
    assert.throws(() => runCompare([a], {}), /at least two/);
    assert.throws(() => runCompare([a, b], { disks: 'ssd' }), /--disks lists 1 values for 2 reports/);
  } finally {
    removeScratch(dir);
  }
});
