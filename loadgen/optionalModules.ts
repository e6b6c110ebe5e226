// The report writer and host-facts collector live in their own modules; these loaders keep
// `bench run` working (with a plain summary.json) while either is unavailable.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostFactsData, RunData } from '../reports/runData.js';

type HostFactsModule = { collectHostFacts: (storeDir: string, options?: { fsyncProbe?: boolean }) => Promise<HostFactsData> };
type ReportModule = { writeReport: (runDir: string, data: RunData) => Promise<unknown> };

async function optionalImport<T>(specifier: string): Promise<T | null> {
  try {
    return (await import(specifier)) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw error;
  }
}

export async function loadHostFacts(storeDir: string): Promise<HostFactsData> {
  const module = await optionalImport<HostFactsModule>('./hostFacts.js');
  if (module) return module.collectHostFacts(storeDir, { fsyncProbe: true });
  return {
    hostname: os.hostname(), cpuModel: os.cpus()[0]?.model ?? 'unknown', cpuCount: os.cpus().length, memoryBytes: os.totalmem(), kernel: os.release(),
    storeDir, fileSystem: null, mountPoint: null, mountOptions: null, device: null, diskModel: null, rotational: null, scheduler: null, writeCache: null,
    diskIsMeasured: true, diskWarning: null, vm: {}, fsyncProbe: null,
  };
}

/** writeReport, or a fallback that writes summary.json without histograms. */
export async function loadReportWriter(): Promise<(runDir: string, data: RunData) => Promise<unknown>> {
  const module = await optionalImport<ReportModule>('../reports/writeReport.js');
  if (module) return module.writeReport;
  return async (runDir, data) => {
    const summary = { ...data, results: data.results.map(({ histogram: _h, runs, ...rest }) => ({ ...rest, runs: runs.map(({ histogram: _r, ...run }) => run) })) };
    fs.writeFileSync(path.join(runDir, 'summary.json'), JSON.stringify(summary, null, 2));
    return summary;
  };
}
