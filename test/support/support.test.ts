// The shared test helpers: the wait reports what it waited for, scratch directories go away
// even when a test forgets them, free ports can be bound.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freeBrokerPort, freePort } from './ports.js';
import { diskScratchBase, diskScratchDir, projectRoot, removeScratch, scratchDir } from './scratch.js';
import { waitFor, WaitTimeoutError } from './waitFor.js';

test('waitFor resolves once the condition holds, sync or async', async () => {
  let polls = 0;
  await waitFor(() => ++polls >= 3, 'three polls', 1000);
  assert.equal(polls, 3);
  let asyncPolls = 0;
  await waitFor(async () => ++asyncPolls >= 2, 'two async polls', 1000);
  assert.equal(asyncPolls, 2);
});

test('waitFor rejects with what it waited for after the timeout, and refuses a bad timeout', async () => {
  const started = Date.now();
  await assert.rejects(waitFor(() => false, 'the impossible', 60), (error: unknown) =>
    error instanceof WaitTimeoutError && error.code === 'WAIT_TIMEOUT' && /timed out after 60 ms waiting for the impossible/.test(error.message));
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 55 && elapsed < 1000, `gave up after ${elapsed} ms`);
  await assert.rejects(waitFor(() => true, 'x', 0), RangeError);
  await assert.rejects(waitFor(() => { throw new Error('boom'); }, 'x', 1000), /boom/);
});

test('scratchDir is under os.tmpdir(); diskScratchDir is under the project; both are removed', () => {
  const tmp = scratchDir('support');
  const disk = diskScratchDir('support');
  try {
    assert.ok(tmp.startsWith(fs.realpathSync(os.tmpdir())) || tmp.startsWith(os.tmpdir()));
    assert.equal(path.dirname(disk), diskScratchBase());
    assert.ok(disk.startsWith(projectRoot()));
    assert.ok(fs.existsSync(path.join(projectRoot(), 'package.json')));
  } finally {
    removeScratch(tmp);
    removeScratch(disk);
  }
  assert.ok(!fs.existsSync(tmp) && !fs.existsSync(disk));
});

test('scratch directories a test forgets are removed when its process exits', () => {
  const moduleUrl = new URL('./scratch.js', import.meta.url).href;
  const script = `const s = await import(${JSON.stringify(moduleUrl)}); const a = s.scratchDir('left'); const b = s.diskScratchDir('left');`
    + ' require("node:fs").writeFileSync(a + "/f", "x"); console.log(JSON.stringify([a, b]));';
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script.replace('require("node:fs")', '(await import("node:fs")).default')]).toString();
  const [a, b] = JSON.parse(out) as [string, string];
  assert.ok(!fs.existsSync(a), `${a} removed at exit`);
  assert.ok(!fs.existsSync(b), `${b} removed at exit`);
});

test('freePort and freeBrokerPort give ports that can be bound on 127.0.0.1', async () => {
  for (const port of [await freePort(), await freeBrokerPort()]) {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
