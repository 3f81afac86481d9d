import { Module } from '@nestjs/common';
import { DbCommand } from './db.command';
import { MigrateDbCommand } from './migrate-db.command';

/** `tollgate db`: the database itself, below every context (the pool and config are global). */
@Module({ providers: [DbCommand, MigrateDbCommand] })
export class DbCliModule {}
