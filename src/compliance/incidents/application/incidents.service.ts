/**
 * Breach incidents: every staff step (the staff API and `tollgate compliance incident`, both
 * through this service) is recorded in the staff audit trail first, then, under the incident's
 * lock (steps on one incident take turns), decided on the folded stream and appended.
 *
 * Selecting and queueing change incident_notices in the transaction that holds the lock and
 * appends the event: if the decider refuses (not confirmed, closed, nobody added) or the append
 * fails, the rows roll back, so the stream's counts and the table agree. Queueing wakes the
 * worker (NoticesQueue); the worker's sweep finds the notices anyway. */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PoolClient } from 'pg';
import { StaffAudit } from '../../../audit/application/staff-audit.service';
import { AuditDetails } from '../../../audit/domain/audit.events';
import { CLOCK, Clock } from '../../../platform/clock';
import { inTransaction } from '../../../platform/database/pg';
import { EVENT_STORE, EventStore, LOG_START } from '../../../platform/event-store/event-store.port';
import { Clock72, DataCategory, INCIDENT_PREFIX, Incident, IncidentCommand, IncidentEvent, IncidentFacts, IncidentsError, Selection, clockOf, decide, foldIncident, incidentStream } from '../domain/incident';
import { NoticeText, noticeText } from '../domain/incident-notice';
import { IncidentReport, buildReport } from '../domain/incident-report';
import { IncidentRow, IncidentsRepository, NoticeCounts, Selected } from './incidents.repository';
import { NoticesQueue } from './notices-queue';

export type SelectionInput =
  | { by: 'users'; userIds: string[] }
  | { by: 'activity'; from: Date; to: Date }
  | { by: 'data_category'; category: DataCategory }
  | { by: 'everyone' };

export interface Step {
  actor: string;
  reason: string;
}

export interface IncidentStatusView {
  incident: Incident;
  counts: NoticeCounts;
  clock: Clock72;
}

const LOCK_NAMESPACE = 7_300_021; // advisory locks: one per incident, for its staff steps
const LOCK_ATTEMPTS = 200; // × LOCK_RETRY_MS: a step waits at most about 10 s for another
const LOCK_RETRY_MS = 50;
const DEADLOCK = '40P01';
const PAGE = 1000;

