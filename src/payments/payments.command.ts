import { Command } from 'nest-commander';
import { CommandGroup } from '../cli/command-group';
import { ReconcileCommand } from './reconcile/reconcile.command';
import { RefundsCommand } from './refunds/cli/refunds.commands';

/** `tollgate payments`: refund requests, and reconciling Stripe and the chains with the ledger. */
@Command({ name: 'payments', description: 'payments: refund requests, reconcile', subCommands: [RefundsCommand, ReconcileCommand] })
export class PaymentsCommand extends CommandGroup {}
