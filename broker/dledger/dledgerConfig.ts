// DLedger mode settings. The RocketMQ 4.9.7 broker.properties keys (MessageStoreConfig:
// enableDLegerCommitLog, dLegerGroup, dLegerPeers, dLegerSelfId, preferredLeaderId) plus
// DLedger's own timing knobs under DLedgerConfig's field names (openmessaging/dledger 0.2.7
// DLedgerConfig.java). RocketMQ 4.9.7 does not pass the timing knobs through broker.properties
// (DLedgerCommitLog builds a DLedgerConfig with their defaults); here they are settable so the
// failover bench can tighten them, and their defaults are DLedger's.
import { FlushbenchError } from '../../protocol/errors.js';

export interface DLedgerPeer {
  /** "n0", "n1" …: DLedger's member id. */
  id: string;
  /** host:port of the peer's DLedger RPC port. */
  address: string;
}

export interface DLedgerSettings {
  group: string;
  selfId: string;
  peers: DLedgerPeer[];
  /** Leader sends a heartbeat this often (DLedgerConfig.heartBeatTimeIntervalMs, 2000). */
  heartBeatTimeIntervalMs: number;
  /** A follower starts an election after maxHeartBeatLeak × interval without one (3). */
  maxHeartBeatLeak: number;
  /** A candidate waits a random time in [min, max) between vote rounds (300, 1000). */
  minVoteIntervalMs: number;
  maxVoteIntervalMs: number;
  /** An append not acked by a quorum in this time fails (maxWaitAckTimeMs, 2500). */
  maxWaitAckTimeMs: number;
  /** A push RPC without an answer in this time is retried (maxPushTimeOutMs, 1000). */
  maxPushTimeOutMs: number;
  /** Background fdatasync period of the entry files (DLedger's FlushDataService, flushFileInterval 10). */
  flushFileIntervalMs: number;
  /** committedIndex is written to the checkpoint file this often (checkPointInterval, 3000). */
  checkPointIntervalMs: number;
  /** Ids that should win elections when alive (preferredLeaderId); empty = none. */
  preferredLeaderIds: string[];
}

export const DLEDGER_DEFAULTS = {
  group: 'default',
  heartBeatTimeIntervalMs: 2000,
  maxHeartBeatLeak: 3,
  minVoteIntervalMs: 300,
  maxVoteIntervalMs: 1000,
  maxWaitAckTimeMs: 2500,
  maxPushTimeOutMs: 1000,
  flushFileIntervalMs: 10,
  checkPointIntervalMs: 3000,
} as const;

/** Every key this module reads; brokerConfig skips them in its unknown-key check. */
export const DLEDGER_KEYS = new Set([
  'enableDLegerCommitLog', 'dLegerGroup', 'dLegerPeers', 'dLegerSelfId', 'preferredLeaderId', 'enableBatchPush',
  'heartBeatTimeIntervalMs', 'maxHeartBeatLeak', 'minVoteIntervalMs', 'maxVoteIntervalMs', 'maxWaitAckTimeMs', 'maxPushTimeOutMs',
  'flushFileInterval', 'checkPointInterval',
]);

function intKey(raw: Record<string, string>, key: string, fallback: number, min: number): number {
  if (!(key in raw)) return fallback;
  const text = String(raw[key]).trim();
  if (!/^\d+$/.test(text) || Number(text) < min) throw new FlushbenchError('BAD_CONFIG', `${key}=${raw[key]} must be an integer ≥ ${min}`);
  return Number(text);
}

/** `n0-host:port;n1-host:port;…` (DLedgerConfig.peers). */
export function parsePeers(text: string): DLedgerPeer[] {
  const peers = text.split(';').map((item) => item.trim()).filter(Boolean).map((item) => {
    const cut = item.indexOf('-');
    const id = item.slice(0, cut);
    const address = item.slice(cut + 1);
    if (cut <= 0 || !/^n\d+$/.test(id) || !/^[^:]+:\d+$/.test(address)) {
      throw new FlushbenchError('BAD_CONFIG', `dLegerPeers entry "${item}" is not n<i>-host:port (e.g. n0-127.0.0.1:40911)`);
    }
    return { id, address };
  });
  if (new Set(peers.map((p) => p.id)).size !== peers.length) throw new FlushbenchError('BAD_CONFIG', `dLegerPeers=${text} names a member twice`);
  return peers;
}

