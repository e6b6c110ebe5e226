// `bench namesrv` as a process: the ready line, answering over the wire, clean exit 0 on
// SIGTERM and SIGINT, -c namesrv.properties, a busy port and --help. Every wait is bounded.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'loadgen', 'cli.js');

interface Run {
  ready: Promise<{ host: string; port: number }>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  kill: (signal: NodeJS.Signals) => void;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FLUSHBENCH_LOG_LEVEL: 'warn' } });
  let stdout = '';
  let stderr = '';
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  void exit.then(() => clearTimeout(killer));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<{ host: string; port: number }>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^namesrv listening on (\S+):(\d+)$/m.exec(stdout);
      if (match) resolve({ host: match[1], port: Number(match[2]) });
    });
    void exit.then(({ code }) => reject(new Error(`exited with ${code} before ready; stderr: ${stderr}`)));
  });
  ready.catch(() => {});
  return { ready, exit, kill: (signal) => child.kill(signal) };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`bench namesrv --port 0: one ready line, answers requests, exits 0 on ${signal}`, { timeout: 20_000 }, async () => {
    const child = run(['namesrv', '--port', '0']);
    const { host, port } = await child.ready;
    assert.equal(host, '127.0.0.1');
    const client = new RemotingClient(`${host}:${port}`);
    try {
      const response = await client.invoke(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: 'NoSuchTopic' }), 2000);
      assert.equal(response.code, ResponseCode.TOPIC_NOT_EXIST);
    } finally {
      client.close();
    }
    child.kill(signal);
    const { code, stdout } = await child.exit;
    assert.equal(code, 0);
    assert.equal(stdout, `namesrv listening on 127.0.0.1:${port}\n`, 'exactly one line on stdout');
  });
}

test('bench namesrv -c namesrv.properties reads listenPort; --port on the command line wins; a busy port fails with exit 1', { timeout: 20_000 }, async () => {
  const dir = scratchDir('namesrv');
  try {
    const first = run(['namesrv', '--port', '0']);
    const { port: busyPort } = await first.ready;
    const file = path.join(dir, 'namesrv.properties');
    fs.writeFileSync(file, `# RocketMQ keys we do not use are ignored\nlistenPort=${busyPort}\nrocketmqHome=/opt/rocketmq\n`);
    const busy = run(['namesrv', '-c', file]);
    const failed = await busy.exit;
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /EADDRINUSE/);
    const override = run(['namesrv', '-c', file, '--port', '0']);
    const { port } = await override.ready;
    assert.notEqual(port, busyPort);
    override.kill('SIGTERM');
    first.kill('SIGTERM');
    assert.equal((await override.exit).code, 0);
    assert.equal((await first.exit).code, 0);
    const missing = await run(['namesrv', '-c', path.join(dir, 'absent.properties')]).exit;
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*absent\.properties/);
    const badPort = await run(['namesrv', '--port', 'http']).exit;
    assert.equal(badPort.code, 1);
    assert.match(badPort.stderr, /not a port number/);
  } finally {
    removeScratch(dir);
  }
});

test('bench namesrv --help explains the options and the ready line', { timeout: 20_000 }, async () => {
  const { code, stdout } = await run(['namesrv', '--help']).exit;
  assert.equal(code, 0);
  for (const text of ['--port', '--host', '-c, --config', 'namesrv listening on', 'SIGTERM']) assert.ok(stdout.includes(text), `help mentions ${text}`);
});
