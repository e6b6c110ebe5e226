// Where RocketMQ's benchmark Producer comes from. A binary distribution (--rocketmq-home) has its
// own version's rocketmq-example jar in lib/. Maven Central has rocketmq-example only up to
// 4.7.0, so for a Maven-fetched 4.9.x the 4.7.0 example jar is fetched into its own directory
// beside lib/ and run on the fetched 4.9.x client jars: the Producer uses only DefaultMQProducer,
// Message and ServerUtil, whose signatures did not change, and the client on the wire is then the
// same 4.9.x client the engine and the other Java tests use (its own 4.7.0 client would add a
// second client version to the comparison).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';
import type { RocketmqLib } from '../rocketmq/fetch.js';

/** The newest rocketmq-example on Maven Central (checked with mvn: 4.8.0+ do not resolve). */
export const CENTRAL_EXAMPLE_VERSION = '4.7.0';
export const PRODUCER_CLASS = 'org.apache.rocketmq.example.benchmark.Producer';
/** Beside the cache's lib/: holds only rocketmq-example-<version>.jar. */
export const EXAMPLE_DIR = 'benchmark-example';

export interface BenchmarkProducerJar {
  /** java -cp value: the example jar first, then the engine's lib/*. */
  classpath: string;
  /** Version of the Producer class (its options and output format follow it). */
  producerVersion: string;
  /** Version of rocketmq-client on the class path. */
  clientVersion: string;
}

function exampleJarIn(dir: string): string | null {
  if (!fs.existsSync(dir)) return null;
  return fs.readdirSync(dir).find((name) => /^rocketmq-example-.+\.jar$/.test(name)) ?? null;
}

function versionOf(jar: string): string {
  return jar.replace(/^rocketmq-example-/, '').replace(/\.jar$/, '');
}

/** Copies org.apache.rocketmq:rocketmq-example:<version> (the jar alone) into `dir` with Maven. */
export function fetchExampleJar(dir: string, version = CENTRAL_EXAMPLE_VERSION): string {
  const partial = `${dir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  const result = spawnSync('mvn', ['-q', '-B', 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy', `-Dartifact=org.apache.rocketmq:rocketmq-example:${version}`, `-DoutputDirectory=${partial}`],
    { encoding: 'utf8', cwd: path.dirname(dir), maxBuffer: 16 * 1024 * 1024 });
  if (result.error) throw new FlushbenchError('MAVEN_MISSING', `\`mvn\` was not found: fetching the benchmark Producer (rocketmq-example ${version}) needs Maven, or pass --rocketmq-home with a binary distribution`);
  const jar = exampleJarIn(partial);
  if (result.status !== 0 || !jar) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw new FlushbenchError('MAVEN_FAILED', `mvn could not fetch org.apache.rocketmq:rocketmq-example:${version}:\n${`${result.stdout}${result.stderr}`.trim().split('\n').slice(-8).join('\n')}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(partial, dir);
  return path.join(dir, jar);
}

/** The benchmark Producer's class path for this RocketMQ lib; fetches the 4.7.0 example jar once if needed. */
export function benchmarkProducerJar(lib: RocketmqLib, fetch: (dir: string) => string = fetchExampleJar): BenchmarkProducerJar {
  const libClasspath = path.join(lib.libDir, '*');
  const own = exampleJarIn(lib.libDir);
  if (own) return { classpath: libClasspath, producerVersion: versionOf(own), clientVersion: lib.version };
  const dir = path.join(path.dirname(lib.libDir), EXAMPLE_DIR);
  const jar = exampleJarIn(dir) ? path.join(dir, exampleJarIn(dir) as string) : fetch(dir);
  return { classpath: `${jar}${path.delimiter}${libClasspath}`, producerVersion: versionOf(path.basename(jar)), clientVersion: lib.version };
}
