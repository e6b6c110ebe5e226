// Profiles: YAML files in profiles/ (schema in profiles/README.md), a user's own profile file,
// or a plain broker.properties (becomes a single-master profile). Validation errors name the
// file and the field.
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseProperties } from 'dot-properties';
import { parse as parseYaml } from 'yaml';
import { FlushbenchError } from '../protocol/errors.js';
import type { Claim, LoadSettings } from '../reports/runData.js';

export interface ProfileNode {
  name: string;
  role: 'master' | 'slave';
  brokerName: string;
  properties: Record<string, string>;
}

export interface ProfileVariant {
  name: string;
  set: Record<string, string>;
}

export interface Profile {
  name: string;
  description: string;
  claim: Claim;
  nodes: ProfileNode[];
  load: LoadSettings;
  variants: ProfileVariant[];
  /** Where it came from, for error messages and the report. */
  source: string;
}

export const PROFILES_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'profiles');

// Not RocketMQ's BenchmarkTest: 4.9.x treats it as a system topic (1024 queues, refuses
// UPDATE_AND_CREATE_TOPIC). One ordinary topic, created with `queues` queues on every engine,
// keeps the load shape the same on flushbench, Apache RocketMQ and a remote cluster.
export const DEFAULT_LOAD: LoadSettings = {
  driver: 'remoting', producers: 64, sizeBytes: 128, batch: 1, topic: 'FlushbenchTest', queues: 8, durationS: 20, warmupS: 5, rate: null, consumers: 0,
  // One connection per broker, shared by all producers: what RocketMQ's benchmark Producer does
  // (-w threads share one DefaultMQProducer, hence one channel per broker).
  connections: 1,
};

const TOP_KEYS = new Set(['name', 'description', 'claim', 'nodes', 'load', 'variants', 'includes']);
const CLAIM_KEYS = new Set(['text', 'tpsMin', 'tpsMax', 'latencyMsMax', 'source']);
const NODE_KEYS = new Set(['name', 'role', 'brokerName', 'properties']);

function fail(source: string, field: string, problem: string): never {
  throw new FlushbenchError('BAD_PROFILE', `${source}: ${field} ${problem}`);
}

function numberOrNull(source: string, field: string, value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(source, field, `must be a non-negative number, got ${JSON.stringify(value)}`);
  return value;
}

function stringMap(source: string, field: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(source, field, 'must be a map of key: value');
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (item === null || typeof item === 'object') fail(source, `${field}.${key}`, 'must be a scalar');
    out[key] = String(item);
  }
  return out;
}

export function validateProfile(raw: unknown, source: string): Profile {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(source, 'the file', 'is not a YAML map');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!TOP_KEYS.has(key)) fail(source, key, `is not a profile field (allowed: ${[...TOP_KEYS].join(', ')})`);
  if (typeof r.name !== 'string' || !/^[\w.-]+$/.test(r.name)) fail(source, 'name', 'must be a word ([A-Za-z0-9_.-])');
  const claimRaw = r.claim;
  if (typeof claimRaw !== 'object' || claimRaw === null) fail(source, 'claim', 'is required (text, tpsMin, tpsMax, latencyMsMax, source)');
  const c = claimRaw as Record<string, unknown>;
  for (const key of Object.keys(c)) if (!CLAIM_KEYS.has(key)) fail(source, `claim.${key}`, 'is not a claim field');
  if (typeof c.text !== 'string') fail(source, 'claim.text', 'must be text');
  const claim: Claim = {
    text: c.text,
    tpsMin: numberOrNull(source, 'claim.tpsMin', c.tpsMin),
    tpsMax: numberOrNull(source, 'claim.tpsMax', c.tpsMax),
    latencyMsMax: numberOrNull(source, 'claim.latencyMsMax', c.latencyMsMax),
    source: typeof c.source === 'string' ? c.source : '',
  };
  if ((claim.tpsMin === null) !== (claim.tpsMax === null)) fail(source, 'claim', 'needs both tpsMin and tpsMax, or neither');
  if (claim.tpsMin !== null && claim.tpsMax !== null && claim.tpsMin > claim.tpsMax) fail(source, 'claim.tpsMin', 'is larger than claim.tpsMax');
  if (!Array.isArray(r.nodes) || r.nodes.length === 0) fail(source, 'nodes', 'must list at least one broker');
  const nodes = r.nodes.map((item: unknown, i: number): ProfileNode => {
    const field = `nodes[${i}]`;
    if (typeof item !== 'object' || item === null) fail(source, field, 'must be a map');
    const n = item as Record<string, unknown>;
    for (const key of Object.keys(n)) if (!NODE_KEYS.has(key)) fail(source, `${field}.${key}`, 'is not a node field');
    if (n.role !== 'master' && n.role !== 'slave') fail(source, `${field}.role`, `must be master or slave, got ${JSON.stringify(n.role)}`);
    if (typeof n.name !== 'string' || !/^[\w.-]+$/.test(n.name)) fail(source, `${field}.name`, 'must be a word');
    const brokerName = typeof n.brokerName === 'string' ? n.brokerName : n.name;
    return { name: n.name, role: n.role, brokerName, properties: stringMap(source, `${field}.properties`, n.properties) };
  });
  for (const node of nodes) {
    if (node.role === 'slave' && !nodes.some((m) => m.role === 'master' && m.brokerName === node.brokerName)) {
      fail(source, `nodes.${node.name}`, `is a slave of ${node.brokerName}, which has no master in this profile`);
    }
  }
  const loadRaw = (r.load ?? {}) as Record<string, unknown>;
  const load: LoadSettings = { ...DEFAULT_LOAD };
  for (const [key, value] of Object.entries(loadRaw)) {
    if (!(key in DEFAULT_LOAD)) fail(source, `load.${key}`, `is not a load field (allowed: ${Object.keys(DEFAULT_LOAD).join(', ')})`);
    (load as unknown as Record<string, unknown>)[key] = value;
  }
  validateLoad(load, source);
  const variants = Array.isArray(r.variants)
    ? r.variants.map((v: unknown, i: number): ProfileVariant => {
      const item = v as Record<string, unknown>;
      if (typeof item?.name !== 'string') fail(source, `variants[${i}].name`, 'must be text');
      return { name: item.name, set: stringMap(source, `variants[${i}].set`, item.set) };
    })
    : [];
  return { name: r.name, description: typeof r.description === 'string' ? r.description : '', claim, nodes, load, variants, source };
}

