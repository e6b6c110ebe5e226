// `bench rocketmq fetch`: Apache RocketMQ's jars from Maven Central into a per-version cache,
// through `mvn dependency:copy-dependencies` on loadgen/rocketmq/pom.xml. A marker file written
// last makes a complete cache reusable without Maven; an unpacked binary distribution
// (--rocketmq-home) is used as it is.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';
import { parseJavaMajor } from './rocketmqConfig.js';
import { CENTRAL_EXAMPLE_VERSION, EXAMPLE_DIR, fetchExampleJar } from '../rocketmqBenchmark/producerJar.js';
import { processAlive } from '../../broker/processAlive.js';

export const DEFAULT_ROCKETMQ_VERSION = '4.9.7';
const MARKER = 'fetch-complete.json';
const INSTALL_HINT = 'install a JDK and Maven, e.g. `apt-get install openjdk-17-jre-headless maven`';
/** loadgen/rocketmq/pom.xml in the source tree (this file runs from dist/loadgen/rocketmq/). */
export const POM_PATH = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'loadgen', 'rocketmq', 'pom.xml');

export interface RocketmqLib {
  version: string;
  libDir: string;
  /** 'cache' (reused), 'maven' (just fetched) or 'home' (--rocketmq-home). */
  source: 'cache' | 'maven' | 'home';
  jarCount: number;
  /** The benchmark Producer (rocketmq-example) is on the class path; Maven Central has no 4.8+ build of it. */
  benchmarkProducer: boolean;
}

export interface FetchOptions {
  version?: string;
  cacheDir?: string;
  rocketmqHome?: string;
  /** Progress lines (not Maven's output, which is shown only on failure). */
  onProgress?: (line: string) => void;
}

/** ~/.cache/flushbench/rocketmq-<version>, honouring XDG_CACHE_HOME. */
export function defaultCacheDir(version: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'flushbench', `rocketmq-${version}`);
}

/** The major version of `java` on PATH; a clear error when it is missing. */
export function javaMajorVersion(javaCommand = 'java'): number {
  const result = spawnSync(javaCommand, ['-version'], { encoding: 'utf8' });
  if (result.error) throw new FlushbenchError('JAVA_MISSING', `\`${javaCommand}\` was not found (${(result.error as NodeJS.ErrnoException).code}); Apache RocketMQ needs Java: ${INSTALL_HINT}`);
  const major = parseJavaMajor(`${result.stderr}${result.stdout}`);
  if (major === null) throw new FlushbenchError('JAVA_MISSING', `cannot read the version from \`${javaCommand} -version\`: ${result.stderr.trim()}`);
  return major;
}

function requireMaven(): void {
  const result = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (result.error) throw new FlushbenchError('MAVEN_MISSING', `\`mvn\` was not found (${(result.error as NodeJS.ErrnoException).code}); fetching RocketMQ from Maven Central needs Maven: ${INSTALL_HINT}, or pass --rocketmq-home DIR with an unpacked binary distribution`);
}

