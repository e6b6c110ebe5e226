// DLedgerLeaderElector (0.2.x): heartbeats from the leader, elections with terms and votes.
// A follower that hears no heartbeat for maxHeartBeatLeak × heartBeatTimeIntervalMs becomes a
// candidate; a candidate asks for votes after a random wait in [minVoteIntervalMs,
// maxVoteIntervalMs); a leader that reaches no quorum for the same span steps down.
import { childLogger } from '../../protocol/logger.js';
import type { DLedgerSettings } from './dledgerConfig.js';
import type { DLedgerStore } from './dledgerStore.js';
import type { MemberState, Role } from './memberState.js';
import {
  DLedgerRequestCode, DLedgerResponseCode, type DLedgerRpc, type RequestOrResponse, type VoteRequest, type VoteResponse,
} from './rpc.js';

const log = childLogger('dledger-elector');

export class LeaderElector {
  /** Called after every role change (the broker's DLedgerRoleChangeHandler). */
  onRoleChange: (role: Role, term: number) => void = () => {};
  private timer: NodeJS.Timeout | null = null;
  private lastLeaderHeartBeatMs = Date.now();
  private lastSendHeartBeatMs = -1;
  private lastSuccHeartBeatMs = Date.now();
  private nextVoteAtMs = -1;
  private needIncreaseTerm = true;
  private voting = false;
  private beating = false;
  private stopped = false;
  private readonly s: DLedgerSettings;

  constructor(private readonly member: MemberState, private readonly store: DLedgerStore, private readonly rpc: DLedgerRpc) {
    this.s = member.settings;
    rpc.register(DLedgerRequestCode.VOTE, (request) => this.handleVote(request as unknown as VoteRequest));
    rpc.register(DLedgerRequestCode.HEART_BEAT, (request) => this.handleHeartBeat(request));
  }

