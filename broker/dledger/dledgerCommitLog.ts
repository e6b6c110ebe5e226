// DLedgerCommitLog (rocketmq-all-4.9.7 store/dledger/DLedgerCommitLog.java): the CommitLog of
// a broker with enableDLegerCommitLog=true. Each RocketMQ message record is the body of one
// DLedger entry; its physical offset is entry pos + 48 (DLedgerEntry.BODY_OFFSET), written into
// the record before the entry is stored (RocketMQ's append hook), so ConsumeQueue entries point
// straight into the DLedger data file. Only committed entries reach the ConsumeQueues, on the
// leader and on followers; a new leader takes writes once everything in its log is committed
// and dispatched (DLedgerRoleChangeHandler's wait), then continues each queue at its end.
import { childLogger } from '../../protocol/logger.js';
import type { AppendResult } from '../store/commitLog.js';
import type { ConsumeQueue } from '../store/consumeQueue.js';
import type { ConsumeQueueStore } from '../store/consumeQueueStore.js';
import { encodeMessage, measureMessage, MessageEncodingError, type MessageToStore, numericFieldProblem } from '../store/messageCodec.js';
import type { PutStatus } from '../store/putStatus.js';
import { dispatchRecord } from '../store/recovery.js';
import type { DLedgerServer } from './dledgerServer.js';
import { ENTRY_HEADER_BYTES } from './entryCodec.js';
import type { AppendOutcome } from './entryPusher.js';
import type { Role } from './memberState.js';

const log = childLogger('dledger-commitlog');
/** Smallest RocketMQ record (empty body, topic and properties): shorter bodies are term-start entries. */
const MIN_RECORD_BYTES = 91;
const READY_POLL_MS = 5;

/** RocketMQ 4.9.7's mapping of DLedger append results (DLedgerCommitLog.asyncPutMessage). */
function putStatusOf(outcome: AppendOutcome): PutStatus {
  if (outcome === 'SUCCESS') return 'PUT_OK';
  // "Do not return flush_slave_timeout to the client, for the ons client will ignore it."
  if (outcome === 'WAIT_QUORUM_ACK_TIMEOUT') return 'OS_PAGECACHE_BUSY';
  return 'SERVICE_NOT_AVAILABLE';
}

export interface DLedgerRoleHandler {
  /** The member leads and its log is committed and dispatched: act as master (brokerId 0). */
  onMaster(term: number): void;
  /** Follower or candidate: act as slave (brokerId = selfId index + 1). */
  onSlave(role: Role, term: number): void;
}

export class DLedgerCommitLog {
  /** True while this member leads and has finished its take-over (RocketMQ: brokerRole master). */
  writable = false;
  private dispatchedIndex = -1;
  private readyTimer: NodeJS.Timeout | null = null;
  private roleHandler: DLedgerRoleHandler | null = null;

  constructor(
    readonly server: DLedgerServer,
    private readonly queues: ConsumeQueueStore,
    private readonly delayLevelsMs: readonly number[],
    private readonly maxMessageSize: number,
    private readonly commitListeners: Array<(committedOffset: number) => void>,
  ) {
    server.commitListeners.push(() => this.dispatch());
    server.roleListeners.push((role, term) => this.roleChanged(role, term));
    this.dispatch(); // entries committed before the restart (ConsumeQueues are rebuilt from the log)
  }

  setRoleHandler(handler: DLedgerRoleHandler): void {
    this.roleHandler = handler;
  }

  get maxCommittedOffset(): number {
    return this.server.store.committedPos;
  }

  get minOffset(): number {
    return 0;
  }

  /** Bytes of committed entries only (pulls never see an entry a new leader could drop). */
  readCommittedSync(physicalOffset: number, maxBytes: number): Buffer | null {
    const end = Math.min(physicalOffset + maxBytes, this.server.store.committedPos);
    if (physicalOffset < 0 || end <= physicalOffset) return null;
    return Buffer.from(this.server.store.readData(physicalOffset, end - physicalOffset)); // a copy: views of the store's memory are reused
  }

