// Shared setup for the real-client suites: Apache RocketMQ 4.9.7's jars (bench rocketmq fetch's
// cache), FlushbenchClientCheck compiled once per suite with javac, a flushbench cluster per
// profile, and runners for the client program and mqadmin with every log kept in scratch.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type ManagedProcess, startBenchProcess, stopProcess } from '../../loadgen/childProcesses.js';
import { resolveProfiles } from '../../loadgen/profile.js';
import { fetchRocketmq, type RocketmqLib } from '../../loadgen/rocketmq/fetch.js';
import { freeBrokerPort } from '../support/ports.js';
import { projectRoot, scratchDir } from '../support/scratch.js';
import { waitFor } from '../support/waitFor.js';

export const CLIENT_CLASS = 'FlushbenchClientCheck';
/** Runs MQAdminStartup.main0 and exits without waiting out Netty's shutdown quiet period. */
const MQADMIN_CLASS = 'MqadminThenExit';
const JAVA_DIR = path.join('test', 'javaClient', 'java');

export interface JavaEnv {
  lib: RocketmqLib;
  /** Compiled classes, then RocketMQ's jars. */
  classPath: string;
  scratch: string;
  /** JVM flags: user.home, log dirs and logback configs inside scratch, small heap, fast start. */
  jvmFlags: string[];
}

// Logback config for the client (its remoting logger goes through slf4j) and for mqadmin
// (MQAdminStartup loads ${rocketmq.home.dir}/conf/logback_tools.xml and fails without it).
function logbackXml(file: string): string {
  return `<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>${file}</file>
    <encoder><pattern>%d %-5level %logger - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
`;
}

/**
 * Java, javac and the jars, with the program compiled; or the reason the suite must skip. The
 * jars come from the cache or Maven Central (CI has it); a fetch failure is a skip reason.
 */
export function setUpJava(label: string): JavaEnv | { skip: string } {
  for (const tool of ['java', 'javac']) {
    if (spawnSync(tool, ['-version']).error) return { skip: `${tool} is not installed (apt-get install openjdk-17-jdk-headless)` };
  }
  let lib: RocketmqLib;
  try {
    lib = fetchRocketmq();
  } catch (error) {
    return { skip: `RocketMQ jars unavailable: ${(error as Error).message}` };
  }
  const scratch = scratchDir(label);
  const classes = path.join(scratch, 'classes');
  fs.mkdirSync(classes);
  const jars = path.join(lib.libDir, '*');
  const sources = [CLIENT_CLASS, MQADMIN_CLASS].map((name) => path.join(projectRoot(), JAVA_DIR, `${name}.java`));
  const compiled = spawnSync('javac', ['-nowarn', '-cp', jars, '-d', classes, ...sources], { encoding: 'utf8', timeout: 120_000 });
  if (compiled.status !== 0) throw new Error(`javac ${JAVA_DIR} failed (${compiled.status ?? compiled.signal}):\n${compiled.stderr}`);
  const home = path.join(scratch, 'rocketmq-home');
  fs.mkdirSync(path.join(home, 'conf'), { recursive: true });
  fs.writeFileSync(path.join(home, 'conf', 'logback_tools.xml'), logbackXml(path.join(scratch, 'logs', 'mqadmin.log')));
  fs.writeFileSync(path.join(scratch, 'logback-client.xml'), logbackXml(path.join(scratch, 'logs', 'client-remoting.log')));
  const jvmFlags = [
    `-Duser.home=${scratch}`, '-Drocketmq.client.logUseSlf4j=false', `-Drocketmq.client.logRoot=${path.join(scratch, 'logs')}`,
    `-Dlogback.configurationFile=${path.join(scratch, 'logback-client.xml')}`, `-Drocketmq.home.dir=${home}`,
    '-Xms64m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
  ];
  return { lib, classPath: `${classes}${path.delimiter}${jars}`, scratch, jvmFlags };
}

export interface JavaRun {
  code: number | string;
  lines: string[];
  stderr: string;
  elapsedMs: number;
}

/** Runs `java <mainClass> args`; SIGKILL after timeoutMs (the program's own watchdog should fire first). */
export function runJava(env: JavaEnv, mainClass: string, args: string[], timeoutMs: number, onLine?: (line: string) => void): Promise<JavaRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('java', [...env.jvmFlags, '-cp', env.classPath, mainClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: env.scratch });
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        onLine?.(line);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (partial) lines.push(partial);
      resolve({ code: code ?? signal ?? -1, lines, stderr, elapsedMs: Date.now() - started });
    });
  });
}

/** The client program against a name server: --namesrv, --topic and the given options. */
export function runClient(env: JavaEnv, namesrv: string, topic: string, options: Record<string, string | number>, timeoutMs: number, onLine?: (line: string) => void): Promise<JavaRun> {
  const args = ['--namesrv', namesrv, '--topic', topic, ...Object.entries(options).flatMap(([k, v]) => [`--${k}`, String(v)])];
  return runJava(env, CLIENT_CLASS, args, timeoutMs, onLine);
}

/** `mqadmin <command> -n <namesrv> …`; its whole output (MQAdminStartup exits 0 even when a command fails). */
export async function mqadmin(env: JavaEnv, args: string[], timeoutMs = 60_000): Promise<{ code: number | string; output: string }> {
  const run = await runJava(env, MQADMIN_CLASS, args, timeoutMs);
  return { code: run.code, output: `${run.lines.join('\n')}\n${run.stderr}` };
}

