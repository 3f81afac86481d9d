import { Module } from '@nestjs/common';
import { PersonalDataVault } from './personal-data-vault';

/** Privacy duties: the crypto-shredding vault now; export, erasure and breach notices to come. */
@Module({ providers: [PersonalDataVault], exports: [PersonalDataVault] })
export class ComplianceModule {}
