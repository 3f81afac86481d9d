import { Module } from '@nestjs/common';
import { PersonalDataVault } from './personal-data-vault';
import { ErasureHooks } from './erasure/erasure-hooks';

/** Privacy duties: the crypto-shredding vault now; export, erasure and breach notices to come. */
@Module({ providers: [PersonalDataVault, ErasureHooks], exports: [PersonalDataVault, ErasureHooks] })
export class ComplianceModule {}