/** The DLedger settings, or null when enableDLegerCommitLog is not true. */
export function parseDLedgerSettings(raw: Record<string, string>): DLedgerSettings | null {
  const enabled = String(raw.enableDLegerCommitLog ?? 'false').trim();
  if (enabled !== 'true' && enabled !== 'false') throw new FlushbenchError('BAD_CONFIG', `enableDLegerCommitLog=${enabled} must be true or false`);
  if (enabled !== 'true') return null;
  const peersText = String(raw.dLegerPeers ?? '').trim();
  if (!peersText) throw new FlushbenchError('BAD_CONFIG', 'enableDLegerCommitLog=true needs dLegerPeers=n0-host:port;n1-host:port;n2-host:port');
  const peers = parsePeers(peersText);
  const selfId = String(raw.dLegerSelfId ?? '').trim();
  if (!peers.some((p) => p.id === selfId)) throw new FlushbenchError('BAD_CONFIG', `dLegerSelfId=${selfId} is not one of the ids in dLegerPeers (${peers.map((p) => p.id).join(', ')})`);
  const minVote = intKey(raw, 'minVoteIntervalMs', DLEDGER_DEFAULTS.minVoteIntervalMs, 1);
  const maxVote = intKey(raw, 'maxVoteIntervalMs', DLEDGER_DEFAULTS.maxVoteIntervalMs, 1);
  if (maxVote <= minVote) throw new FlushbenchError('BAD_CONFIG', `maxVoteIntervalMs=${maxVote} must be > minVoteIntervalMs=${minVote}`);
  const preferred = String(raw.preferredLeaderId ?? '').split(/[;,]/).map((s) => s.trim()).filter(Boolean);
  for (const id of preferred) {
    if (!peers.some((p) => p.id === id)) throw new FlushbenchError('BAD_CONFIG', `preferredLeaderId=${id} is not one of the ids in dLegerPeers`);
  }
  return {
    group: String(raw.dLegerGroup ?? DLEDGER_DEFAULTS.group).trim() || DLEDGER_DEFAULTS.group,
    selfId,
    peers,
    heartBeatTimeIntervalMs: intKey(raw, 'heartBeatTimeIntervalMs', DLEDGER_DEFAULTS.heartBeatTimeIntervalMs, 1),
    maxHeartBeatLeak: intKey(raw, 'maxHeartBeatLeak', DLEDGER_DEFAULTS.maxHeartBeatLeak, 1),
    minVoteIntervalMs: minVote,
    maxVoteIntervalMs: maxVote,
    maxWaitAckTimeMs: intKey(raw, 'maxWaitAckTimeMs', DLEDGER_DEFAULTS.maxWaitAckTimeMs, 1),
    maxPushTimeOutMs: intKey(raw, 'maxPushTimeOutMs', DLEDGER_DEFAULTS.maxPushTimeOutMs, 1),
    flushFileIntervalMs: intKey(raw, 'flushFileInterval', DLEDGER_DEFAULTS.flushFileIntervalMs, 1),
    checkPointIntervalMs: intKey(raw, 'checkPointInterval', DLEDGER_DEFAULTS.checkPointIntervalMs, 1),
    preferredLeaderIds: preferred,
  };
}

/** RocketMQ's broker id of a follower: selfId index + 1 (DLedgerCommitLog: "n1" → 2). */
export function followerBrokerId(selfId: string): number {
  return Number(selfId.slice(1)) + 1;
}

/** What reports show for a DLedger broker (brokerRole is ignored, as in RocketMQ). */
export function dledgerEffectiveSettings(settings: DLedgerSettings | null, configuredRole: string): Record<string, string> {
  if (!settings) return { enableDLegerCommitLog: 'false' };
  return {
    enableDLegerCommitLog: 'true',
    dLegerGroup: settings.group,
    dLegerPeers: settings.peers.map((p) => `${p.id}-${p.address}`).join(';'),
    dLegerSelfId: settings.selfId,
    brokerRole: `${configuredRole} (ignored: with enableDLegerCommitLog=true the elected DLedger leader is the master, as in RocketMQ)`,
    brokerId: 'set by the DLedger role: 0 while leader, selfId index + 1 while follower',
    heartBeatTimeIntervalMs: String(settings.heartBeatTimeIntervalMs),
    maxHeartBeatLeak: String(settings.maxHeartBeatLeak),
    minVoteIntervalMs: String(settings.minVoteIntervalMs),
    maxVoteIntervalMs: String(settings.maxVoteIntervalMs),
    maxWaitAckTimeMs: String(settings.maxWaitAckTimeMs),
    maxPushTimeOutMs: String(settings.maxPushTimeOutMs),
    flushFileInterval: String(settings.flushFileIntervalMs),
    checkPointInterval: String(settings.checkPointIntervalMs),
    preferredLeaderId: settings.preferredLeaderIds.join(';') || '(none)',
    push: 'one batch in flight per follower, ≤ 1 MiB and ≤ 1024 entries (DLedger pipelines up to 1000 single-entry pushes; enableBatchPush is accepted, not read)',
  };
}
