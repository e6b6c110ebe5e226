// DLedgerEntryPusher (0.2.x): the leader pushes entries to each follower (one dispatcher per
// peer: COMPARE to find where the logs agree, TRUNCATE the follower's conflicting suffix, then
// APPEND), and a quorum checker acks appends. An index is acked once a majority holds it: the
// leader counts itself when the entry is written (ASYNC_FLUSH) or fdatasynced (SYNC_FLUSH);
// followers count once they wrote it (in memory), which is DLedger's rule.
import { childLogger } from '../../protocol/logger.js';
import type { DLedgerStore } from './dledgerStore.js';
import type { MemberState } from './memberState.js';
import { readInt64 } from '../store/messageCodec.js';
import { decodePushRequest, encodeEntries, encodePushRequest, type PushIn, type WireEntry } from './pushCodec.js';
import { DLedgerRequestCode, DLedgerResponseCode, type DLedgerRpc, type PushEntryResponse, type PushType } from './rpc.js';

const log = childLogger('dledger-pusher');
const MAX_BATCH_BYTES = 1024 * 1024;
const MAX_BATCH_ENTRIES = 1024;
const RETRY_DELAY_MS = 20;
/**
 * An idle follower gets a COMMIT after this long without a push (DLedgerEntryPusher.doCommit
 * waits 1000 ms; a shorter wait keeps follower ConsumeQueues as fresh as before once the load
 * stops, while under load the next APPEND carries commitIndex instead).
 */
const COMMIT_IDLE_MS = 10;

/** How an append ended: SUCCESS, WAIT_QUORUM_ACK_TIMEOUT or NOT_LEADER (DLedgerResponseCode names). */
export type AppendOutcome = 'SUCCESS' | 'WAIT_QUORUM_ACK_TIMEOUT' | 'NOT_LEADER';

interface Pending {
  index: number;
  deadlineMs: number;
  resolve: (outcome: AppendOutcome) => void;
}

export interface PusherHooks {
  /** The leader learned of a larger term from a follower. */
  stepDown(term: number): void;
  /** A push from a leader: make sure we follow it; false if its term is stale. */
  acceptLeader(term: number, leaderId: string): boolean;
  /** committedIndex moved (dispatch to ConsumeQueues). */
  onCommitted(committedIndex: number): void;
}

export class EntryPusher {
  private readonly waterMarks = new Map<string, number>();
  private readonly pending: Pending[] = [];
  /** JSON of the last pushed entries (the other follower usually gets the same batch). */
  private lastEncoded: { key: string; json: Buffer } | null = null;
  private leaderTerm = -1;
  private wakers = new Set<() => void>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private flushRunning = false;

  constructor(
    private readonly member: MemberState,
    private readonly store: DLedgerStore,
    private readonly rpc: DLedgerRpc,
    private readonly syncFlush: boolean,
    private readonly hooks: PusherHooks,
  ) {
    rpc.registerRaw(DLedgerRequestCode.PUSH, (body) => this.handlePush(decodePushRequest(body ?? Buffer.from('{}'))));
  }

  start(): void {
    const s = this.member.settings;
    this.sweepTimer = setInterval(() => this.expirePending(), Math.max(5, Math.min(100, Math.floor(s.maxWaitAckTimeMs / 10))));
    this.flushTimer = setInterval(() => void this.flushRound(), s.flushFileIntervalMs);
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.loseLeadership();
  }

  /** FlushDataService: fdatasync the entry files; with SYNC_FLUSH the leader's ack waits for it. */
  async flushRound(): Promise<void> {
    if (this.flushRunning || this.store.flushedIndex >= this.store.ledgerEndIndex) return;
    this.flushRunning = true;
    try {
      await this.store.flush();
      if (this.syncFlush) this.checkQuorum();
    } catch (error) {
      log.error({ err: String(error) }, 'fdatasync of the DLedger files failed');
    } finally {
      this.flushRunning = false;
    }
  }

  becomeLeader(term: number): void {
    this.loseLeadership();
    this.leaderTerm = term;
    for (const peer of this.member.settings.peers) if (peer.id !== this.member.selfId) this.waterMarks.set(peer.id, -1);
    for (const peer of this.member.settings.peers) {
      if (peer.id !== this.member.selfId) void this.dispatch(peer.id, term);
    }
  }

