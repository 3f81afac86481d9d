/** How an export looks on the API: its state, progress while building, and where to get the zip. */
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ExportRow } from '../application/exports.repository';

export const exportView = z.object({
  id: z.uuid(),
  status: z.enum(['queued', 'building', 'ready', 'failed', 'expired']),
  progress: z.object({
    rowsDone: z.number().int(),
    rowsTotal: z.number().int().nullable().describe('known once the build has counted (JSON and CSV rows both count)'),
    percent: z.number().int().min(0).max(100),
  }),
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  expiresAt: z.iso.datetime().nullable().describe('the zip is served until then (24 hours after it was ready)'),
  sizeBytes: z.number().int().nullable(),
  sha256: z.string().nullable(),
  error: z.string().nullable(),
  download: z.string().describe('GET it: the zip when ready, this object while building'),
});
export type ExportView = z.infer<typeof exportView>;

export function exportViewOf(r: ExportRow, downloadPath: string): ExportView {
  const percent =
    r.status === 'ready' ? 100 : r.rowsTotal && r.rowsTotal > 0 ? Math.min(99, Math.floor((100 * r.rowsDone) / r.rowsTotal)) : 0;
  return {
    id: r.exportId,
    status: r.status,
    progress: { rowsDone: r.rowsDone, rowsTotal: r.rowsTotal, percent },
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    expiresAt: r.expiresAt?.toISOString() ?? null,
    sizeBytes: r.sizeBytes,
    sha256: r.sha256,
    error: r.status === 'failed' ? r.error : null,
    download: downloadPath,
  };
}

/** Sends the zip: a download, its size and hash stated, never cached by anything in between. */
export function sendZip(reply: FastifyReply, r: ExportRow, body: Readable): void {
  void reply
    .code(200)
    .headers({
      'content-type': 'application/zip',
      'content-disposition': `attachment; filename="tollgate-export-${r.exportId}.zip"`,
      'cache-control': 'private, no-store',
      ...(r.sizeBytes !== null ? { 'content-length': String(r.sizeBytes) } : {}),
      ...(r.sha256 ? { 'x-content-sha256': r.sha256 } : {}),
    })
    .send(body);
}

/** Still being built: 202 with the progress, and when to ask again. */
export function sendPending(reply: FastifyReply, view: ExportView): void {
  void reply.code(202).headers({ 'retry-after': '2', 'cache-control': 'no-store' }).send(view);
}
