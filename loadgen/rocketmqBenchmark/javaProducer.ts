// Runs RocketMQ's benchmark Producer as a child JVM (what producer.sh runs) and collects its
// periodic lines as they arrive. The JVM is stopped by stop(), and killed if bench exits first.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { FlushbenchError } from '../../protocol/errors.js';
import { type BenchmarkProducerJar, PRODUCER_CLASS } from './producerJar.js';
import { parseProducerLine, type ProducerLine } from './producerOutput.js';

export interface JavaProducerOptions {
  jar: BenchmarkProducerJar;
  namesrv: string;
  topic: string;
  /** -w: sending threads, each a closed loop of sync sends. */
  threads: number;
  /** -s: body bytes. */
  sizeBytes: number;
  /** The remoting header type the Java client uses (rocketmq.serialize.type), the run's --serialize. */
  serializeType: 'JSON' | 'ROCKETMQ';
  /** The JVM's output (stdout and stderr) and its client logs go here. */
  logDir: string;
  /** runclass.sh's heap is 1 GiB. */
  heap?: string;
  /** Each periodic line as it is read (progress). */
  onLine?: (line: ProducerLine) => void;
}

export interface JavaProducer {
  pid: number;
  lines: ProducerLine[];
  /** Resolves with the exit code or signal once the JVM ends. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  logPath: string;
}

const live = new Set<number>();
let hooked = false;

/** The JVM outlives nothing: kill whatever is left when bench exits. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const pid of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** Producer arguments; 4.3–4.7 know only -w -s -k -t -n, and the later versions keep them. */
export function producerArgs(options: Pick<JavaProducerOptions, 'namesrv' | 'topic' | 'threads' | 'sizeBytes'>): string[] {
  return ['-n', options.namesrv, '-t', options.topic, '-w', String(options.threads), '-s', String(options.sizeBytes), '-k', 'false'];
}

export function startJavaProducer(options: JavaProducerOptions): JavaProducer {
  hookExit();
  fs.mkdirSync(options.logDir, { recursive: true });
  const home = path.join(options.logDir, 'benchmark-producer-home');
  fs.mkdirSync(home, { recursive: true });
  const logPath = path.join(options.logDir, 'benchmark-producer.out');
  const log = fs.createWriteStream(logPath);
  const heap = options.heap ?? '1g';
  const args = [
    `-Xms${heap}`, `-Xmx${heap}`,
    // The client writes ~/logs/rocketmqlogs: keep it below the report, not in the real home.
    `-Duser.home=${home}`, `-Drocketmq.client.logRoot=${path.join(home, 'logs')}`,
    `-Drocketmq.serialize.type=${options.serializeType}`,
    '-cp', options.jar.classpath, PRODUCER_CLASS, ...producerArgs(options),
  ];
  log.write(`java ${args.join(' ')}\n`);
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new FlushbenchError('JAVA_MISSING', 'could not start `java` for the benchmark Producer');
  const pid = child.pid;
  live.add(pid);
  const lines: ProducerLine[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (text) => {
    log.write(`${text}\n`);
    const parsed = parseProducerLine(text, performance.now());
    if (parsed) {
      lines.push(parsed);
      options.onLine?.(parsed);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => log.write(chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(pid);
      resolve(code ?? signal ?? -1);
    });
  });
  const stop = async (graceMs = 5000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    await new Promise<void>((resolve) => log.end(resolve));
  };
  return { pid, lines, exited, stop, logPath };
}

/** The last lines of the JVM's output, for an error message. */
export function outputTail(producer: JavaProducer, lineCount = 15): string {
  try {
    return fs.readFileSync(producer.logPath, 'utf8').trim().split('\n').slice(-lineCount).join('\n');
  } catch {
    return '';
  }
}