  /** Stops the dispatchers; appends still waiting fail with NOT_LEADER. */
  loseLeadership(): void {
    this.leaderTerm = -1;
    this.waterMarks.clear();
    this.wakeAll();
    for (const waiting of this.pending.splice(0)) waiting.resolve('NOT_LEADER');
  }

  private isLeaderOf(term: number): boolean {
    return this.leaderTerm === term && this.member.role === 'LEADER' && this.member.currTerm === term;
  }

  /** Resolves when `index` is acked by a quorum, or at the deadline. */
  waitForQuorum(index: number): Promise<AppendOutcome> {
    return new Promise((resolve) => {
      this.pending.push({ index, deadlineMs: Date.now() + this.member.settings.maxWaitAckTimeMs, resolve });
      this.wakeAll();
      if (this.syncFlush) void this.flushRound();
      else if (this.member.peerCount === 1) this.checkQuorum(); // else only a follower's answer can move the quorum
    });
  }

  private wakeAll(): void {
    const wakers = this.wakers;
    this.wakers = new Set();
    for (const wake of wakers) wake();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.add(done);
    });
  }

  private expirePending(): void {
    const now = Date.now();
    while (this.pending.length > 0 && this.pending[0].deadlineMs <= now) this.pending.shift()?.resolve('WAIT_QUORUM_ACK_TIMEOUT');
  }

  /** QuorumAckChecker: the majority-th highest watermark (leader included) becomes committedIndex. */
  checkQuorum(): void {
    const term = this.leaderTerm;
    if (!this.isLeaderOf(term)) return;
    this.store.writeOut(); // the leader counts an entry once it is in the page cache
    const marks = [this.syncFlush ? this.store.flushedIndex : this.store.ledgerEndIndex, ...this.waterMarks.values()].sort((a, b) => b - a);
    const quorumIndex = marks[Math.floor(this.member.peerCount / 2)];
    // Raft §5.4.2: only an entry of the current term commits by counting (earlier ones follow it).
    if (quorumIndex > this.store.committedIndex && this.store.termAt(quorumIndex) === term && this.store.updateCommittedIndex(quorumIndex)) {
      const committed = this.store.committedIndex;
      while (this.pending.length > 0 && this.pending[0].index <= committed) this.pending.shift()?.resolve('SUCCESS');
      this.hooks.onCommitted(committed);
    }
  }

  /**
   * Sends a PushEntryRequest with these stored entries (header + body each). The JSON of the
   * last batch is kept: the other follower usually asks for the same range next.
   */
  private push(peerId: string, term: number, type: PushType, entries: Buffer[], commitIndex: number): Promise<PushEntryResponse> {
    // Same range, same leader term, same chain CRC at its end: the same entries.
    const key = entries.length === 0 ? 'none' : `${term}:${readInt64(entries[0], 8)}:${entries.length}:${entries[entries.length - 1].readInt32BE(36)}`;
    if (this.lastEncoded?.key !== key) this.lastEncoded = { key, json: encodeEntries(entries) };
    const encoded = this.lastEncoded;
    const head = { group: this.member.settings.group, remoteId: peerId, localId: this.member.selfId, code: DLedgerResponseCode.SUCCESS, leaderId: this.member.selfId, term, type, commitIndex };
    return this.rpc.invokeRaw<PushEntryResponse>(peerId, DLedgerRequestCode.PUSH, encodePushRequest(head, entries, encoded.json), this.member.settings.maxPushTimeOutMs);
  }

  /** One peer's EntryDispatcher for one term: compare, truncate, then append until leadership ends. */
  private async dispatch(peerId: string, term: number): Promise<void> {
    let writeIndex = -1; // next index to append; -1 = logs not compared yet
    let peerCommit = -1;
    let failures = 0;
    let lastPushMs = 0;
    const store = this.store;
    while (this.isLeaderOf(term)) {
      try {
        if (writeIndex < 0) {
          writeIndex = (await this.compareAndTruncate(peerId, term)) + 1;
          continue;
        }
        if (writeIndex > store.ledgerEndIndex) {
          // A COMMIT only after COMMIT_IDLE_MS without a push, as DLedger's doCommit: sent at once,
          // it cost a round trip between two APPENDs whenever the next batch was not there yet.
          const commitIndex = Math.min(store.committedIndex, writeIndex - 1);
          const idleMs = Date.now() - lastPushMs;
          if (peerCommit < commitIndex && idleMs >= COMMIT_IDLE_MS) {
            lastPushMs = Date.now();
            const answer = await this.push(peerId, term, 'COMMIT', [], commitIndex);
            if (this.handleAnswerTerm(answer, term)) peerCommit = commitIndex;
          } else {
            await this.sleep(peerCommit < commitIndex ? COMMIT_IDLE_MS - idleMs : this.member.settings.heartBeatTimeIntervalMs);
          }
          continue;
        }
        const batch = store.readBatch(writeIndex, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES);
        const last = batch[batch.length - 1].header.index;
        const commitIndex = Math.min(store.committedIndex, last);
        lastPushMs = Date.now();
        const answer = await this.push(peerId, term, 'APPEND', batch.map((e) => e.bytes), commitIndex);
        if (!this.handleAnswerTerm(answer, term)) continue;
        failures = 0;
        if (answer.code === DLedgerResponseCode.SUCCESS) {
          writeIndex = last + 1;
          peerCommit = commitIndex;
          this.waterMarks.set(peerId, Math.max(this.waterMarks.get(peerId) ?? -1, last));
          this.checkQuorum();
        } else {
          log.info({ peer: peerId, term, writeIndex, code: answer.code }, 'append refused: comparing logs again');
          writeIndex = -1;
        }
      } catch (error) {
        // Unreachable or slow peer: compare again once it answers (it may have applied part of a batch).
        writeIndex = -1;
        log.debug({ peer: peerId, err: String(error) }, 'push failed');
        failures++;
        // Not woken by new appends: a dead peer must not be retried at the append rate.
        const backoffMs = Math.min(RETRY_DELAY_MS * 2 ** Math.min(failures, 10), this.member.settings.heartBeatTimeIntervalMs);
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
      }
    }
  }

  /** False (and steps down) if the follower has a larger term; false for any other refusal. */
  private handleAnswerTerm(answer: PushEntryResponse, term: number): boolean {
    if (answer.code === DLedgerResponseCode.EXPIRED_TERM && answer.term > term) {
      this.hooks.stepDown(answer.term);
      return false;
    }
    return answer.code === DLedgerResponseCode.SUCCESS || answer.code === DLedgerResponseCode.INCONSISTENT_STATE;
  }

  /**
   * Finds the last index where the follower's log agrees with ours (log matching: if index i
   * agrees, all before it do, so a binary search works), truncates the follower's suffix after
   * it, and returns it (-1 = nothing agrees).
   */
  private async compareAndTruncate(peerId: string, term: number): Promise<number> {
    const store = this.store;
    const compare = async (index: number): Promise<PushEntryResponse> =>
      this.push(peerId, term, 'COMPARE', index >= 0 ? [store.get(index).bytes] : [], -1);
    let probe = store.ledgerEndIndex;
    let answer = await compare(probe);
    if (!this.handleAnswerTerm(answer, term)) throw new Error(`compare refused with code ${answer.code}`);
    const followerEnd = answer.endIndex;
    let matched: number;
    if (answer.code === DLedgerResponseCode.SUCCESS) {
      matched = probe;
    } else {
      let low = -1; // agrees (empty prefix)
      let high = Math.min(store.ledgerEndIndex, followerEnd) + 1; // first index known not to agree
      if (high - 1 > low && high - 1 !== probe) {
        probe = high - 1;
        answer = await compare(probe);
        if (answer.code === DLedgerResponseCode.SUCCESS) low = probe;
        else high = probe;
      }
      for (let round = 0; round < 64 && high - low > 1; round++) {
        probe = Math.floor((low + high) / 2);
        answer = await compare(probe);
        if (!this.handleAnswerTerm(answer, term)) throw new Error(`compare refused with code ${answer.code}`);
        if (answer.code === DLedgerResponseCode.SUCCESS) low = probe;
        else high = probe;
      }
      matched = low;
    }
    if (followerEnd > matched) {
      const entries = matched >= 0 ? [store.get(matched).bytes] : [];
      const truncated = await this.push(peerId, term, 'TRUNCATE', entries, -1);
      if (truncated.code !== DLedgerResponseCode.SUCCESS) throw new Error(`truncate refused with code ${truncated.code}`);
      log.info({ peer: peerId, term, keptThrough: matched, followerEnd }, 'follower truncated its conflicting suffix');
    }
    this.waterMarks.set(peerId, Math.max(this.waterMarks.get(peerId) ?? -1, matched));
    this.checkQuorum();
    return matched;
  }

  /** EntryHandler (follower side) for PUSH. */
  handlePush(request: PushIn): PushEntryResponse {
    const store = this.store;
    const reply = (code: number, index: number | null = null, count = 0): PushEntryResponse => {
      store.writeOut(); // what we appended is in the page cache before the leader counts us
      return {
        group: this.member.settings.group, remoteId: request.localId, localId: this.member.selfId, code, leaderId: this.member.leaderId,
        term: this.member.currTerm, index, beginIndex: store.ledgerEndIndex >= 0 ? 0 : -1, endIndex: store.ledgerEndIndex, count,
      };
    };
    if (request.group !== this.member.settings.group) return reply(DLedgerResponseCode.UNKNOWN_GROUP);
    if (!this.hooks.acceptLeader(request.term, request.leaderId ?? '')) return reply(DLedgerResponseCode.EXPIRED_TERM);
    const entries = request.entries;
    const agrees = (json: WireEntry): boolean =>
      json.index <= store.ledgerEndIndex && json.index >= 0 && store.termAt(json.index) === json.term && store.indexUnit(json.index).pos === json.pos;
    switch (request.type) {
      case 'COMPARE': {
        const entry = entries[0];
        return reply(!entry || agrees(entry) ? DLedgerResponseCode.SUCCESS : DLedgerResponseCode.INCONSISTENT_STATE, entry?.index ?? -1);
      }
      case 'TRUNCATE': {
        const entry = entries[0];
        // Our leader sends the last entry both logs agree on. Apache DLedger's sends its own entry at
        // the index the follower's log must end with (DLedgerMmapFileStore.truncate): written in place
        // of the local suffix when it does not agree, e.g. entry 0 to an empty follower.
        if (entry && !agrees(entry) && entry.index > store.ledgerEndIndex + 1) return reply(DLedgerResponseCode.INCONSISTENT_STATE, entry.index);
        try {
          if (!entry || agrees(entry)) {
            store.truncateAfter(entry ? entry.index : -1);
          } else {
            store.truncateAfter(entry.index - 1);
            store.appendAsFollower(entry.toBytes());
          }
        } catch (error) {
          log.error({ err: String(error) }, 'refused a truncation');
          return reply(DLedgerResponseCode.INCONSISTENT_STATE);
        }
        return reply(DLedgerResponseCode.SUCCESS, entry?.index ?? -1);
      }
      case 'APPEND': {
        let count = 0;
        for (const json of entries) {
          if (json.index <= store.ledgerEndIndex) {
            if (!agrees(json)) return reply(DLedgerResponseCode.INCONSISTENT_STATE, json.index, count);
            continue; // a repeated push
          }
          if (json.index !== store.ledgerEndIndex + 1) return reply(DLedgerResponseCode.INCONSISTENT_STATE, json.index, count);
          try {
            store.appendAsFollower(json.toBytes());
          } catch (error) {
            log.warn({ index: json.index, err: String(error) }, 'pushed entry does not fit the local log');
            return reply(DLedgerResponseCode.INCONSISTENT_STATE, json.index, count);
          }
          count++;
        }
        this.followCommit(request.commitIndex);
        // DLedger's answer: the first index and the request's count (an Apache leader acks index + count - 1).
        return reply(DLedgerResponseCode.SUCCESS, entries[0]?.index ?? null, entries.length);
      }
      case 'COMMIT':
        this.followCommit(request.commitIndex);
        return reply(DLedgerResponseCode.SUCCESS);
      default:
        return reply(DLedgerResponseCode.INCONSISTENT_STATE);
    }
  }

  private followCommit(commitIndex: number): void {
    if (this.store.updateCommittedIndex(commitIndex)) this.hooks.onCommitted(this.store.committedIndex);
  }
}