@Injectable()
export class IncidentsService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly rows: IncidentsRepository,
    private readonly audit: StaffAudit,
    private readonly queue: NoticesQueue,
  ) {}

  async open(facts: IncidentFacts, step: Step): Promise<Incident> {
    const incidentId = randomUUID();
    await this.record(step, 'incidents.open', incidentId, { title: facts.title.slice(0, 200) });
    const events = decide({ type: 'Open', data: { incidentId, facts, actor: step.actor } }, null, this.clock.now());
    await this.store.append(incidentStream(incidentId), events.map((e) => this.toNew(e, step.actor)), { expectedVersion: 'no_stream' });
    return this.refresh(incidentId);
  }

  async confirm(incidentId: string, step: Step): Promise<Incident> {
    await this.get(incidentId); // 404 before anything is recorded
    await this.record(step, 'incidents.confirm', incidentId);
    return this.step(incidentId, () => Promise.resolve({ type: 'Confirm', data: { actor: step.actor } }));
  }

  /** Adds the people a selection matches (each person once per incident); how many it added. */
  async select(incidentId: string, input: SelectionInput, step: Step): Promise<{ incident: Incident; added: number; leftOutErased: number }> {
    await this.get(incidentId);
    if (input.by === 'users') {
      const unknown = await this.rows.unknownUsers(input.userIds);
      if (unknown.length > 0) {
        throw new IncidentsError('unknown_people', `${unknown.length} of the listed ids name nobody: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`, {
          unknown: unknown.slice(0, 100),
        });
      }
    }
    const selection = selectionOf(input);
    await this.record(step, 'incidents.select', incidentId, { by: input.by, ...(input.by === 'data_category' ? { category: input.category } : {}) });
    let selected: Selected = { added: 0, leftOutErased: 0 };
    const incident = await this.locked(incidentId, async (client, state) => {
      const now = this.clock.now();
      selected = await this.insertSelection(client, incidentId, input, now);
      return decide({ type: 'Select', data: { selection, ...selected, actor: step.actor } }, state, now);
    });
    return { incident, ...selected };
  }

  /** Queues a notice for everyone selected and not queued yet, and wakes the senders. */
  async notify(incidentId: string, step: Step): Promise<{ incident: Incident; queued: number }> {
    await this.get(incidentId);
    await this.record(step, 'incidents.notify', incidentId);
    let queued = 0;
    const incident = await this.locked(incidentId, async (client, state) => {
      const now = this.clock.now();
      // Refused after the rows moved (not confirmed, nobody selected, closed): the transaction rolls them back.
      queued = await this.rows.queue(client, incidentId, now);
      return decide({ type: 'Queue', data: { queued, actor: step.actor } }, state, now);
    });
    if (queued > 0) await this.queue.wake(incidentId);
    return { incident, queued };
  }

  async close(incidentId: string, step: Step): Promise<Incident> {
    await this.get(incidentId);
    await this.record(step, 'incidents.close', incidentId);
    return this.step(incidentId, async () => {
      const { pending } = await this.rows.counts(incidentId);
      return { type: 'Close', data: { summary: step.reason, actor: step.actor, pending } };
    });
  }

  async preview(incidentId: string): Promise<NoticeText> {
    return noticeText((await this.get(incidentId)).facts);
  }

  async status(incidentId: string): Promise<IncidentStatusView> {
    const incident = await this.get(incidentId);
    const counts = await this.rows.counts(incidentId);
    return { incident, counts, clock: clockOf(incident, counts.unsent, this.clock.now()) };
  }

  async report(incidentId: string, actor: string): Promise<IncidentReport> {
    const incident = await this.get(incidentId);
    const counts = await this.rows.counts(incidentId);
    await this.audit.record({ actor, action: 'incidents.report', subjectUserId: null, details: { incidentId } });
    return buildReport(incident, { pending: counts.pending, notQueued: counts.selected - counts.queued }, this.clock.now());
  }

  async list(limit: number): Promise<IncidentRow[]> {
    return this.rows.list(limit);
  }

  /** `ledger replay`: every incidents row written again from its stream. */
  async rebuild(onProgress?: (done: number) => void): Promise<{ rows: number; repaired: number }> {
    const ids = new Set<string>();
    for (let after = LOG_START; ; ) {
      const page = await this.store.readAll({ after, limit: 5000, streamPrefixes: [INCIDENT_PREFIX] });
      if (page.length === 0) break;
      for (const e of page) ids.add(e.streamId.slice(INCIDENT_PREFIX.length));
      after = page[page.length - 1].position;
    }
    let rows = 0;
    for (const id of ids) {
      await this.refresh(id);
      onProgress?.(++rows);
    }
    return { rows, repaired: 0 };
  }

  /** The incident as its stream has it; 404 when there is none. */
  async get(incidentId: string): Promise<Incident> {
    const events = [];
    for (let after = 0n; ; ) {
      const page = await this.store.readStream(incidentStream(incidentId), { afterVersion: after, limit: PAGE * 10 });
      events.push(...page);
      if (page.length < PAGE * 10) break;
      after = page[page.length - 1].streamVersion;
    }
    const incident = foldIncident(events);
    if (!incident) throw new IncidentsError('incident_not_found', `no incident ${incidentId}`);
    return incident;
  }

  /** Erased people are left out of the selections by query (everyone, activity, data category), counted. */
  private async insertSelection(client: PoolClient, incidentId: string, input: SelectionInput, now: Date): Promise<Selected> {
    switch (input.by) {
      case 'users':
        return this.rows.selectUsers(client, incidentId, input.userIds, now);
      case 'activity':
        return this.rows.selectByActivity(client, incidentId, input.from, input.to, now);
      case 'data_category':
        return this.rows.selectByCategory(client, incidentId, input.category, now);
      case 'everyone':
        return this.rows.selectEveryone(client, incidentId, now);
    }
  }

  private step(incidentId: string, command: (state: Incident) => Promise<IncidentCommand>): Promise<Incident> {
    return this.locked(incidentId, async (_client, state) => decide(await command(state), state, this.clock.now()));
  }

  /**
   * A staff step: under the incident's lock (staff steps on one incident take turns, across
   * instances), load, decide, change rows and append, the rows and the lock in one transaction.
   * The append is at any version: only staff steps decide, and the lock serialises them, while
   * the notice outcomes the senders append meanwhile change nothing a decision reads. (At the
   * version read, a step taken during a fan-out of thousands would lose the race to the senders
   * again and again.) The lock is tried, not waited for, so no connection is held while waiting.
   */
  private async locked(incidentId: string, fn: (client: PoolClient, state: Incident) => Promise<IncidentEvent[]>): Promise<Incident> {
    for (let attempt = 1; ; attempt++) {
      try {
        const done = await inTransaction(this.rows.pool, async (client) => {
          const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS got', [LOCK_NAMESPACE, incidentId.toLowerCase()]);
          if (!rows[0].got) return false;
          const state = await this.get(incidentId);
          const events = await fn(client, state);
          if (events.length > 0) await this.store.append(incidentStream(incidentId), events.map((e) => this.toNew(e, actorOf(e))), { expectedVersion: 'any' });
          return true;
        });
        if (done) return this.refresh(incidentId);
      } catch (err) {
        if ((err as { code?: string }).code !== DEADLOCK) throw err;
      }
      if (attempt >= LOCK_ATTEMPTS) throw new IncidentsError('incident_busy', `incident ${incidentId} is busy with another staff step; try again`);
      await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
    }
  }

  private async refresh(incidentId: string): Promise<Incident> {
    const incident = await this.get(incidentId);
    await this.rows.write(incident);
    return incident;
  }

  private toNew(e: IncidentEvent, actor: string) {
    return { id: randomUUID(), type: e.type, data: { ...e.data }, metadata: { occurredAt: (e.data as { at: string }).at, actor } };
  }

  private async record(step: Step, action: string, incidentId: string, details: AuditDetails = {}): Promise<void> {
    await this.audit.record({ actor: step.actor, action, subjectUserId: null, reason: step.reason, details: { incidentId, ...details } });
  }
}

function actorOf(e: IncidentEvent): string {
  return 'actor' in e.data ? e.data.actor : 'system:incident-notices';
}

function selectionOf(input: SelectionInput): Selection {
  switch (input.by) {
    case 'users':
      return { by: 'users', userIds: input.userIds.length };
    case 'activity':
      return { by: 'activity', from: input.from.toISOString(), to: input.to.toISOString() };
    case 'data_category':
      return { by: 'data_category', category: input.category };
    case 'everyone':
      return { by: 'everyone' };
  }
}