export function validateLoad(load: LoadSettings, source: string): void {
  const positive = ['producers', 'sizeBytes', 'batch', 'queues', 'durationS', 'connections'] as const;
  for (const key of positive) {
    const value = load[key];
    if (value === undefined && key === 'connections') continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(source, `load.${key}`, `must be a positive number, got ${JSON.stringify(load[key])}`);
  }
  if (!Number.isFinite(load.warmupS) || load.warmupS < 0) fail(source, 'load.warmupS', 'must be ≥ 0');
  if (load.rate !== null && (!Number.isFinite(load.rate) || load.rate <= 0)) fail(source, 'load.rate', 'must be a positive number of messages per second, or null');
  if (!['remoting', 'http', 'rocketmq-benchmark'].includes(load.driver)) fail(source, 'load.driver', 'must be remoting, http or rocketmq-benchmark');
  if (load.sizeBytes > 4 * 1024 * 1024) fail(source, 'load.sizeBytes', 'exceeds RocketMQ\'s default maxMessageSize (4 MiB)');
}

export function listProfiles(): string[] {
  return fs.readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

/** Resolves a name from profiles/, a path to a YAML profile, or a path to a broker.properties. */
export function resolveProfiles(nameOrPath: string): Profile[] {
  const bundled = path.join(PROFILES_DIR, `${nameOrPath}.yaml`);
  const file = fs.existsSync(bundled) ? bundled : nameOrPath;
  if (!fs.existsSync(file)) {
    throw new FlushbenchError('UNKNOWN_PROFILE', `no profile "${nameOrPath}": use one of ${listProfiles().join(', ')}, or a path to a .yaml profile or a broker.properties`);
  }
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.properties')) return [profileFromProperties(file, text)];
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new FlushbenchError('BAD_PROFILE', `${file}: not valid YAML: ${(error as Error).message}`);
  }
  const includes = (raw as { includes?: unknown })?.includes;
  if (Array.isArray(includes)) return includes.flatMap((name) => resolveProfiles(String(name)));
  return [validateProfile(raw, file)];
}

function profileFromProperties(file: string, text: string): Profile {
  const properties = parseProperties(text) as Record<string, string>;
  const flush = properties.flushDiskType ?? 'ASYNC_FLUSH';
  return {
    name: path.basename(file).replace(/\.properties$/, ''),
    description: `single broker from ${file}`,
    claim: { text: `user broker.properties (${flush}); no claim`, tpsMin: null, tpsMax: null, latencyMsMax: null, source: file },
    nodes: [{ name: properties.brokerName ?? 'broker-a', role: 'master', brokerName: properties.brokerName ?? 'broker-a', properties }],
    load: { ...DEFAULT_LOAD },
    variants: [],
    source: file,
  };
}

/** `--set key=value`: `load.x=…` changes the load, anything else is a broker key for every node. */
export function applyOverrides(profile: Profile, overrides: string[]): Profile {
  const next: Profile = { ...profile, load: { ...profile.load }, nodes: profile.nodes.map((n) => ({ ...n, properties: { ...n.properties } })) };
  for (const item of overrides) {
    const match = /^([\w.]+)=(.*)$/.exec(item);
    if (!match) throw new FlushbenchError('BAD_OVERRIDE', `--set ${item} is not key=value`);
    const [, key, value] = match;
    if (key.startsWith('load.')) {
      const field = key.slice(5);
      if (!(field in DEFAULT_LOAD)) throw new FlushbenchError('BAD_OVERRIDE', `--set ${key}: no such load field (${Object.keys(DEFAULT_LOAD).join(', ')})`);
      const numeric = typeof DEFAULT_LOAD[field as keyof LoadSettings] === 'number' || field === 'rate';
      (next.load as unknown as Record<string, unknown>)[field] = numeric ? (value === 'null' ? null : Number(value)) : value;
    } else {
      for (const node of next.nodes) node.properties[key] = value;
    }
  }
  validateLoad(next.load, `${profile.source} (after --set)`);
  return next;
}
