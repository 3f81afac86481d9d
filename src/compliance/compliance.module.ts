import { Module } from '@nestjs/common';
import { PersonalDataVault } from './personal-data-vault';
import { ErasureHooks } from './erasure/erasure-hooks';
import { AccountNames } from './account-names';

/** Privacy duties: the crypto-shredding vault now; export, erasure and breach notices to come. */
@Module({ providers: [PersonalDataVault, ErasureHooks, AccountNames], exports: [PersonalDataVault, ErasureHooks, AccountNames] })
export class ComplianceModule {}
