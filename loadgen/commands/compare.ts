// `bench compare <reportA> <reportB>`: two runs (e.g. an SSD host and an HDD host) side by side.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { type Summary, validateSummary } from '../../reports/summary.js';

function load(dir: string): Summary {
  const file = fs.existsSync(path.join(dir, 'summary.json')) ? path.join(dir, 'summary.json') : dir;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not a readable flushbench report (${(error as Error).message})`);
  }
  try {
    return validateSummary(raw);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

export function compareTable(a: Summary, b: Summary): string {
  const key = (r: Summary['results'][number]) => `${r.profile}${r.variant ? ` [${r.variant}]` : ''}`;
  const disk = (s: Summary) => `${s.host.device ?? '?'} ${s.host.diskModel ?? ''} rotational=${s.host.rotational ?? '?'} ${s.host.fileSystem ?? ''}`.trim();
  const lines = [`A: ${disk(a)} (${a.host.hostname}, ${a.startedAt})`, `B: ${disk(b)} (${b.host.hostname}, ${b.startedAt})`, '',
    '| profile | TPS A | TPS B | B/A | p99 ms A | p99 ms B | verdict A | verdict B |', '|---|---|---|---|---|---|---|---|'];
  const ratios: number[] = [];
  for (const ra of a.results) {
    const rb = b.results.find((r) => key(r) === key(ra));
    if (!rb) continue;
    const ratio = ra.tps.mean > 0 ? rb.tps.mean / ra.tps.mean : NaN;
    ratios.push(ratio);
    lines.push(`| ${key(ra)} | ${Math.round(ra.tps.mean)} | ${Math.round(rb.tps.mean)} | ${ratio.toFixed(2)} | ${ra.latencyMs.p99.toFixed(2)} | ${rb.latencyMs.p99.toFixed(2)} | ${ra.verdict ?? 'n/a'} | ${rb.verdict ?? 'n/a'} |`);
  }
  if (ratios.length === 0) lines.push('| (no profile in common) | | | | | | | |');
  if (a.host.rotational !== null && b.host.rotational !== null && a.host.rotational !== b.host.rotational) {
    const ssdOverHdd = ratios.map((r) => (a.host.rotational ? r : 1 / r));
    lines.push('', `Seed claim "SSD is 10× faster than HDD": measured SSD/HDD ratios ${ssdOverHdd.map((r) => `${r.toFixed(1)}×`).join(', ')}.`);
  }
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('compare')
    .description('compare two reports side by side (e.g. SSD host vs HDD host)')
    .argument('<reportA>', 'report directory or its summary.json')
    .argument('<reportB>', 'report directory or its summary.json')
    .option('--out <dir>', 'also write compare.md into this directory')
    .action((reportA: string, reportB: string, o: { out?: string }) => {
      const table = compareTable(load(reportA), load(reportB));
      process.stdout.write(table);
      if (o.out) {
        fs.mkdirSync(o.out, { recursive: true });
        fs.writeFileSync(path.join(o.out, 'compare.md'), `# flushbench comparison\n\n${table}`);
      }
    });
}