/** "KIND k=v k=v …" → { kind, fields }; values run to the next " key=" (error texts have spaces). */
export function parseLine(line: string): { kind: string; fields: Record<string, string> } {
  const [kind] = line.split(' ', 1);
  const fields: Record<string, string> = {};
  for (const match of line.slice(kind.length).matchAll(/ (\w+)=(.*?)(?= \w+=|$)/g)) fields[match[1]] = match[2];
  return { kind, fields };
}

export function linesOf(run: JavaRun, kind: string): Array<Record<string, string>> {
  return run.lines.map(parseLine).filter((p) => p.kind === kind).map((p) => p.fields);
}

export interface TestBroker {
  name: string;
  role: 'master' | 'slave';
  address: string;
  metricsUrl: string;
  /** The `bench broker` arguments, to start it again on the same store and ports. */
  args: string[];
  process: ManagedProcess;
}

export interface TestCluster {
  namesrvAddress: string;
  brokers: TestBroker[];
  logDir: string;
  /** Starts a stopped or killed broker again with its arguments (same store, same ports). */
  restart(broker: TestBroker): Promise<void>;
  stop(): Promise<void>;
}

const BROKER_READY = /listening on (\S+):(\d+) .*metrics=(\d+)/;
/** Children of a test process log nothing by default (NODE_TEST_CONTEXT); these logs are read and kept. */
const CHILD_ENV = { FLUSHBENCH_LOG_LEVEL: 'info' };

async function haConnections(metricsUrl: string): Promise<number> {
  const text = await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).catch(() => '');
  return Number(text.match(/^rocketmq_ha_connections\{[^}]*\} (\d+)/m)?.[1] ?? 0);
}

/**
 * Our name server and a profile's brokers (master first, slave pointed at it), stores and logs
 * under `scratch`; returns once each master with a slave has it connected.
 */
export async function startProfile(profile: string, scratch: string): Promise<TestCluster> {
  const [resolved] = resolveProfiles(profile);
  const base = fs.mkdtempSync(path.join(scratch, `${profile}-`));
  const logDir = path.join(base, 'logs');
  const started: ManagedProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((p) => stopProcess(p, 5000)));
  };
  try {
    const namesrv = await startBenchProcess('namesrv', ['namesrv', '--port', '0'], /namesrv listening on (\S+):(\d+)/, { logDir, env: CHILD_ENV });
    started.push(namesrv.process);
    const namesrvAddress = `${namesrv.match[1]}:${namesrv.match[2]}`;
    const brokers: TestBroker[] = [];
    const nodes = [...resolved.nodes.filter((n) => n.role === 'master'), ...resolved.nodes.filter((n) => n.role === 'slave')];
    for (const node of nodes) {
      const listenPort = await freeBrokerPort();
      const master = brokers.find((b) => b.role === 'master' && b.name === node.brokerName);
      const properties: Record<string, string> = {
        brokerClusterName: 'FlushbenchCluster', brokerName: node.brokerName, brokerIP1: '127.0.0.1', namesrvAddr: namesrvAddress,
        storePathRootDir: path.join(base, 'store', node.name), metricsPort: '-1',
        // A slave first reports its offset haSendHeartbeatInterval after connecting (RocketMQ's
        // HAClient too), and a SYNC_MASTER cannot ack before that: 1 s instead of 5 s.
        haSendHeartbeatInterval: '1000',
        ...(master ? { haMasterAddress: `127.0.0.1:${Number(master.address.split(':')[1]) + 1}` } : {}),
        ...node.properties, listenPort: String(listenPort),
      };
      const args = ['broker', ...Object.entries(properties).map(([k, v]) => `${k}=${v}`)];
      const broker = await startBenchProcess(node.name, args, BROKER_READY, { logDir, env: CHILD_ENV });
      started.push(broker.process);
      brokers.push({ name: node.name, role: node.role, address: `${broker.match[1]}:${broker.match[2]}`, metricsUrl: `http://127.0.0.1:${broker.match[3]}/metrics`, args, process: broker.process });
    }
    for (const master of brokers.filter((b) => b.role === 'master')) {
      const slaves = nodes.filter((n) => n.role === 'slave' && n.brokerName === nodes.find((m) => m.name === master.name)?.brokerName).length;
      if (slaves === 0) continue;
      await waitFor(async () => (await haConnections(master.metricsUrl)) >= slaves, `${master.name}'s slave to connect`, 20_000);
      // Replication starts at the slave's first offset report; until then a SYNC_MASTER send waits.
      await waitFor(() => fs.readFileSync(master.process.logPath, 'utf8').includes('slave request offset'), `${master.name}'s slave to report its offset`, 20_000);
    }
    const restart = async (broker: TestBroker): Promise<void> => {
      const again = await startBenchProcess(`${broker.name}-restarted`, broker.args, BROKER_READY, { logDir, env: CHILD_ENV });
      started.push(again.process);
      broker.process = again.process;
      broker.metricsUrl = `http://127.0.0.1:${again.match[3]}/metrics`;
    };
    return { namesrvAddress, brokers, logDir, restart, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