// Maven colours its errors even with -B on some versions; keep messages plain.
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function runMaven(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('mvn', ['-q', '-B', '-f', POM_PATH, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.replace(ANSI_COLOUR, '') };
}

function jarsIn(libDir: string): string[] {
  return fs.existsSync(libDir) ? fs.readdirSync(libDir).filter((name) => name.endsWith('.jar')) : [];
}

/** The version in lib/rocketmq-broker-<version>.jar, or null. */
export function versionFromJars(jars: readonly string[]): string | null {
  for (const jar of jars) {
    const match = jar.match(/^rocketmq-broker-(.+)\.jar$/);
    if (match) return match[1];
  }
  return null;
}

function useHome(home: string): RocketmqLib {
  const libDir = path.join(path.resolve(home), 'lib');
  const jars = jarsIn(libDir);
  const version = versionFromJars(jars);
  if (!version) throw new FlushbenchError('ROCKETMQ_HOME_INVALID', `${libDir} has no rocketmq-broker-<version>.jar; --rocketmq-home must be an unpacked binary distribution (rocketmq-all-<version>-bin-release)`);
  return { version, libDir, source: 'home', jarCount: jars.length, benchmarkProducer: jars.some((j) => j.startsWith('rocketmq-example-')) };
}

/** Versions Maven Central lists for both rocketmq-namesrv and rocketmq-broker (maven-metadata via a range no version satisfies). */
export function availableVersions(): string[] {
  runMaven(['-Drocketmq.version=[99999,)', 'dependency:resolve']);
  const evaluated = spawnSync('mvn', ['-q', '-B', 'help:evaluate', '-Dexpression=settings.localRepository', '-DforceStdout'], { encoding: 'utf8' });
  const printed = evaluated.status === 0 ? evaluated.stdout.replace(ANSI_COLOUR, '').trim() : '';
  const localRepo = printed && path.isAbsolute(printed) ? printed : path.join(os.homedir(), '.m2', 'repository');
  const listed = (artifact: string): Set<string> => {
    const dir = path.join(localRepo, 'org', 'apache', 'rocketmq', artifact);
    const versions = new Set<string>();
    if (!fs.existsSync(dir)) return versions;
    for (const file of fs.readdirSync(dir).filter((name) => /^maven-metadata.*\.xml$/.test(name))) {
      for (const match of fs.readFileSync(path.join(dir, file), 'utf8').matchAll(/<version>([^<]+)<\/version>/g)) versions.add(match[1]);
    }
    return versions;
  };
  const broker = listed('rocketmq-broker');
  return [...listed('rocketmq-namesrv')].filter((v) => broker.has(v));
}

function tail(text: string, lines: number): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** Resolves RocketMQ's jars (cache, Maven Central, or --rocketmq-home) and says where they are. */
export function fetchRocketmq(options: FetchOptions = {}): RocketmqLib {
  if (options.rocketmqHome) return useHome(options.rocketmqHome);
  const version = options.version ?? DEFAULT_ROCKETMQ_VERSION;
  if (!/^[\w.-]+$/.test(version)) throw new FlushbenchError('BAD_VERSION', `"${version}" is not a version (e.g. ${DEFAULT_ROCKETMQ_VERSION})`);
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir(version));
  const libDir = path.join(cacheDir, 'lib');
  const markerPath = path.join(cacheDir, MARKER);
  const cached = (): RocketmqLib | null => {
    if (!fs.existsSync(markerPath)) return null;
    const marker = JSON.parse(fs.readFileSync(markerPath, 'utf8')) as { version: string; benchmarkProducer: boolean };
    const jars = jarsIn(libDir);
    if (marker.version !== version || versionFromJars(jars) !== version) return null;
    return { version, libDir, source: 'cache', jarCount: jars.length, benchmarkProducer: marker.benchmarkProducer };
  };
  const hit = cached();
  if (hit) return hit;
  javaMajorVersion();
  requireMaven();
  fs.mkdirSync(cacheDir, { recursive: true });
  // Several processes (parallel test files, two bench runs) may fetch into one cache at once:
  // one fetches, the others wait for it and then find the cache complete.
  return withFetchLock(cacheDir, options.onProgress ?? (() => {}), () => cached() ?? fetchIntoCache(version, cacheDir, libDir, markerPath, options.onProgress ?? (() => {})));
}