  /** ReputMessageService over the DLedger log: committed records → ConsumeQueue entries. */
  dispatch(): void {
    const store = this.server.store;
    const committed = store.committedIndex;
    if (this.dispatchedIndex >= committed) return;
    let next = this.dispatchedIndex + 1;
    while (next <= committed) {
      const batch = store.readBatch(next, 4 * 1024 * 1024, 4096);
      if (batch.length === 0) break;
      for (const entry of batch) {
        const size = entry.header.bodySizeBytes;
        if (size >= MIN_RECORD_BYTES && entry.header.index <= committed) {
          dispatchRecord(this.queues, entry.bytes, ENTRY_HEADER_BYTES, entry.header.pos + ENTRY_HEADER_BYTES, size, this.delayLevelsMs);
        }
        next = entry.header.index + 1;
      }
    }
    this.dispatchedIndex = Math.min(next - 1, committed);
    for (const listener of this.commitListeners) listener(store.committedPos);
  }

  private roleChanged(role: Role, term: number): void {
    this.writable = false;
    if (this.readyTimer) clearInterval(this.readyTimer);
    this.readyTimer = null;
    if (role !== 'LEADER') {
      this.roleHandler?.onSlave(role, term);
      return;
    }
    // DLedgerRoleChangeHandler: wait until ledgerEndIndex == committedIndex and dispatch caught up.
    this.readyTimer = setInterval(() => {
      const { store, member } = this.server;
      if (member.role !== 'LEADER' || member.currTerm !== term) {
        if (this.readyTimer) clearInterval(this.readyTimer);
        this.readyTimer = null;
        return;
      }
      if (store.committedIndex !== store.ledgerEndIndex || this.dispatchedIndex !== store.committedIndex) return;
      if (this.readyTimer) clearInterval(this.readyTimer);
      this.readyTimer = null;
      for (const queue of this.queues.all()) queue.nextAssignOffset = queue.maxOffset; // recoverTopicQueueTable
      this.writable = true;
      log.info({ selfId: member.selfId, term, committedIndex: store.committedIndex }, 'DLedger leader ready: taking writes as master');
      this.roleHandler?.onMaster(term);
    }, READY_POLL_MS);
  }

  private rejected(status: PutStatus, reason: string): AppendResult {
    return { status, physicalOffset: -1, queueOffset: -1, sizeBytes: 0, storeTimestamp: 0, settled: Promise.resolve(status), reason };
  }

  /** The leader's put: encode the record at pos + 48, append the entry, ack on quorum. */
  append(message: MessageToStore, queue: ConsumeQueue): AppendResult {
    if (!this.writable || !this.server.isLeader) {
      return this.rejected('SERVICE_NOT_AVAILABLE', `this DLedger member is not the ready leader (leader: ${this.server.member.leaderId ?? 'unknown'})`);
    }
    const problem = numericFieldProblem(message);
    if (problem) return this.rejected('MESSAGE_ILLEGAL', problem);
    let lengths;
    try {
      lengths = measureMessage(message);
    } catch (error) {
      if (error instanceof MessageEncodingError) return this.rejected(error.reason === 'PROPERTIES_TOO_LONG' ? 'PROPERTIES_SIZE_EXCEEDED' : 'MESSAGE_ILLEGAL', error.message);
      throw error;
    }
    if (lengths.totalBytes > this.maxMessageSize) return this.rejected('MESSAGE_ILLEGAL', `message is ${lengths.totalBytes} bytes; maxMessageSize is ${this.maxMessageSize}`);
    if (ENTRY_HEADER_BYTES + lengths.totalBytes > this.server.store.maxEntryBytes) {
      return this.rejected('MESSAGE_ILLEGAL', `message is ${lengths.totalBytes} bytes; its DLedger entry does not fit in a ${this.server.store.dataFileSizeBytes}-byte data file (mappedFileSizeCommitLog)`);
    }
    const queueOffset = queue.nextAssignOffset;
    const storeTimestamp = Date.now();
    let physicalOffset = -1;
    const appended = this.server.appendAsLeader(lengths.totalBytes, (entry, bodyAt, pos) => {
      physicalOffset = pos + ENTRY_HEADER_BYTES;
      encodeMessage(entry, bodyAt, message, lengths, queueOffset, physicalOffset, storeTimestamp);
    });
    queue.nextAssignOffset = queueOffset + 1;
    return {
      status: 'PUT_OK', physicalOffset, queueOffset, sizeBytes: lengths.totalBytes, storeTimestamp,
      settled: appended.settled.then(putStatusOf),
    };
  }

  stop(): void {
    if (this.readyTimer) clearInterval(this.readyTimer);
    this.readyTimer = null;
    this.writable = false;
  }
}
