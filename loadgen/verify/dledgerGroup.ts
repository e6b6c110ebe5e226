// A DLedger group for bench verify: the profile's enableDLegerCommitLog nodes with their ports,
// dLegerPeers and dLegerSelfId fixed for the whole series (a restarted member comes back with the
// same properties, on its surviving or power-cut store), and the questions verify asks it over
// the metrics endpoint: who leads and takes writes, and have all members the same log.
import { FlushbenchError } from '../../protocol/errors.js';
import { freeBrokerPort } from '../freePorts.js';
import { type MetricValues, scrapeMetrics } from '../metricsScraper.js';
import type { ProfileNode } from '../profile.js';
import { planNodes, type VerifyNode } from './nodes.js';

const HOST = '127.0.0.1';
const POLL_MS = 50;

/** True when the profile's master runs the DLedger CommitLog (after `overrides`). */
export function isDLedgerProfile(nodes: readonly ProfileNode[], overrides: Record<string, string>): boolean {
  const master = nodes.find((n) => n.role === 'master');
  return String({ ...(master?.properties ?? {}), ...overrides }.enableDLegerCommitLog ?? 'false') === 'true';
}

/** planNodes, plus one DLedger port per member and dLegerGroup / dLegerPeers / dLegerSelfId (n0, n1 … in profile order). */
export async function planDLedgerGroup(specs: readonly ProfileNode[], overrides: Record<string, string>): Promise<VerifyNode[]> {
  const nodes = await planNodes(specs, overrides);
  if (nodes.length < 3) throw new FlushbenchError('VERIFY_FAULT_NOT_APPLICABLE', `a DLedger verify needs a group of 3 or more (profile has ${nodes.length})`);
  const taken = new Set<number>();
  for (const node of nodes) for (let p = node.listenPort - 2; p <= node.listenPort + 1; p++) taken.add(p);
  const ports: number[] = [];
  for (const _node of nodes) ports.push(await freeBrokerPort(taken, HOST));
  const peers = ports.map((port, i) => `n${i}-${HOST}:${port}`).join(';');
  nodes.forEach((node, i) => Object.assign(node.properties, { dLegerGroup: node.spec.brokerName, dLegerPeers: peers, dLegerSelfId: `n${i}` }));
  return nodes;
}

export interface MemberState {
  node: VerifyNode;
  /** null: not running or its metrics did not answer. */
  gauges: MetricValues | null;
}

export async function memberStates(nodes: readonly VerifyNode[]): Promise<MemberState[]> {
  return Promise.all(nodes.map(async (node) => ({ node, gauges: node.process ? await scrapeMetrics(node.metricsUrl).catch(() => null) : null })));
}

/** The running member that leads and takes writes (dledger_writable); the highest term if two claim it. */
export function writableLeader(states: readonly MemberState[]): VerifyNode | null {
  let best: MemberState | null = null;
  for (const s of states) {
    if (s.gauges?.get('dledger_writable') !== 1) continue;
    if (!best || (s.gauges.get('dledger_term') ?? -1) > (best.gauges?.get('dledger_term') ?? -1)) best = s;
  }
  return best?.node ?? null;
}

export async function findLeader(nodes: readonly VerifyNode[]): Promise<VerifyNode | null> {
  return writableLeader(await memberStates(nodes));
}

export interface Convergence {
  leader: VerifyNode;
  /** Every member's ledger end index (all equal, and all committed). */
  ledgerEndIndex: number;
  waitedMs: number;
}

/**
 * Waits (bounded) until every member runs, one leader takes writes, and all members have the same
 * ledger end and committed index as the leader (nothing in flight, every entry known committed).
 */
export async function waitConverged(nodes: readonly VerifyNode[], timeoutMs: number): Promise<Convergence> {
  const started = Date.now();
  let last = '';
  for (;;) {
    const states = await memberStates(nodes);
    const leader = writableLeader(states);
    const ends = states.map((s) => s.gauges?.get('dledger_ledger_end_index') ?? NaN);
    const committed = states.map((s) => s.gauges?.get('dledger_committed_index') ?? NaN);
    if (leader && states.every((s) => s.gauges) && ends.every((e, i) => e === ends[0] && committed[i] === e)) {
      return { leader, ledgerEndIndex: ends[0], waitedMs: Date.now() - started };
    }
    last = states.map((s, i) => `${s.node.spec.name}: end ${ends[i]} committed ${committed[i]}${s.gauges?.get('dledger_writable') === 1 ? ' (leader)' : ''}`).join(', ');
    if (Date.now() - started > timeoutMs) throw new FlushbenchError('DLEDGER_NOT_CONVERGED', `the DLedger members did not reach the same committed log within ${timeoutMs} ms (${last}); see the broker logs`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Waits (bounded) for a member that takes writes. */
export async function waitForLeader(nodes: readonly VerifyNode[], timeoutMs: number): Promise<VerifyNode> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leader = await findLeader(nodes);
    if (leader) return leader;
    if (Date.now() > deadline) throw new FlushbenchError('DLEDGER_NO_LEADER', `no DLedger member took writes within ${timeoutMs} ms; see the broker logs`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
