/** Registers the built-in export sections (person.sections.ts, account.sections.ts). */
import { Injectable, OnModuleInit } from '@nestjs/common';
import { ExportSectionRegistry } from '../export-section';
import { ACCOUNT_SECTIONS } from './account.sections';
import { PERSON_SECTIONS } from './person.sections';

@Injectable()
export class BuiltInExportSections implements OnModuleInit {
  constructor(private readonly registry: ExportSectionRegistry) {}

  onModuleInit(): void {
    for (const s of [...PERSON_SECTIONS, ...ACCOUNT_SECTIONS]) this.registry.register(s);
  }
}