  start(): void {
    // StateMaintainer: DLedger checks every 10 ms; shorter heartbeats need a finer tick.
    const tickMs = Math.max(2, Math.min(10, Math.floor(this.s.heartBeatTimeIntervalMs / 5)));
    this.nextVoteAtMs = Date.now() + this.voteDelayMs();
    this.timer = setInterval(() => this.maintain(), tickMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  private voteDelayMs(): number {
    const { minVoteIntervalMs: min, maxVoteIntervalMs: max } = this.s;
    const random = min + Math.floor(Math.random() * (max - min));
    // preferredLeaderId: others give the preferred members a head start (DLedger transfers leadership instead).
    const preferred = this.s.preferredLeaderIds;
    return preferred.length > 0 && !preferred.includes(this.member.selfId) ? random + max : random;
  }

  private base(remoteId: string, term: number, leaderId: string | null): RequestOrResponse {
    return { group: this.s.group, remoteId, localId: this.member.selfId, code: DLedgerResponseCode.SUCCESS, leaderId, term };
  }

  private maintain(): void {
    if (this.stopped) return;
    const now = Date.now();
    const leakMs = this.s.maxHeartBeatLeak * this.s.heartBeatTimeIntervalMs;
    switch (this.member.role) {
      case 'LEADER':
        if (now - this.lastSuccHeartBeatMs > leakMs) {
          log.warn({ self: this.member.selfId, term: this.member.currTerm }, 'no quorum answered heartbeats: stepping down');
          this.changeRole('CANDIDATE', this.member.currTerm);
          this.needIncreaseTerm = true;
          this.nextVoteAtMs = now + this.voteDelayMs();
        } else if (now - this.lastSendHeartBeatMs >= this.s.heartBeatTimeIntervalMs && !this.beating) {
          this.lastSendHeartBeatMs = now;
          void this.sendHeartbeats(this.member.currTerm);
        }
        break;
      case 'FOLLOWER':
        if (now - this.lastLeaderHeartBeatMs > leakMs) {
          log.info({ self: this.member.selfId, leader: this.member.leaderId, term: this.member.currTerm }, 'leader heartbeat timed out: becoming candidate');
          this.changeRole('CANDIDATE', this.member.currTerm);
          this.needIncreaseTerm = true;
          this.nextVoteAtMs = now + this.voteDelayMs();
        }
        break;
      case 'CANDIDATE':
        if (now >= this.nextVoteAtMs && !this.voting) void this.requestVotes();
        break;
    }
  }

  private changeRole(role: Role, term: number, leaderId?: string): void {
    const before = `${this.member.role}/${this.member.currTerm}/${this.member.leaderId}`;
    if (role === 'LEADER') this.member.changeToLeader(term);
    else if (role === 'FOLLOWER') this.member.changeToFollower(term, leaderId as string);
    else this.member.changeToCandidate(term);
    if (before !== `${this.member.role}/${this.member.currTerm}/${this.member.leaderId}`) {
      log.info({ self: this.member.selfId, role, term: this.member.currTerm, leader: this.member.leaderId }, 'DLedger role change');
      this.onRoleChange(role, this.member.currTerm);
    }
  }

  private async sendHeartbeats(term: number): Promise<void> {
    this.beating = true;
    try {
      const peers = this.s.peers.filter((p) => p.id !== this.member.selfId);
      let succ = 1;
      let maxTerm = -1;
      await Promise.all(peers.map(async (peer) => {
        try {
          const answer = await this.rpc.invoke<RequestOrResponse>(peer.id, DLedgerRequestCode.HEART_BEAT, this.base(peer.id, term, this.member.selfId), this.s.heartBeatTimeIntervalMs);
          if (answer.code === DLedgerResponseCode.SUCCESS) succ++;
          else if (answer.code === DLedgerResponseCode.EXPIRED_TERM) maxTerm = Math.max(maxTerm, answer.term);
        } catch {
          // unreachable peer: counted as a miss
        }
      }));
      if (this.member.role !== 'LEADER' || this.member.currTerm !== term) return;
      if (maxTerm > term) {
        this.changeRole('CANDIDATE', maxTerm);
        this.needIncreaseTerm = true;
        this.nextVoteAtMs = Date.now() + this.voteDelayMs();
      } else if (this.member.isQuorum(succ)) {
        this.lastSuccHeartBeatMs = Date.now();
      }
    } finally {
      this.beating = false;
    }
  }

  private async requestVotes(): Promise<void> {
    this.voting = true;
    try {
      const term = this.needIncreaseTerm ? this.member.nextTerm() : this.member.currTerm;
      if (!this.needIncreaseTerm) this.member.setVoteFor(this.member.selfId);
      this.needIncreaseTerm = false;
      const endIndex = this.store.ledgerEndIndex;
      const endTerm = this.store.ledgerEndTerm;
      let accepted = 1;
      let notReady = 0;
      let biggerTerm = -1;
      let alreadyHasLeader = false;
      const peers = this.s.peers.filter((p) => p.id !== this.member.selfId);
      const timeoutMs = Math.max(this.s.heartBeatTimeIntervalMs, this.s.maxVoteIntervalMs);
      // DLedger's voteLatch: decide as soon as a quorum accepted, not after the slowest (or dead) peer.
      await new Promise<void>((resolve) => {
        let answered = 0;
        for (const peer of peers) {
          const request: VoteRequest = { ...this.base(peer.id, term, this.member.selfId), ledgerEndIndex: endIndex, ledgerEndTerm: endTerm };
          this.rpc.invoke<VoteResponse>(peer.id, DLedgerRequestCode.VOTE, request, timeoutMs).then((answer) => {
            if (answer.voteResult === 'ACCEPT') accepted++;
            else if (answer.voteResult === 'REJECT_TERM_NOT_READY') notReady++;
            else if (answer.voteResult === 'REJECT_ALREADY_HAS_LEADER') alreadyHasLeader = true;
            if (answer.term > term) biggerTerm = Math.max(biggerTerm, answer.term);
          }, () => {
            // no answer: no vote
          }).finally(() => {
            answered++;
            if (this.member.isQuorum(accepted) || answered === peers.length) resolve();
          });
        }
        if (peers.length === 0) resolve();
      });
      if (this.member.role !== 'CANDIDATE' || this.member.currTerm !== term) return; // a heartbeat or vote moved us on
      if (biggerTerm > term) {
        this.changeRole('CANDIDATE', biggerTerm);
        this.needIncreaseTerm = true;
        this.nextVoteAtMs = Date.now() + this.voteDelayMs();
      } else if (this.member.isQuorum(accepted)) {
        this.lastSuccHeartBeatMs = Date.now();
        this.lastSendHeartBeatMs = -1;
        this.changeRole('LEADER', term);
      } else if (this.member.isQuorum(accepted + notReady)) {
        // Apache DLedger voters answer a larger term with TERM_NOT_READY and take it: ask again in
        // the same term at once (REVOTE_IMMEDIATELY); a new term would be refused the same way.
        this.nextVoteAtMs = Date.now();
      } else {
        this.needIncreaseTerm = true;
        const extra = alreadyHasLeader ? this.s.heartBeatTimeIntervalMs * this.s.maxHeartBeatLeak : 0;
        this.nextVoteAtMs = Date.now() + this.voteDelayMs() + extra;
      }
    } finally {
      this.voting = false;
    }
  }

  /** handleVote, in DLedger's order of checks. */
  handleVote(request: VoteRequest): VoteResponse {
    const reply = (voteResult: VoteResponse['voteResult'], term = this.member.currTerm): VoteResponse =>
      ({ ...this.base(request.localId, term, this.member.leaderId), voteResult });
    if (request.group !== this.s.group) return { ...reply('REJECT_UNKNOWN_LEADER'), code: DLedgerResponseCode.UNKNOWN_GROUP };
    if (!this.member.isPeer(request.leaderId)) return reply('REJECT_UNKNOWN_LEADER');
    if (request.leaderId === this.member.selfId) return reply('REJECT_UNEXPECTED_LEADER');
    if (request.ledgerEndTerm < this.store.ledgerEndTerm) return reply('REJECT_EXPIRED_LEDGER_TERM');
    if (request.ledgerEndTerm === this.store.ledgerEndTerm && request.ledgerEndIndex < this.store.ledgerEndIndex) return reply('REJECT_SMALL_LEDGER_END_INDEX');
    if (request.term < this.member.currTerm) return reply('REJECT_EXPIRED_VOTE_TERM');
    if (request.term > this.member.currTerm) {
      // Stepped down by a larger term. DLedger answers TERM_NOT_READY and lets the candidate
      // ask again; taking the term now and judging the vote in the same call is equivalent.
      this.changeRole('CANDIDATE', request.term);
      this.needIncreaseTerm = true;
      this.nextVoteAtMs = Date.now() + this.voteDelayMs();
    }
    if (this.member.voteFor !== null && this.member.voteFor !== request.leaderId) {
      return reply(this.member.leaderId !== null ? 'REJECT_ALREADY_HAS_LEADER' : 'REJECT_ALREADY_VOTED');
    }
    if (request.term < this.store.ledgerEndTerm) return reply('REJECT_TERM_SMALL_THAN_LEDGER', this.store.ledgerEndTerm);
    this.member.setVoteFor(request.leaderId as string);
    // Granting a vote postpones our own candidacy (as a heartbeat would).
    this.nextVoteAtMs = Math.max(this.nextVoteAtMs, Date.now() + this.voteDelayMs());
    return reply('ACCEPT');
  }

  handleHeartBeat(request: RequestOrResponse): RequestOrResponse {
    const reply = (code: number): RequestOrResponse => ({ ...this.base(request.localId, this.member.currTerm, this.member.leaderId), code });
    if (!this.member.isPeer(request.leaderId)) return reply(DLedgerResponseCode.UNKNOWN_MEMBER);
    if (request.leaderId === this.member.selfId) return reply(DLedgerResponseCode.UNEXPECTED_MEMBER);
    if (request.term < this.member.currTerm) return reply(DLedgerResponseCode.EXPIRED_TERM);
    if (request.term === this.member.currTerm && this.member.leaderId !== null && this.member.leaderId !== request.leaderId) {
      return reply(DLedgerResponseCode.INCONSISTENT_LEADER);
    }
    this.lastLeaderHeartBeatMs = Date.now();
    if (this.member.role !== 'FOLLOWER' || this.member.currTerm !== request.term || this.member.leaderId !== request.leaderId) {
      this.changeRole('FOLLOWER', request.term, request.leaderId as string);
    }
    return reply(DLedgerResponseCode.SUCCESS);
  }

  /** A follower answered with a larger term: this leader is stale. */
  stepDown(term: number): void {
    if (term <= this.member.currTerm && this.member.role !== 'LEADER') return;
    this.changeRole('CANDIDATE', Math.max(term, this.member.currTerm));
    this.needIncreaseTerm = true;
    this.nextVoteAtMs = Date.now() + this.voteDelayMs();
  }

  /** A push from the current leader counts as a heartbeat (keeps followers from timing out under load). */
  noteLeaderContact(term: number, leaderId: string): void {
    if (term === this.member.currTerm && leaderId === this.member.leaderId) this.lastLeaderHeartBeatMs = Date.now();
  }
}
