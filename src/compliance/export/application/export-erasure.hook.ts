/**
 * An erasure deletes the person's exports first: a finished zip holds their data in clear (and
 * an export being built is stopped). Registered with ErasureHooks, which every erasure runs
 * before the person's key is destroyed; deleting twice is deleting nothing.
 */
import { Injectable, OnModuleInit } from '@nestjs/common';
import { ErasureHooks } from '../../erasure/erasure-hooks';
import { ExportsService } from './exports.service';

@Injectable()
export class ExportErasureHook implements OnModuleInit {
  constructor(
    private readonly hooks: ErasureHooks,
    private readonly exports: ExportsService,
  ) {}

  onModuleInit(): void {
    this.hooks.register({ name: 'data exports', forget: async ({ userId }) => void (await this.exports.deleteAllOf(userId)) });
  }
}
