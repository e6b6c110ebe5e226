// Scratch directories for tests, always removed: by the test (removeScratch) or, at the
// latest, when the test process exits. Two kinds:
// - scratchDir: under os.tmpdir(), for tests that do not care what disk they write to;
// - diskScratchDir: under <repo>/.test-scratch (gitignored), for tests that measure or fsync
//   the disk, because /tmp may be tmpfs (fdatasync there is free and O_DIRECT fails).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const created = new Set<string>();
let exitHookInstalled = false;

function track(dir: string): string {
  created.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const left of created) fs.rmSync(left, { recursive: true, force: true });
    });
  }
  return dir;
}

/** The project directory (the one holding package.json), found from this file (test/support or dist/test/support). */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let level = 0; level < 6; level++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
}

/** Where diskScratchDir puts its directories. */
export function diskScratchBase(): string {
  return path.join(projectRoot(), '.test-scratch');
}

function safeLabel(label: string): string {
  return label.replace(/[^\w.-]+/g, '_');
}

/** A fresh directory under os.tmpdir(), removed at exit if the test did not remove it. */
export function scratchDir(label: string): string {
  return track(fs.mkdtempSync(path.join(os.tmpdir(), `flushbench-${safeLabel(label)}-`)));
}

/** A fresh directory on the project's disk (not tmpfs), for tests that measure or fsync it. */
export function diskScratchDir(label: string): string {
  const base = diskScratchBase();
  fs.mkdirSync(base, { recursive: true });
  return track(fs.mkdtempSync(path.join(base, `${safeLabel(label)}-`)));
}

/** Removes a scratch directory now (the exit hook then has nothing left to do for it). */
export function removeScratch(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  created.delete(dir);
}