const FETCH_LOCK = '.fetch.lock';
/** A first fetch downloads ~28 MB through Maven; a waiter gives up after this. */
const FETCH_LOCK_TIMEOUT_MS = 15 * 60_000;
const FETCH_LOCK_POLL_MS = 500;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `work` holding an exclusive lock file in the cache directory; a dead holder's lock is taken over. */
function withFetchLock<T>(cacheDir: string, progress: (line: string) => void, work: () => T): T {
  const lockPath = path.join(cacheDir, FETCH_LOCK);
  const deadline = Date.now() + FETCH_LOCK_TIMEOUT_MS;
  let announced = false;
  for (;;) {
    try {
      const fd = fs.openSync(lockPath, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW, 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(fs.readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
        fs.rmSync(lockPath, { force: true }); // its fetch died with it
        continue;
      }
      if (Date.now() > deadline) throw new FlushbenchError('FETCH_LOCKED', `another process (pid ${holder}) has been fetching into ${cacheDir} for ${FETCH_LOCK_TIMEOUT_MS / 60_000} min; remove ${lockPath} if it is stuck`);
      if (!announced) progress(`waiting for pid ${holder}, which is fetching into ${cacheDir}…`);
      announced = true;
      sleepSync(FETCH_LOCK_POLL_MS);
    }
  }
  try {
    return work();
  } finally {
    fs.rmSync(lockPath, { force: true });
  }
}

function fetchIntoCache(version: string, cacheDir: string, libDir: string, markerPath: string, progress: (line: string) => void): RocketmqLib {
  // Fetch into a fresh directory and rename it into place, so a broken fetch never looks complete.
  fs.rmSync(markerPath, { force: true });
  const partial = path.join(cacheDir, 'lib.partial');
  fs.rmSync(partial, { recursive: true, force: true });
  progress(`resolving org.apache.rocketmq:rocketmq-{namesrv,broker,tools,client}:${version} with Maven into ${libDir} (the first time takes a while)…`);
  const copied = runMaven([`-Drocketmq.version=${version}`, `-DoutputDirectory=${partial}`, 'dependency:copy-dependencies']);
  if (!copied.ok) {
    fs.rmSync(partial, { recursive: true, force: true });
    if (/could not be resolved|Could not find artifact|No versions available/i.test(copied.output)) {
      progress('listing the versions Maven Central has…');
      const versions = availableVersions();
      throw new FlushbenchError('ROCKETMQ_VERSION_NOT_FOUND', `RocketMQ ${version} is not on Maven Central (or it is unreachable). Versions with both rocketmq-namesrv and rocketmq-broker: ${versions.join(', ') || '(none found: check network access to https://repo.maven.apache.org)'}\nMaven said:\n${tail(copied.output, 8)}`);
    }
    throw new FlushbenchError('MAVEN_FAILED', `mvn dependency:copy-dependencies failed for RocketMQ ${version}:\n${tail(copied.output, 20)}`);
  }
  // The benchmark Producer (producer.sh) is in rocketmq-example, which Central has only up to 4.7.0.
  const example = runMaven([`-Drocketmq.version=${version}`, `-Dartifact=org.apache.rocketmq:rocketmq-example:${version}`, `-DoutputDirectory=${partial}`, 'dependency:copy']);
  if (!example.ok) fetchNewestExample(cacheDir, version, progress);
  fs.rmSync(libDir, { recursive: true, force: true });
  fs.renameSync(partial, libDir);
  const jars = jarsIn(libDir);
  if (versionFromJars(jars) !== version) throw new FlushbenchError('MAVEN_FAILED', `Maven finished but ${libDir} has no rocketmq-broker-${version}.jar`);
  fs.writeFileSync(markerPath, `${JSON.stringify({ version, jars: jars.length, benchmarkProducer: example.ok, fetchedAt: new Date().toISOString() }, null, 2)}\n`);
  return { version, libDir, source: 'maven', jarCount: jars.length, benchmarkProducer: example.ok };
}

/** No rocketmq-example of this version: the newest on Central goes beside lib/, for --driver rocketmq-benchmark. */
function fetchNewestExample(cacheDir: string, version: string, progress: (line: string) => void): void {
  try {
    const jar = fetchExampleJar(path.join(cacheDir, EXAMPLE_DIR));
    progress(`org.apache.rocketmq:rocketmq-example:${version} is not on Maven Central; fetched ${CENTRAL_EXAMPLE_VERSION} (the newest there) into ${jar}: --driver rocketmq-benchmark runs its Producer on the ${version} client`);
  } catch (error) {
    progress(`note: no benchmark Producer (rocketmq-example ${version} and ${CENTRAL_EXAMPLE_VERSION} did not resolve: ${(error as Error).message.split('\n')[0]}); use --rocketmq-home with the binary distribution for it`);
  }
}
