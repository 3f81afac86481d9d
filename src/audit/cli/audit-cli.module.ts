import { Module } from '@nestjs/common';
import { AuditModule } from '../audit.module';
import { AuditCommand } from './audit.command';
import { ListAuditCommand } from './list-audit.command';

/** `tollgate audit`. */
@Module({ imports: [AuditModule], providers: [AuditCommand, ListAuditCommand] })
export class AuditCliModule {}
